//! SigV4 signing (signing name `bedrock`) and a credential cache over the AWS default chain.
//!
//! `aws_config::defaults(..).load().await.credentials_provider()` returns the bare
//! `DefaultCredentialsChain` (env → profile incl. SSO and `credential_process` → web identity →
//! ECS container → IMDS). In SDK 1.x caching lives in the orchestrator's identity cache, which
//! plain HTTP callers never go through, so every `provide_credentials()` would walk the chain
//! again (file reads, STS/IMDS calls). [`CredentialCache`] keeps the last credentials and
//! refreshes them before they expire — in the background while they are still valid, so the hot
//! path does no I/O — with at most one refresh in flight.
//!
//! Signing goes through [`sign_headers`]: the gateway's own request shapes take the allocation-
//! light fast path in [`fast`] (signing key cached per credentials, UTC date and region; canonical
//! request in a reused buffer), everything else aws-sigv4's general signer. Both produce the
//! same bytes; the tests below hold the fast path to the general signer and to botocore.

mod fast;

use arc_swap::ArcSwapOption;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::error::display::DisplayErrorContext;
use gomodel_core::{ErrorKind, GatewayError};
use http::HeaderValue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The SigV4 service name for both the runtime and the control plane.
pub const SIGNING_NAME: &str = "bedrock";

/// Refresh credentials this long before they expire.
const REFRESH_EARLY: Duration = Duration::from_secs(5 * 60);
/// Stop using credentials this long before they expire (a request signed now must still be
/// valid when it arrives).
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// Upper bound on one walk of the chain (IMDS and STS have their own, shorter timeouts).
const PROVIDE_TIMEOUT: Duration = Duration::from_secs(30);

const CHAIN_TRIED: &str = "tried environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), the shared config and credentials files (AWS_PROFILE, ~/.aws/config, ~/.aws/credentials, incl. IAM Identity Center / SSO and credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), ECS container credentials and EC2 instance metadata (IMDS)";

/// Credentials ready for signing, with their signing cache (derived key, token header).
#[derive(Debug)]
pub struct CachedIdentity {
    identity: Identity,
    expiry: Option<SystemTime>,
    fast: fast::IdentityState,
}

