//! The SigV4 fast path for the requests the gateway actually sends.
//!
//! Why: `aws_sigv4::http_request::sign` is general — it parses the URL into an `http::Uri`,
//! copies every header into a `HeaderMap`, builds the canonical request out of a dozen `String`s,
//! formats the scope twice and derives the signing key (four HMACs) on every call. Profiling put
//! it at ≈ 11 % of gateway CPU and ≈ 77 of 232 heap allocations per request.
//!
//! The gateway's requests have a fixed shape: `POST` of a JSON body to
//! `/model/{percent-encoded id}/{operation}` on the runtime and `GET` of a path with a short
//! query string on the control plane, with one or two plain headers (`content-type`, `accept`).
//! For that shape this module
//!
//! * takes the signing key from a per-credentials cache keyed by (UTC date, region) — the key
//!   itself still comes from [`v4::generate_signing_key`], and the signature HMAC from
//!   [`v4::calculate_signature`];
//! * writes the canonical request, the string to sign and the `authorization` value one after
//!   another into one thread-local buffer that is reused across requests;
//! * hashes with `sha2` and hex-encodes into stack arrays.
//!
//! Anything outside that shape (other methods, header names that need lowercasing or that the
//! signer adds itself, values that need trimming, paths with `.`/`..`/empty segments, unusual
//! characters in the URL, non-default signing settings, …) returns `None`, and the caller uses
//! the general signer, so the output never differs: the tests check this byte for byte against
//! `aws_sigv4` (property test) and against botocore-computed vectors.

use super::{SignedHeaders, SIGNING_NAME};
use arc_swap::ArcSwapOption;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use http::HeaderValue;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
/// More caller headers than this go to the general signer (the gateway sends at most two).
const MAX_HEADERS: usize = 8;
/// More query parameters than this go to the general signer (the gateway sends at most three).
const MAX_PARAMS: usize = 32;
/// Longer URLs go to the general signer (`http::Uri` has its own limits; stay far below them).
const MAX_URL: usize = 8 * 1024;
/// A scratch buffer that grew beyond this (a huge URL) is not kept.
const KEEP_SCRATCH: usize = 64 * 1024;

/// Per-credentials signing state, owned by [`super::CachedIdentity`]: new credentials (a
/// rotation) come with a new, empty cache.
pub(super) struct IdentityState {
    /// The last derived signing key; replaced when the UTC date or the region changes.
    key: ArcSwapOption<DerivedKey>,
    /// The `x-amz-security-token` header, built once (sensitive).
    token: Token,
}

enum Token {
    None,
    Header(HeaderValue),
    /// Not a valid header value: the general signer reports the error.
    Invalid,
}

struct DerivedKey {
    date: [u8; 8],
    region: Box<str>,
    key: [u8; 32],
}

impl fmt::Debug for IdentityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material or the token.
        let key = self.key.load();
        f.debug_struct("IdentityState")
            .field(
                "key_for",
                &key.as_ref().map(|k| {
                    (
                        String::from_utf8_lossy(&k.date).into_owned(),
                        k.region.clone(),
                    )
                }),
            )
            .field("token", &!matches!(self.token, Token::None))
            .finish()
    }
}

impl IdentityState {
    pub(super) fn new(credentials: &Credentials) -> Self {
        let token = match credentials.session_token() {
            None => Token::None,
            Some(t) => match HeaderValue::from_str(t) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    Token::Header(v)
                }
                Err(_) => Token::Invalid,
            },
        };
        Self {
            key: ArcSwapOption::empty(),
            token,
        }
    }

    /// The signing key for (`date`, `region`): a lock-free load when cached, else derived and
    /// stored (once a day per region, or after a region change).
    fn signing_key(
        &self,
        secret: &str,
        time: SystemTime,
        date: &[u8; 8],
        region: &str,
    ) -> [u8; 32] {
        if let Some(k) = &*self.key.load() {
            if &k.date == date && &*k.region == region {
                return k.key;
            }
        }
        let derived = v4::generate_signing_key(secret, time, region, SIGNING_NAME);
        let mut key = [0u8; 32];
        let derived = derived.as_ref();
        if derived.len() == key.len() {
            key.copy_from_slice(derived);
        }
        self.key.store(Some(Arc::new(DerivedKey {
            date: *date,
            region: region.into(),
            key,
        })));
        key
    }

    /// What the cache holds now: (yyyymmdd, region, key, address of the entry).
    #[cfg(test)]
    pub(super) fn cached_key(&self) -> Option<(String, String, [u8; 32], usize)> {
        self.key.load_full().map(|k| {
            (
                String::from_utf8_lossy(&k.date).into_owned(),
                k.region.to_string(),
                k.key,
                Arc::as_ptr(&k) as usize,
            )
        })
    }
}