impl CachedIdentity {
    pub fn new(credentials: Credentials) -> Self {
        let expiry = credentials.expiry();
        let fast = fast::IdentityState::new(&credentials);
        Self {
            identity: credentials.into(),
            expiry,
            fast,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn state(&self, now: SystemTime) -> Freshness {
        let Some(expiry) = self.expiry else {
            return Freshness::Fresh;
        };
        if now + EXPIRY_MARGIN >= expiry {
            Freshness::Expired
        } else if now + REFRESH_EARLY >= expiry {
            Freshness::RefreshSoon
        } else {
            Freshness::Fresh
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    Fresh,
    RefreshSoon,
    Expired,
}

/// A cache in front of a credentials provider; see the module docs.
#[derive(Debug)]
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    current: ArcSwapOption<CachedIdentity>,
    /// Serialises refreshes (single flight): waiters re-check `current` once they get the lock.
    refresh_lock: tokio::sync::Mutex<()>,
    background_refresh: AtomicBool,
    /// The last failed walk of the chain: callers that queued behind it get its error instead of
    /// walking the (possibly slow) chain again one after another.
    last_failure: std::sync::Mutex<Option<(Instant, GatewayError)>>,
}

impl CredentialCache {
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Arc<Self> {
        Arc::new(Self {
            provider,
            current: ArcSwapOption::empty(),
            refresh_lock: tokio::sync::Mutex::new(()),
            background_refresh: AtomicBool::new(false),
            last_failure: std::sync::Mutex::new(None),
        })
    }

    /// Loads the AWS default credential chain for `region` (used by STS for web identity and
    /// assumed roles). Does not fetch credentials.
    pub async fn from_default_chain(region: &str) -> Arc<Self> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .load()
            .await;
        Self::new(config.credentials_provider())
    }

    /// Credentials for signing now: cached unless missing or (nearly) expired.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<CachedIdentity>, GatewayError> {
        if let Some(cached) = self.current.load_full() {
            match cached.state(SystemTime::now()) {
                Freshness::Fresh => return Ok(cached),
                Freshness::RefreshSoon => {
                    self.refresh_in_background();
                    return Ok(cached);
                }
                Freshness::Expired => {}
            }
        }
        self.refresh().await
    }

    /// Forgets the cached credentials (after Bedrock said they expired).
    pub fn invalidate(&self) {
        self.current.store(None);
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.background_refresh.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(err) = this.refresh().await {
                tracing::warn!(error = %err.message, "refreshing AWS credentials failed; using the current ones until they expire");
            }
            this.background_refresh.store(false, Ordering::Release);
        });
    }

    async fn refresh(&self) -> Result<Arc<CachedIdentity>, GatewayError> {
        let asked = Instant::now();
        let _guard = self.refresh_lock.lock().await;
        if let Some((at, err)) = &*lock(&self.last_failure) {
            if *at >= asked {
                return Err(err.clone());
            }
        }
        // Another caller may have refreshed while we waited for the lock.
        let existing = self.current.load_full();
        if let Some(cached) = &existing {
            if cached.state(SystemTime::now()) == Freshness::Fresh {
                return Ok(Arc::clone(cached));
            }
        }
        let Some(provider) = &self.provider else {
            return Err(credentials_error(&CredentialsError::not_loaded_no_source()));
        };
        let result = tokio::time::timeout(PROVIDE_TIMEOUT, provider.provide_credentials()).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(CredentialsError::provider_timed_out(PROVIDE_TIMEOUT)),
        };
        match result {
            Ok(credentials) => {
                let fresh = Arc::new(CachedIdentity::new(credentials));
                self.current.store(Some(Arc::clone(&fresh)));
                *lock(&self.last_failure) = None;
                Ok(fresh)
            }
            // Still-valid credentials beat an error while the refresh window is open.
            Err(err) => match existing {
                Some(cached) if cached.state(SystemTime::now()) != Freshness::Expired => {
                    tracing::warn!(error = %DisplayErrorContext(&err), "refreshing AWS credentials failed; still using the current ones");
                    Ok(cached)
                }
                _ => {
                    let err = credentials_error(&err);
                    *lock(&self.last_failure) = Some((Instant::now(), err.clone()));
                    Err(err)
                }
            },
        }
    }
}

/// A poisoned lock only means a panic elsewhere mid-update of a plain value; the value is fine.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps a credential-chain failure to the error a request gets.
pub fn credentials_error(err: &CredentialsError) -> GatewayError {
    let detail = DisplayErrorContext(err).to_string();
    match err {
        CredentialsError::CredentialsNotLoaded(_) => GatewayError::internal(format!(
            "no AWS credentials for Bedrock: {CHAIN_TRIED}; none provided credentials ({detail})"
        ))
        .with_code("aws_credentials_missing"),
        CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
            GatewayError::new(
                ErrorKind::Unavailable,
                gomodel_core::ErrorSource::Internal,
                format!("could not load AWS credentials for Bedrock: {detail} ({CHAIN_TRIED})"),
            )
            .with_code("aws_credentials_unavailable")
            .retryable(true)
        }
        _ => GatewayError::internal(format!(
            "AWS credentials for Bedrock are misconfigured: {detail} ({CHAIN_TRIED})"
        ))
        .with_code("aws_credentials_invalid"),
    }
}

/// Signing settings: the SDK defaults (double percent-encoding of the already-encoded path,
/// path normalisation, session token signed), minus the excluded-header list, which only matters
/// for headers we never pass to the signer.
pub fn settings() -> SigningSettings {
    let mut s = SigningSettings::default();
    s.excluded_headers = None;
    s
}

/// The headers a signature adds, in aws-sigv4's order: `x-amz-date`, `authorization`, and
/// `x-amz-security-token` (sensitive) when the credentials carry one. A fixed array, so handing
/// them over allocates nothing; iterates as `(&'static str, HeaderValue)`.
#[derive(Debug, Default, Clone)]
pub struct SignedHeaders {
    items: [Option<(&'static str, HeaderValue)>; 4],
}

impl SignedHeaders {
    /// Appends a header; false when all four slots are taken.
    fn push(&mut self, name: &'static str, value: HeaderValue) -> bool {
        match self.items.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => {
                *slot = Some((name, value));
                true
            }
            None => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, HeaderValue)> {
        self.items.iter().flatten()
    }

    /// The value of header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&HeaderValue> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IntoIterator for SignedHeaders {
    type Item = (&'static str, HeaderValue);
    type IntoIter =
        std::iter::Flatten<std::array::IntoIter<Option<(&'static str, HeaderValue)>, 4>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter().flatten()
    }
}

/// Signs one request and returns the headers to add (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` when the credentials carry one). `url` must already be
/// percent-encoded; `headers` are the ones to sign besides `host` (which comes from the URL).
///
/// The gateway's own request shapes are signed on the fast path (see [`fast`]); anything else
/// by aws-sigv4's general signer ([`sign_general`]). The output is the same either way.
#[allow(clippy::too_many_arguments)]
pub fn sign_headers(
    identity: &CachedIdentity,
    region: &str,
    time: SystemTime,
    settings: &SigningSettings,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<SignedHeaders, GatewayError> {
    if let Some(credentials) = identity.identity.data::<Credentials>() {
        if let Some(signed) = fast::sign(
            &identity.fast,
            credentials,
            region,
            time,
            settings,
            method,
            url,
            headers,
            body,
        ) {
            return Ok(signed);
        }
    }
    sign_general(
        &identity.identity,
        region,
        time,
        settings,
        method,
        url,
        headers,
        body,
    )
}

/// Signs with aws-sigv4's general signer (`aws_sigv4::http_request::sign`): the fallback of
/// [`sign_headers`] and the reference its fast path is tested against.
#[allow(clippy::too_many_arguments)]
pub fn sign_general(
    identity: &Identity,
    region: &str,
    time: SystemTime,
    settings: &SigningSettings,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<SignedHeaders, GatewayError> {
    let fail = |what: &str, e: &dyn std::error::Error| {
        GatewayError::internal(format!("could not sign the Bedrock request ({what}): {e}"))
    };
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| fail("request", &e))?;
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(settings.clone())
        .build()
        .map_err(|e| fail("parameters", &e))?
        .into();
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| fail("signature", &e))?
        .into_parts();
    let (signed, _query) = instructions.into_parts();
    let mut out = SignedHeaders::default();
    for h in signed {
        let mut value = HeaderValue::from_str(h.value()).map_err(|e| fail("header value", &e))?;
        value.set_sensitive(h.sensitive());
        if !out.push(h.name(), value) {
            return Err(GatewayError::internal(
                "could not sign the Bedrock request: the signer returned more than four headers",
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    /// 2024-01-02T03:04:05Z
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    fn identity(token: Option<&str>) -> CachedIdentity {
        CachedIdentity::new(credentials(token))
    }

    /// (name, value bytes, sensitive) in order: what the call site sees.
    fn dump(signed: &SignedHeaders) -> Vec<(&'static str, Vec<u8>, bool)> {
        signed
            .iter()
            .map(|(n, v)| (*n, v.as_bytes().to_vec(), v.is_sensitive()))
            .collect()
    }

    /// The fast path alone (`None` when it declines).
    #[allow(clippy::too_many_arguments)]
    fn fast_only(
        id: &CachedIdentity,
        region: &str,
        time: SystemTime,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<SignedHeaders> {
        let creds = id.identity().data::<Credentials>().unwrap();
        fast::sign(
            &id.fast,
            creds,
            region,
            time,
            &settings(),
            method,
            url,
            headers,
            body,
        )
    }

    fn general(
        id: &CachedIdentity,
        region: &str,
        time: SystemTime,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<SignedHeaders, GatewayError> {
        sign_general(
            id.identity(),
            region,
            time,
            &settings(),
            method,
            url,
            headers,
            body,
        )
    }

    /// Expected values computed with botocore's `SigV4Auth(creds, "bedrock", region)`
    /// (botocore 1.43/1.44, clock pinned to 2024-01-02T03:04:05Z), independently of aws-sigv4.
    /// Each case must be taken by the fast path, and the general signer must agree too.
    #[test]
    fn matches_botocore() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        struct Case {
            method: &'static str,
            url: &'static str,
            region: &'static str,
            token: Option<&'static str>,
            headers: &'static [(&'static str, &'static str)],
            body: &'static [u8],
            authorization: &'static str,
        }
        const JSON: (&str, &str) = ("content-type", "application/json");
        const ACCEPT: (&str, &str) = ("accept", "application/json");
        let cases = [
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
                region: "us-east-1",
                token: None,
                headers: &[JSON],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=2168127d09cf792414e209fe48e6c1f03f21ac65f200b37313fcf993ce3c272d",
            },
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
                region: "us-east-1",
                token: Some("SESSIONTOKEN/+="),
                headers: &[JSON],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=9f311a2054282b16f768ee8dfa64943d53acfb4c412586274f34e196bee054c2",
            },
            Case {
                method: "GET",
                url: "http://127.0.0.1:4566/inference-profiles?type=SYSTEM_DEFINED&maxResults=1000&nextToken=abc%2Fdef%3D%3D",
                region: "us-east-1",
                token: None,
                headers: &[],
                body: b"",
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=b02fc392cedb5c72c918347d1c7c05cc9e21f6f377aa58d9c77a9904dddcf387",
            },
            // GET with a query string and a session token (ListFoundationModels).
            Case {
                method: "GET",
                url: "https://bedrock.eu-west-1.amazonaws.com/foundation-models?byOutputModality=TEXT",
                region: "eu-west-1",
                token: Some("FwoGZXIvYXdzEBYaDH+tok/en=="),
                headers: &[],
                body: b"",
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/eu-west-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=617c2d6708080508df3ca4bf2b2812807f2710ad0c2102c24b6a9f5dab295605",
            },
            // A non-default port (the emulator) and InvokeModel's two headers.
            Case {
                method: "POST",
                url: "http://127.0.0.1:18111/model/amazon.titan-embed-text-v2%3A0/invoke",
                region: "us-west-2",
                token: None,
                headers: &[JSON, ACCEPT],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=4d35698416e772b914be98b657ff0c323d9f9f01c2ef6d93da5f3c501b2fad63",
            },
            // An ARN model id (`:` and `/`, double-encoded) with a session token.
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse",
                region: "us-east-1",
                token: Some("IQoJb3JpZ2luX2VjE/session"),
                headers: &[JSON, ACCEPT],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=34aa77405a50283a9de26ec11d73b43a0854fb5ff4d1bc64108362895df30484",
            },
            // The scheme's default port is left out of `host`; an empty body.
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com:443/model/us.meta.llama3-2-1b-instruct-v1%3A0/converse",
                region: "us-east-1",
                token: None,
                headers: &[JSON],
                body: b"",
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=c8ebc47e623129dfd45c0cf21200792d63a5ea8be24dc1aba2a18d0258f96fa4",
            },
        ];
        for c in cases {
            let id = identity(c.token);
            let fast = fast_only(
                &id,
                c.region,
                fixed_time(),
                c.method,
                c.url,
                c.headers,
                c.body,
            )
            .unwrap_or_else(|| panic!("fast path declined {}", c.url));
            let slow = general(
                &id,
                c.region,
                fixed_time(),
                c.method,
                c.url,
                c.headers,
                c.body,
            )
            .unwrap();
            let public = sign_headers(
                &id,
                c.region,
                fixed_time(),
                &settings(),
                c.method,
                c.url,
                c.headers,
                c.body,
            )
            .unwrap();
            assert_eq!(dump(&fast), dump(&slow), "{}", c.url);
            assert_eq!(dump(&public), dump(&fast), "{}", c.url);
            let get = |name: &str| fast.get(name).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                get("authorization").as_deref(),
                Some(c.authorization),
                "{}",
                c.url
            );
            assert_eq!(get("x-amz-date").as_deref(), Some("20240102T030405Z"));
            assert_eq!(get("x-amz-security-token").as_deref(), c.token);
            assert_eq!(
                fast.get("x-amz-security-token")
                    .map(HeaderValue::is_sensitive),
                c.token.map(|_| true)
            );
        }
    }

    /// Shapes the fast path leaves to the general signer; the result is still the general one.
    #[test]
    fn unusual_requests_fall_back() {
        let id = identity(None);
        let t = fixed_time();
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse";
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            ("OPTIONS", url, &[]),
            ("POST", url, &[("Content-Type", "application/json")]),
            ("POST", url, &[("content-type", " application/json")]),
            ("POST", url, &[("content-type", "a  b")]),
            ("POST", url, &[("host", "elsewhere")]),
            ("POST", url, &[("x-amz-date", "20240102T030405Z")]),
            ("POST", url, &[("a", "1"), ("a", "2")]),
            ("POST", "https://h.example/model/./converse", &[]),
            ("POST", "https://h.example/model/../converse", &[]),
            ("POST", "https://h.example/model//converse", &[]),
            ("POST", "https://h.example/model/a%zz/converse", &[]),
            ("POST", "https://h.example/model/a:b/converse", &[]),
            ("POST", "https://user@h.example/model/m/converse", &[]),
            ("GET", "https://h.example/list?a=%ff", &[]),
            ("GET", "https://h.example/list?a=b;c", &[]),
            ("GET", "https://h.example", &[]),
            ("GET", "https://h.example?x=1", &[]),
            ("GET", "ftp://h.example/x", &[]),
        ];
        for (method, url, headers) in cases {
            assert!(
                fast_only(&id, "us-east-1", t, method, url, headers, b"{}").is_none(),
                "{method} {url} {headers:?}"
            );
            let public = sign_headers(
                &id,
                "us-east-1",
                t,
                &settings(),
                method,
                url,
                headers,
                b"{}",
            );
            let slow = general(&id, "us-east-1", t, method, url, headers, b"{}");
            match (public, slow) {
                (Ok(a), Ok(b)) => assert_eq!(dump(&a), dump(&b), "{method} {url}"),
                (Err(a), Err(b)) => assert_eq!(a.message, b.message),
                (a, b) => panic!("{method} {url}: {a:?} vs {b:?}"),
            }
        }
        // Non-default settings also go to the general signer.
        let mut other = settings();
        other.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let creds = id.identity().data::<Credentials>().unwrap();
        assert!(fast::sign(
            &id.fast,
            creds,
            "us-east-1",
            t,
            &other,
            "POST",
            url,
            &[],
            b""
        )
        .is_none());
        let signed = sign_headers(&id, "us-east-1", t, &other, "POST", url, &[], b"").unwrap();
        assert!(signed.get("x-amz-content-sha256").is_some());
        // The SDK's default exclusion list only matters when it names a header we sign.
        let defaults = SigningSettings::default();
        assert!(fast::sign(
            &id.fast,
            creds,
            "us-east-1",
            t,
            &defaults,
            "POST",
            url,
            &[JSON_CT],
            b""
        )
        .is_some());
        assert!(fast::sign(
            &id.fast,
            creds,
            "us-east-1",
            t,
            &defaults,
            "POST",
            url,
            &[("user-agent", "x")],
            b""
        )
        .is_none());
    }

    const JSON_CT: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn canonical_query_matches_the_sdk_rules() {
        let q = |s: &str| fast::canonical_query_for_test(s).unwrap();
        assert_eq!(q("b=2&a=1"), "a=1&b=2");
        assert_eq!(q("a=2&a=1&a"), "a=&a=1&a=2");
        assert_eq!(q("x=a+b&y=%2f%3D&&z"), "x=a%20b&y=%2F%3D&z=");
        assert_eq!(q("k=%E2%82%AC"), "k=%E2%82%AC");
        assert_eq!(q("k=a=b"), "k=a%3Db");
        assert!(fast::canonical_query_for_test("k=%C3").is_none());
    }

    /// The derived key is reused within a UTC day and region, and derived anew when either
    /// changes; it always equals aws-sigv4's own derivation.
    #[test]
    fn signing_key_cache_follows_date_and_region() {
        let id = identity(Some("tok"));
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse";
        // 2024-01-02T23:59:59Z and the next second.
        let before = UNIX_EPOCH + Duration::from_secs(1_704_239_999);
        let after = before + Duration::from_secs(1);
        let sign_at = |t: SystemTime, region: &str| {
            let fast = fast_only(&id, region, t, "POST", url, &[JSON_CT], b"{}").unwrap();
            let slow = general(&id, region, t, "POST", url, &[JSON_CT], b"{}").unwrap();
            assert_eq!(dump(&fast), dump(&slow));
            id.fast.cached_key().unwrap()
        };
        let expect = |t: SystemTime, region: &str| {
            let k = v4::generate_signing_key(secret, t, region, SIGNING_NAME);
            <[u8; 32]>::try_from(k.as_ref()).unwrap()
        };
        assert!(id.fast.cached_key().is_none());

        let (d1, r1, k1, p1) = sign_at(before - Duration::from_secs(3600), "us-east-1");
        assert_eq!((d1.as_str(), r1.as_str()), ("20240102", "us-east-1"));
        assert_eq!(k1, expect(before, "us-east-1"));
        // Same day, same region: the same cache entry.
        let (_, _, _, p2) = sign_at(before, "us-east-1");
        assert_eq!(p1, p2);
        // Midnight UTC: a new key.
        let (d3, _, k3, p3) = sign_at(after, "us-east-1");
        assert_eq!(d3, "20240103");
        assert_ne!(k3, k1);
        assert_ne!(p3, p1);
        assert_eq!(k3, expect(after, "us-east-1"));
        // Another region: a new key.
        let (d4, r4, k4, _) = sign_at(after, "eu-central-1");
        assert_eq!((d4.as_str(), r4.as_str()), ("20240103", "eu-central-1"));
        assert_eq!(k4, expect(after, "eu-central-1"));
        // And back.
        let (_, r5, k5, _) = sign_at(after, "us-east-1");
        assert_eq!((r5.as_str(), k5), ("us-east-1", k3));
        // Rotated credentials start with an empty cache.
        assert!(identity(None).fast.cached_key().is_none());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let id = identity(Some("SECRETTOKEN"));
        fast_only(
            &id,
            "us-east-1",
            fixed_time(),
            "GET",
            "https://h.example/x",
            &[],
            b"",
        )
        .unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains("SECRETTOKEN"), "{shown}");
        assert!(shown.contains("20240102"), "{shown}");
    }

    mod equivalence {
        use super::*;
        use proptest::prelude::*;

        fn model_url(base: &str, model: &str, operation: &str) -> String {
            let mut url = String::from(base);
            url.push_str("/model/");
            url.extend(percent_encoding::utf8_percent_encode(
                model,
                crate::client::UNRESERVED_ONLY,
            ));
            url.push('/');
            url.push_str(operation);
            url
        }

        fn base() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("https://bedrock-runtime.us-east-1.amazonaws.com".to_owned()),
                Just("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com:443".to_owned()),
                Just("http://127.0.0.1:18111".to_owned()),
                Just("http://localhost:80".to_owned()),
                Just("http://LocalHost:8080".to_owned()),
                Just(
                    "https://vpce-0123.bedrock-runtime.eu-west-3.vpce.amazonaws.com:8443"
                        .to_owned()
                ),
            ]
        }