/// Reused across requests on one thread.
#[derive(Default)]
struct Scratch {
    /// Canonical request, then string to sign, then the `authorization` value.
    buf: String,
    /// Encoded query keys and values, back to back.
    query: String,
    /// One percent-decoded key or value.
    decoded: Vec<u8>,
    /// (key start, key end, value start, value end) in `query`.
    pairs: Vec<[usize; 4]>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        buf: String::with_capacity(1024),
        ..Scratch::default()
    });
}

/// Signs on the fast path, or `None` when the request is outside its shape (the caller then
/// uses the general signer, which also produces any error).
#[allow(clippy::too_many_arguments)]
pub(super) fn sign(
    state: &IdentityState,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    settings: &SigningSettings,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<SignedHeaders> {
    if !settings_supported(settings, headers)
        || !matches!(method, "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "PATCH")
        || !region.bytes().all(is_plain)
        || !credentials.access_key_id().bytes().all(is_plain)
    {
        return None;
    }
    let token = match &state.token {
        Token::None => None,
        Token::Header(h) => Some(h),
        Token::Invalid => return None,
    };
    let token_str = match (token, credentials.session_token()) {
        (Some(_), Some(t)) => Some(t),
        (None, None) => None,
        _ => return None,
    };
    let url = split_url(url)?;
    let stamp = stamp(time)?;
    let (date, date_time) = stamp_parts(&stamp)?;

    // Canonical headers: caller headers + host + x-amz-date (+ token), sorted by name.
    let mut canon: [(&str, &str); MAX_HEADERS + 3] = [("", ""); MAX_HEADERS + 3];
    let mut n = 0;
    for &(name, value) in headers {
        if n == MAX_HEADERS || !header_supported(name, value) {
            return None;
        }
        if canon[..n].iter().any(|(seen, _)| *seen == name) {
            return None;
        }
        canon[n] = (name, value);
        n += 1;
    }
    canon[n] = ("host", url.host);
    canon[n + 1] = (X_AMZ_DATE, date_time);
    n += 2;
    if let Some(t) = token_str {
        canon[n] = (X_AMZ_SECURITY_TOKEN, t);
        n += 1;
    }
    let canon = &mut canon[..n];
    canon.sort_unstable_by(|a, b| a.0.cmp(b.0));

    let payload = hex32(&Sha256::digest(body).into());
    let date8: [u8; 8] = date.as_bytes().try_into().ok()?;
    let key = state.signing_key(credentials.secret_access_key(), time, &date8, region);

    let authorization = SCRATCH.with(|scratch| {
        let mut scratch = scratch.try_borrow_mut().ok()?;
        let Scratch {
            buf,
            query,
            decoded,
            pairs,
        } = &mut *scratch;

        // 1. Canonical request.
        buf.clear();
        buf.push_str(method);
        buf.push('\n');
        // Double encoding: the path is already encoded and only holds unreserved characters,
        // `/` and `%`, so encoding it again only turns `%` into `%25`.
        for part in url.path.split_inclusive('%') {
            match part.strip_suffix('%') {
                Some(head) => {
                    buf.push_str(head);
                    buf.push_str("%25");
                }
                None => buf.push_str(part),
            }
        }
        buf.push('\n');
        if let Some(q) = url.query {
            canonical_query(q, buf, query, decoded, pairs)?;
        }
        buf.push('\n');
        for (name, value) in canon.iter() {
            buf.push_str(name);
            buf.push(':');
            buf.push_str(value);
            buf.push('\n');
        }
        buf.push('\n');
        push_signed_headers(buf, canon);
        buf.push('\n');
        buf.push_str(ascii(&payload)?);
        let creq_hash = hex32(&Sha256::digest(buf.as_bytes()).into());

        // 2. String to sign.
        buf.clear();
        buf.push_str(ALGORITHM);
        buf.push('\n');
        buf.push_str(date_time);
        buf.push('\n');
        push_scope(buf, date, region);
        buf.push('\n');
        buf.push_str(ascii(&creq_hash)?);
        let signature = v4::calculate_signature(key, buf.as_bytes());

        // 3. Authorization header.
        buf.clear();
        buf.push_str(ALGORITHM);
        buf.push_str(" Credential=");
        buf.push_str(credentials.access_key_id());
        buf.push('/');
        push_scope(buf, date, region);
        buf.push_str(", SignedHeaders=");
        push_signed_headers(buf, canon);
        buf.push_str(", Signature=");
        buf.push_str(&signature);
        let value = HeaderValue::from_str(buf).ok();

        if buf.capacity() > KEEP_SCRATCH {
            *buf = String::with_capacity(1024);
        }
        if query.capacity() > KEEP_SCRATCH {
            *query = String::new();
        }
        if decoded.capacity() > KEEP_SCRATCH {
            *decoded = Vec::new();
        }
        value
    })?;

    let mut out = SignedHeaders::default();
    // Same order and sensitivity as aws-sigv4: date, authorization, token.
    out.push(X_AMZ_DATE, HeaderValue::from_bytes(&stamp).ok()?);
    out.push("authorization", authorization);
    if let Some(t) = token {
        out.push(X_AMZ_SECURITY_TOKEN, t.clone());
    }
    Some(out)
}

/// Exactly the settings [`super::settings`] returns (the SDK defaults without exclusions), or
/// the SDK defaults when none of the excluded headers is one we sign.
fn settings_supported(s: &SigningSettings, headers: &[(&str, &str)]) -> bool {
    let plain = s.percent_encoding_mode == PercentEncodingMode::Double
        && s.payload_checksum_kind == PayloadChecksumKind::NoHeader
        && s.signature_location == SignatureLocation::Headers
        && s.expires_in.is_none()
        && s.uri_path_normalization_mode == UriPathNormalizationMode::Enabled
        && s.session_token_mode == SessionTokenMode::Include
        && s.session_token_name_override.is_none();
    plain
        && s.excluded_headers.as_ref().is_none_or(|excluded| {
            !excluded.iter().any(|e| {
                let e: &str = e;
                e == "host"
                    || e == X_AMZ_DATE
                    || e == X_AMZ_SECURITY_TOKEN
                    || headers.iter().any(|(name, _)| *name == e)
            })
        })
}

/// Visible ASCII: safe in a header value and in the scope unchanged.
fn is_plain(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// A header the general signer would copy unchanged: a lowercase name it does not add itself,
/// and a value of visible ASCII and single inner spaces (nothing for `trim_all` to do).
fn header_supported(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name != "host"
        && !name.starts_with("x-amz-")
        && value.bytes().all(|b| b == b' ' || is_plain(b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.contains("  ")
}

struct UrlParts<'a> {
    /// The `host` header value: the host, plus `:port` unless it is the scheme's default.
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

/// Splits an absolute `http(s)://host[:port]/path[?query]` URL whose parts need none of the
/// general signer's normalisation; `None` for anything else.
fn split_url(url: &str) -> Option<UrlParts<'_>> {
    if url.len() > MAX_URL {
        return None;
    }
    let (default_port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("443", rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("80", rest)
    } else {
        return None;
    };
    let slash = rest.find('/')?;
    let (authority, path_and_query) = rest.split_at(slash);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    let host_header = match port {
        None => host,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if p.parse::<u32>().ok()? > u32::from(u16::MAX) {
                return None;
            }
            if p == default_port {
                host
            } else {
                authority
            }
        }
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    // Unreserved characters, `/` and well-formed escapes only.
    if !path
        .bytes()
        .all(|b| is_unreserved(b) || b == b'/' || b == b'%')
        || !escapes_ok(path)
    {
        return None;
    }
    // Normalisation (RFC 3986 dot-segment removal, empty segments dropped) must be a no-op.
    if path.contains("//") || path.split('/').any(|seg| seg == "." || seg == "..") {
        return None;
    }
    if let Some(q) = query {
        if !q
            .bytes()
            .all(|b| is_unreserved(b) || matches!(b, b'%' | b'=' | b'&' | b'+'))
            || !escapes_ok(q)
        {
            return None;
        }
    }
    Some(UrlParts {
        host: host_header,
        path,
        query,
    })
}

/// Every `%` starts a two-hex-digit escape.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// The canonical query string as aws-sigv4 builds it: `form_urlencoded`-decode each pair
/// (`+` is a space), encode key and value with everything but unreserved characters escaped,
/// sort by (key, value), join as `k=v&…`.
fn canonical_query(
    q: &str,
    out: &mut String,
    enc: &mut String,
    decoded: &mut Vec<u8>,
    pairs: &mut Vec<[usize; 4]>,
) -> Option<()> {
    enc.clear();
    pairs.clear();
    for piece in q.split('&') {
        if piece.is_empty() {
            continue;
        }
        if pairs.len() == MAX_PARAMS {
            return None;
        }
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let ks = enc.len();
        encode_component(k, enc, decoded)?;
        let vs = enc.len();
        encode_component(v, enc, decoded)?;
        pairs.push([ks, vs, vs, enc.len()]);
    }
    let enc: &str = enc;
    pairs.sort_unstable_by(|a, b| {
        (&enc[a[0]..a[1]], &enc[a[2]..a[3]]).cmp(&(&enc[b[0]..b[1]], &enc[b[2]..b[3]]))
    });
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&enc[p[0]..p[1]]);
        out.push('=');
        out.push_str(&enc[p[2]..p[3]]);
    }
    Some(())
}

/// Decodes one query component (escapes checked beforehand) and appends it re-encoded;
/// `None` when the decoded bytes are not UTF-8 (the general signer would substitute U+FFFD).
fn encode_component(raw: &str, out: &mut String, decoded: &mut Vec<u8>) -> Option<()> {
    decoded.clear();
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = hex_val(*b.get(i + 1)?)?;
                let lo = hex_val(*b.get(i + 2)?)?;
                decoded.push(hi << 4 | lo);
                i += 3;
            }
            c => {
                decoded.push(c);
                i += 1;
            }
        }
    }
    std::str::from_utf8(decoded).ok()?;
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    for &c in decoded.iter() {
        if is_unreserved(c) {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(UPPER[usize::from(c >> 4)]));
            out.push(char::from(UPPER[usize::from(c & 0xf)]));
        }
    }
    Some(())
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn push_signed_headers(buf: &mut String, canon: &[(&str, &str)]) {
    for (i, (name, _)) in canon.iter().enumerate() {
        if i > 0 {
            buf.push(';');
        }
        buf.push_str(name);
    }
}

fn push_scope(buf: &mut String, date: &str, region: &str) {
    buf.push_str(date);
    buf.push('/');
    buf.push_str(region);
    buf.push('/');
    buf.push_str(SIGNING_NAME);
    buf.push_str("/aws4_request");
}

/// `YYYYMMDDTHHMMSSZ` in UTC, as aws-sigv4 formats it (whole seconds); `None` outside years
/// 0–9999.
fn stamp(time: SystemTime) -> Option<[u8; 16]> {
    let t = time::OffsetDateTime::from(time);
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(4, 2, u32::from(u8::from(t.month())));
    put(6, 2, u32::from(t.day()));
    put(9, 2, u32::from(t.hour()));
    put(11, 2, u32::from(t.minute()));
    put(13, 2, u32::from(t.second()));
    Some(out)
}

/// (`YYYYMMDD`, `YYYYMMDDTHHMMSSZ`)
fn stamp_parts(stamp: &[u8; 16]) -> Option<(&str, &str)> {
    let all = std::str::from_utf8(stamp).ok()?;
    Some((all.get(..8)?, all))
}

/// Lowercase hex of a SHA-256 digest, on the stack.
fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = LOWER[usize::from(b >> 4)];
        out[2 * i + 1] = LOWER[usize::from(b & 0xf)];
    }
    out
}

fn ascii(hex: &[u8; 64]) -> Option<&str> {
    std::str::from_utf8(hex).ok()
}

#[cfg(test)]
pub(super) fn canonical_query_for_test(q: &str) -> Option<String> {
    let mut out = String::new();
    canonical_query(
        q,
        &mut out,
        &mut String::new(),
        &mut Vec::new(),
        &mut Vec::new(),
    )?;
    Some(out)
}