        fn region() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => "[a-z]{2}(-gov)?-[a-z]{4,9}-[1-9]",
                1 => "[!-~]{0,20}",
            ]
        }

        fn token() -> impl Strategy<Value = Option<String>> {
            proptest::option::of("[A-Za-z0-9+/=]{1,300}")
        }

        /// Seconds since the epoch, half of them within a few seconds of a UTC midnight.
        fn time() -> impl Strategy<Value = SystemTime> {
            prop_oneof![
                (0u64..40_000, 0u64..6).prop_map(|(day, s)| day * 86_400 + s + 86_397),
                0u64..4_000_000_000,
            ]
            .prop_map(|s| UNIX_EPOCH + Duration::from_secs(s))
        }

        fn headers() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
            prop_oneof![
                Just(vec![("content-type", "application/json")]),
                Just(vec![
                    ("content-type", "application/json"),
                    ("accept", "application/json")
                ]),
                Just(vec![("accept", "application/vnd.amazon.eventstream")]),
                Just(vec![]),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// The runtime shape: the fast path takes it and matches aws-sigv4 byte for byte,
            /// also when one identity signs across a midnight and a region change.
            #[test]
            fn model_requests_match_general_signer(
                base in base(),
                model in any::<String>(),
                op in prop_oneof![Just("converse"), Just("converse-stream"), Just("invoke"), Just("invoke-with-response-stream")],
                body in proptest::collection::vec(any::<u8>(), 0..600),
                t in time(),
                step in 0u64..200_000,
                r1 in region(),
                r2 in region(),
                tok in token(),
                hs in headers(),
            ) {
                let url = model_url(&base, &model, op);
                let id = identity(tok.as_deref());
                // "", "." and ".." make an empty or dot segment, which the general signer
                // normalises away: those alone go to it.
                let unusual = matches!(model.as_str(), "" | "." | "..");
                for (t, r) in [(t, &r1), (t + Duration::from_secs(step), &r1), (t + Duration::from_secs(step), &r2)] {
                    let slow = general(&id, r, t, "POST", &url, &hs, &body).unwrap();
                    let signed = match fast_only(&id, r, t, "POST", &url, &hs, &body) {
                        Some(fast) => fast,
                        None if unusual => sign_headers(&id, r, t, &settings(), "POST", &url, &hs, &body).unwrap(),
                        None => panic!("fast path declined {url} in {r}"),
                    };
                    prop_assert_eq!(dump(&signed), dump(&slow));
                }
            }

            /// The control-plane shape: GET with an encoded query string.
            #[test]
            fn control_requests_match_general_signer(
                base in base(),
                path in "/(foundation-models|inference-profiles|[a-z0-9_~-][a-z0-9._~-]{0,11}(/[a-zA-Z0-9_~-][a-zA-Z0-9._~-]{0,11}){0,3}/?)",
                params in proptest::collection::vec((any::<String>(), any::<String>(), any::<bool>()), 0..6),
                t in time(),
                r in region(),
                tok in token(),
            ) {
                let mut url = base + &path;
                for (i, (k, v, plus)) in params.iter().enumerate() {
                    url.push(if i == 0 { '?' } else { '&' });
                    url.extend(percent_encoding::utf8_percent_encode(k, crate::client::UNRESERVED_ONLY));
                    url.push('=');
                    let v: String = percent_encoding::utf8_percent_encode(v, crate::client::UNRESERVED_ONLY).collect();
                    url.push_str(&if *plus { v.replace("%20", "+") } else { v });
                }
                let id = identity(tok.as_deref());
                let fast = fast_only(&id, &r, t, "GET", &url, &[], b"");
                let slow = general(&id, &r, t, "GET", &url, &[], b"").unwrap();
                let fast = fast.unwrap_or_else(|| panic!("fast path declined {url}"));
                prop_assert_eq!(dump(&fast), dump(&slow));
            }

            /// Anything at all: whichever path signs, the result is the general signer's.
            #[test]
            fn arbitrary_requests_match_general_signer(
                method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("post"), Just("OPTIONS")],
                base in prop_oneof![base(), Just("https://a:b@h.example".to_owned()), Just("http://h.example:99999".to_owned()), Just("http://[::1]:8080".to_owned())],
                tail in "[/a-zA-Z0-9%.:?&=+#;~_-]{0,40}",
                name in "[a-zA-Z-]{0,12}",
                value in "[ -~]{0,16}",
                body in proptest::collection::vec(any::<u8>(), 0..64),
                t in time(),
                r in region(),
                tok in proptest::option::of("[ -~]{0,40}"),
            ) {
                let url = base + &tail;
                let headers = [(name.as_str(), value.as_str())];
                let id = identity(tok.as_deref());
                let public = sign_headers(&id, &r, t, &settings(), method, &url, &headers, &body);
                let slow = general(&id, &r, t, method, &url, &headers, &body);
                match (public, slow) {
                    (Ok(a), Ok(b)) => prop_assert_eq!(dump(&a), dump(&b)),
                    (Err(a), Err(b)) => prop_assert_eq!(a.message, b.message),
                    (a, b) => prop_assert!(false, "{url}: {a:?} vs {b:?}"),
                }
            }
        }
    }

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Option<Duration>,
        fail: bool,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                // Slow, like a chain that probes IMDS, so concurrent callers overlap.
                return future::ProvideCredentials::new(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err(CredentialsError::not_loaded("nothing configured"))
                });
            }
            let expiry = self.lifetime.map(|l| SystemTime::now() + l);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                expiry,
                "counting",
            )))
        }
    }

    fn cache(lifetime: Option<Duration>, fail: bool) -> (Arc<CredentialCache>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Counting {
            calls: Arc::clone(&calls),
            lifetime,
            fail,
        });
        (CredentialCache::new(Some(provider)), calls)
    }

    fn akid(c: &CachedIdentity) -> String {
        c.identity()
            .data::<Credentials>()
            .unwrap()
            .access_key_id()
            .to_owned()
    }

    #[tokio::test]
    async fn caches_long_lived_credentials() {
        let (cache, calls) = cache(Some(Duration::from_secs(3600)), false);
        let a = cache.get().await.unwrap();
        let b = cache.get().await.unwrap();
        assert_eq!(akid(&a), akid(&b));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.invalidate();
        let c = cache.get().await.unwrap();
        assert_eq!(akid(&c), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn static_credentials_never_refresh() {
        let (cache, calls) = cache(None, false);
        for _ in 0..5 {
            cache.get().await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_in_background_before_expiry() {
        // Four minutes left: inside the five-minute window, still usable.
        let (cache, calls) = cache(Some(Duration::from_secs(240)), false);
        let first = cache.get().await.unwrap();
        assert_eq!(akid(&first), "AKID0");
        let second = cache.get().await.unwrap();
        // Served from cache while the refresh runs in the background.
        assert_eq!(akid(&second), "AKID0");
        for _ in 0..50 {
            if calls.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(calls.load(Ordering::SeqCst) >= 2);
    }

    #[tokio::test]
    async fn expired_credentials_refresh_inline_single_flight() {
        // Five seconds left: inside the expiry margin, so each get must fetch anew.
        let (cache, calls) = cache(Some(Duration::from_secs(5)), false);
        let results = futures::future::join_all((0..8).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_ok));
        // Every waiter found the credentials still expired and refreshed in turn, one at a time;
        // what matters is that none failed and each refresh ran under the lock.
        assert!(calls.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn single_flight_for_concurrent_first_use() {
        let (cache, calls) = cache(Some(Duration::from_secs(3600)), false);
        let results = futures::future::join_all((0..16).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_waiters_share_one_failure() {
        let (cache, calls) = cache(None, true);
        let results = futures::future::join_all((0..8).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_err));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A later request walks the chain again (credentials may have appeared).
        assert!(cache.get().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn missing_credentials_explain_the_chain() {
        let (cache, _) = cache(None, true);
        let err = cache.get().await.unwrap_err();
        assert_eq!(err.status(), 500);
        assert!(err.message.contains("AWS_ACCESS_KEY_ID"), "{}", err.message);
        assert!(err.message.contains("IMDS"), "{}", err.message);
        let none = CredentialCache::new(None);
        assert_eq!(none.get().await.unwrap_err().status(), 500);
    }
}
