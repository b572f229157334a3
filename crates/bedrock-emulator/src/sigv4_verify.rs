//! Verification of AWS SigV4 `Authorization` headers (and Bedrock API-key Bearer tokens).
//!
//! The signature is recomputed with the `aws-sigv4` crate itself: the received request (method,
//! the raw path exactly as it arrived, the raw query, the headers the client listed in
//! `SignedHeaders`, the body) is handed to `aws_sigv4::http_request::sign` with the secret that
//! belongs to the access key and the time from `x-amz-date`, and the resulting signature is
//! compared in constant time. Using the crate (double path encoding, header normalisation, query
//! sorting) rather than a hand-rolled canonicaliser keeps this side independent of the gateway's
//! own code while still following the AWS spec exactly.

use crate::config::{Credential, EmulatorConfig};
use crate::errors::ApiError;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SessionTokenMode, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, StatusCode};
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Signing name of both Bedrock services.
pub const SIGNING_SERVICE: &str = "bedrock";
/// How far `x-amz-date` may be from the emulator's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

const INVALID_SIGNATURE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// Who the request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A SigV4-signed request.
    SigV4 {
        /// The access key id that signed.
        access_key_id: String,
        /// The region in the credential scope.
        region: String,
    },
    /// `Authorization: Bearer <Bedrock API key>`.
    ApiKey,
}

/// The parts of a received request that the signature covers.
#[derive(Debug)]
pub struct ReceivedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path exactly as received (still percent-encoded).
    pub raw_path: &'a str,
    /// Query string exactly as received, without `?`.
    pub raw_query: Option<&'a str>,
    /// The `:authority` when the request arrived over HTTP/2 without a Host header.
    pub authority: Option<&'a str>,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::front_end("InvalidSignatureException", StatusCode::FORBIDDEN, message)
}

fn incomplete_signature(message: impl Into<String>) -> ApiError {
    ApiError::front_end(
        "IncompleteSignatureException",
        StatusCode::BAD_REQUEST,
        message,
    )
}

fn unrecognized_client() -> ApiError {
    ApiError::front_end(
        "UnrecognizedClientException",
        StatusCode::FORBIDDEN,
        INVALID_TOKEN,
    )
}

/// The three components of an `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    /// `AKID/DATE/REGION/SERVICE/aws4_request`.
    pub credential: &'a str,
    /// `host;x-amz-date;...`.
    pub signed_headers: &'a str,
    /// Hex signature.
    pub signature: &'a str,
}

/// Parses the Authorization header value of a SigV4 request.
pub fn parse_authorization(value: &str) -> Result<ParsedAuthorization<'_>, ApiError> {
    let (algorithm, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(incomplete_signature(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let mut missing = String::new();
    for (name, present) in [
        ("Credential", credential.is_some()),
        ("Signature", signature.is_some()),
        ("SignedHeaders", signed_headers.is_some()),
    ] {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => Ok(ParsedAuthorization {
            credential,
            signed_headers,
            signature,
        }),
        _ => Err(incomplete_signature(format!(
            "{missing}Authorization={value}"
        ))),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses `YYYYMMDD'T'HHMMSS'Z'`.
pub fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(value, format)
        .ok()
        .map(|dt| SystemTime::from(dt.assume_utc()))
}

fn format_amz_date(t: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(t)
        .format(format)
        .unwrap_or_else(|_| "00000000T000000Z".into())
}

/// Authenticates a request: Bearer API key or SigV4 signature. `now` is injectable for tests.
pub fn verify(
    config: &EmulatorConfig,
    request: &ReceivedRequest<'_>,
    now: SystemTime,
) -> Result<Principal, ApiError> {
    let Some(authorization) = header_str(request.headers, "authorization") else {
        return Err(ApiError::front_end(
            "MissingAuthenticationTokenException",
            StatusCode::FORBIDDEN,
            "Missing Authentication Token",
        ));
    };
    if let Some(key) = authorization.strip_prefix("Bearer ") {
        let key = key.trim();
        // Constant-time comparison against every key: API keys are secrets too.
        let known = config.api_keys.iter().fold(false, |acc, k| {
            acc | bool::from(k.as_bytes().ct_eq(key.as_bytes()))
        });
        return if known {
            Ok(Principal::ApiKey)
        } else {
            Err(unrecognized_client())
        };
    }
    let parsed = parse_authorization(authorization)?;

    let scope: Vec<&str> = parsed.credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete_signature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            parsed.credential
        )));
    };
    if *terminator != "aws4_request" {
        return Err(invalid_signature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if *service != SIGNING_SERVICE {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{SIGNING_SERVICE}'. "
        )));
    }
    if !config.regions.iter().any(|r| r == region) {
        return Err(invalid_signature(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }

    let Some(amz_date) = header_str(request.headers, "x-amz-date") else {
        return Err(incomplete_signature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Some(signed_at) = parse_amz_date(amz_date) else {
        return Err(incomplete_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    if !amz_date.starts_with(date) || date.len() != 8 {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{}', from '{amz_date}'.",
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    if let Ok(age) = now.duration_since(signed_at) {
        if age > MAX_CLOCK_SKEW {
            return Err(invalid_signature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
                format_amz_date(now - MAX_CLOCK_SKEW),
                format_amz_date(now)
            )));
        }
    } else if let Ok(ahead) = signed_at.duration_since(now) {
        if ahead > MAX_CLOCK_SKEW {
            return Err(invalid_signature(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
                format_amz_date(now + MAX_CLOCK_SKEW),
                format_amz_date(now)
            )));
        }
    }

    let Some(credential) = config.credentials.get(*access_key_id) else {
        return Err(unrecognized_client());
    };
    let sent_token = header_str(request.headers, "x-amz-security-token");
    match (&credential.session_token, sent_token) {
        (None, None) => {}
        (Some(expected), Some(sent)) if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) => {}
        _ => return Err(unrecognized_client()),
    }

    let expected = recompute_signature(
        credential,
        region,
        signed_at,
        parsed.signed_headers,
        request,
    )?;
    if !bool::from(expected.as_bytes().ct_eq(parsed.signature.as_bytes())) {
        tracing::debug!(
            access_key_id,
            signed_headers = parsed.signed_headers,
            "signature mismatch"
        );
        return Err(invalid_signature(INVALID_SIGNATURE));
    }
    Ok(Principal::SigV4 {
        access_key_id: (*access_key_id).to_string(),
        region: (*region).to_string(),
    })
}

/// Computes the signature AWS would expect for `request` as signed by `credential`.
pub fn recompute_signature(
    credential: &Credential,
    region: &str,
    signed_at: SystemTime,
    signed_headers: &str,
    request: &ReceivedRequest<'_>,
) -> Result<String, ApiError> {
    let names: Vec<&str> = signed_headers.split(';').map(str::trim).collect();
    let has_host = names.contains(&"host");
    if !has_host && !names.contains(&":authority") {
        return Err(invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let signs_token = names.contains(&"x-amz-security-token");
    let signs_content_sha = names.contains(&"x-amz-content-sha256");

    // The crate adds x-amz-date, x-amz-security-token and x-amz-content-sha256 itself (from the
    // time, the identity and the body), so those are not passed as ordinary headers.
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(names.len());
    for name in &names {
        if matches!(
            *name,
            "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256" | ":authority"
        ) {
            continue;
        }
        let values: Vec<&str> = request
            .headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() && *name == "host" {
            // HTTP/2 requests carry the host as :authority instead of a Host header.
            if let Some(authority) = request.authority {
                headers.push(("host", authority));
            }
            continue;
        }
        for value in values {
            headers.push((name, value));
        }
    }
    if !headers.iter().any(|(n, _)| *n == "host") {
        // The crate needs a host to sign; without one the signature cannot match anyway.
        return Err(invalid_signature(INVALID_SIGNATURE));
    }

    let content_sha = header_str(request.headers, "x-amz-content-sha256");
    let body = match content_sha {
        Some("UNSIGNED-PAYLOAD") if signs_content_sha => SignableBody::UnsignedPayload,
        _ => SignableBody::Bytes(request.body),
    };

    let mut settings = SigningSettings::default();
    // Sign exactly what the client listed, including headers the crate would skip by default.
    settings.excluded_headers = None;
    settings.payload_checksum_kind = if signs_content_sha {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    settings.session_token_mode = if signs_token {
        SessionTokenMode::Include
    } else {
        SessionTokenMode::Exclude
    };

    let identity: Identity = Credentials::new(
        credential.access_key_id.clone(),
        credential.secret_access_key.clone(),
        credential.session_token.clone(),
        None,
        "emulator",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_SERVICE)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| invalid_signature(format!("cannot build signing params: {e}")))?
        .into();

    let uri = match request.raw_query {
        Some(q) if !q.is_empty() => format!("{}?{q}", request.raw_path),
        _ => request.raw_path.to_string(),
    };
    let signable = SignableRequest::new(request.method, uri, headers.into_iter(), body)
        .map_err(|_| invalid_signature(INVALID_SIGNATURE))?;
    let output = sign(signable, &params).map_err(|_| invalid_signature(INVALID_SIGNATURE))?;
    Ok(output.signature().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NOW: u64 = 1_735_732_800; // 2025-01-01T12:00:00Z

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn config() -> EmulatorConfig {
        EmulatorConfig {
            credentials: crate::config::parse_credentials(
                "AKIDEMULATOR:emulator-secret,AKIDTOKEN:token-secret:the-session-token",
            )
            .unwrap(),
            api_keys: ["bedrock-api-key-1".to_string()].into_iter().collect(),
            ..Default::default()
        }
    }

    /// A request as a client would send it, signed by aws-sigv4 the way the Rust SDK does.
    struct Signed {
        method: String,
        path: String,
        query: Option<String>,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Signed {
        fn view(&self) -> ReceivedRequest<'_> {
            ReceivedRequest {
                method: &self.method,
                raw_path: &self.path,
                raw_query: self.query.as_deref(),
                authority: None,
                headers: &self.headers,
                body: &self.body,
            }
        }
    }

    fn signed(
        akid: &str,
        secret: &str,
        token: Option<&str>,
        region: &str,
        service: &str,
        at: SystemTime,
    ) -> Signed {
        let method = "POST".to_string();
        let path = "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse".to_string();
        let query = None;
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#.to_vec();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:4000"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("user-agent", HeaderValue::from_static("test-agent/1.0"));
        let identity: Identity =
            Credentials::new(akid, secret, token.map(str::to_string), None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let header_pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            format!("http://127.0.0.1:4000{path}"),
            header_pairs.into_iter(),
            SignableBody::Bytes(&body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut req = http::Request::builder()
            .method("POST")
            .uri(format!("http://127.0.0.1:4000{path}"))
            .body(())
            .unwrap();
        *req.headers_mut() = headers;
        instructions.apply_to_request_http1x(&mut req);
        Signed {
            method,
            path,
            query,
            headers: req.headers().clone(),
            body,
        }
    }

    fn good() -> Signed {
        signed(
            "AKIDEMULATOR",
            "emulator-secret",
            None,
            "us-east-1",
            "bedrock",
            now(),
        )
    }

    fn code(result: Result<Principal, ApiError>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(e) => e.code,
        }
    }

    #[test]
    fn a_correctly_signed_request_verifies() {
        let req = good();
        let p = verify(&config(), &req.view(), now()).unwrap();
        assert_eq!(
            p,
            Principal::SigV4 {
                access_key_id: "AKIDEMULATOR".into(),
                region: "us-east-1".into()
            }
        );
    }

    #[test]
    fn session_token_credentials() {
        let cfg = config();
        let ok = signed(
            "AKIDTOKEN",
            "token-secret",
            Some("the-session-token"),
            "us-east-1",
            "bedrock",
            now(),
        );
        assert_eq!(code(verify(&cfg, &ok.view(), now())), "ok");
        let wrong = signed(
            "AKIDTOKEN",
            "token-secret",
            Some("other-token"),
            "us-east-1",
            "bedrock",
            now(),
        );
        assert_eq!(
            code(verify(&cfg, &wrong.view(), now())),
            "UnrecognizedClientException"
        );
        let missing = signed(
            "AKIDTOKEN",
            "token-secret",
            None,
            "us-east-1",
            "bedrock",
            now(),
        );
        assert_eq!(
            code(verify(&cfg, &missing.view(), now())),
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn tampering_table() {
        type Tamper = fn(&mut Signed);
        let cases: Vec<(&str, Tamper, &str)> = vec![
            ("untouched", |_| {}, "ok"),
            (
                "body changed",
                |r| r.body.push(b' '),
                "InvalidSignatureException",
            ),
            (
                "path changed",
                |r| r.path = r.path.replace("converse", "converse-stream"),
                "InvalidSignatureException",
            ),
            (
                "path decoded",
                |r| r.path = r.path.replace("%3A", ":"),
                "InvalidSignatureException",
            ),
            (
                "query added",
                |r| r.query = Some("a=b".into()),
                "InvalidSignatureException",
            ),
            (
                "method changed",
                |r| r.method = "PUT".into(),
                "InvalidSignatureException",
            ),
            (
                "signed header changed",
                |r| {
                    r.headers
                        .insert("content-type", HeaderValue::from_static("text/plain"));
                },
                "InvalidSignatureException",
            ),
            (
                "unsigned header changed",
                |r| {
                    r.headers
                        .insert("user-agent", HeaderValue::from_static("other/2.0"));
                },
                "ok",
            ),
            (
                "host changed",
                |r| {
                    r.headers
                        .insert("host", HeaderValue::from_static("127.0.0.1:4001"));
                },
                "InvalidSignatureException",
            ),
            (
                "signature changed",
                |r| {
                    let auth = r.headers["authorization"].to_str().unwrap().to_string();
                    let flipped = if auth.ends_with('0') {
                        format!("{}1", &auth[..auth.len() - 1])
                    } else {
                        format!("{}0", &auth[..auth.len() - 1])
                    };
                    r.headers
                        .insert("authorization", HeaderValue::from_str(&flipped).unwrap());
                },
                "InvalidSignatureException",
            ),
            (
                "x-amz-date changed",
                |r| {
                    r.headers
                        .insert("x-amz-date", HeaderValue::from_static("20250101T120001Z"));
                },
                "InvalidSignatureException",
            ),
            (
                "authorization removed",
                |r| {
                    r.headers.remove("authorization");
                },
                "MissingAuthenticationTokenException",
            ),
            (
                "signature parameter removed",
                |r| {
                    let auth = r.headers["authorization"].to_str().unwrap();
                    let cut = auth.split(", Signature=").next().unwrap().to_string();
                    r.headers
                        .insert("authorization", HeaderValue::from_str(&cut).unwrap());
                },
                "IncompleteSignatureException",
            ),
            (
                "host not signed",
                |r| {
                    let auth = r.headers["authorization"]
                        .to_str()
                        .unwrap()
                        .replace("host;", "");
                    r.headers
                        .insert("authorization", HeaderValue::from_str(&auth).unwrap());
                },
                "InvalidSignatureException",
            ),
        ];
        for (name, tamper, expected) in cases {
            let mut req = good();
            tamper(&mut req);
            assert_eq!(
                code(verify(&config(), &req.view(), now())),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn scope_and_key_table() {
        let cases: Vec<(&str, Signed, &str, &str)> = vec![
            (
                "wrong secret",
                signed("AKIDEMULATOR", "nope", None, "us-east-1", "bedrock", now()),
                "InvalidSignatureException",
                "The request signature we calculated does not match",
            ),
            (
                "unknown key",
                signed("AKIDUNKNOWN", "emulator-secret", None, "us-east-1", "bedrock", now()),
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            (
                "wrong region",
                signed("AKIDEMULATOR", "emulator-secret", None, "ap-south-2", "bedrock", now()),
                "InvalidSignatureException",
                "Credential should be scoped to a valid region, not 'ap-south-2'.",
            ),
            (
                "wrong service",
                signed("AKIDEMULATOR", "emulator-secret", None, "us-east-1", "s3", now()),
                "InvalidSignatureException",
                "Credential should be scoped to correct service: 'bedrock'.",
            ),
            (
                "expired",
                signed(
                    "AKIDEMULATOR",
                    "emulator-secret",
                    None,
                    "us-east-1",
                    "bedrock",
                    now() - Duration::from_secs(16 * 60),
                ),
                "InvalidSignatureException",
                "Signature expired: 20250101T114400Z is now earlier than 20250101T114500Z (20250101T120000Z - 15 min.)",
            ),
            (
                "from the future",
                signed(
                    "AKIDEMULATOR",
                    "emulator-secret",
                    None,
                    "us-east-1",
                    "bedrock",
                    now() + Duration::from_secs(16 * 60),
                ),
                "InvalidSignatureException",
                "Signature not yet current",
            ),
            (
                "within skew",
                signed(
                    "AKIDEMULATOR",
                    "emulator-secret",
                    None,
                    "us-east-1",
                    "bedrock",
                    now() - Duration::from_secs(14 * 60),
                ),
                "ok",
                "",
            ),
            (
                "other configured region",
                signed("AKIDEMULATOR", "emulator-secret", None, "eu-west-1", "bedrock", now()),
                "ok",
                "",
            ),
        ];
        for (name, req, expected_code, expected_message) in cases {
            match verify(&config(), &req.view(), now()) {
                Ok(_) => assert_eq!(expected_code, "ok", "{name}"),
                Err(e) => {
                    assert_eq!(e.code, expected_code, "{name}");
                    assert_eq!(e.status, StatusCode::FORBIDDEN, "{name}");
                    assert!(
                        e.message.contains(expected_message),
                        "{name}: {}",
                        e.message
                    );
                }
            }
        }
    }

    #[test]
    fn bearer_api_keys() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer bedrock-api-key-1"),
        );
        let req = ReceivedRequest {
            method: "POST",
            raw_path: "/model/x/converse",
            raw_query: None,
            authority: None,
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(verify(&config(), &req, now()).unwrap(), Principal::ApiKey);
        let mut other = HeaderMap::new();
        other.insert("authorization", HeaderValue::from_static("Bearer other"));
        let req = ReceivedRequest {
            headers: &other,
            ..req
        };
        assert_eq!(
            code(verify(&config(), &req, now())),
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn query_strings_are_canonicalised() {
        // A GET with an unsorted, encoded query, signed over the same URI.
        let identity: Identity =
            Credentials::new("AKIDEMULATOR", "emulator-secret", None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let uri = "http://localhost:9/inference-profiles?type=SYSTEM_DEFINED&maxResults=2&nextToken=b2Zm%3D";
        let signable = SignableRequest::new(
            "GET",
            uri,
            [("host", "localhost:9")].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost:9"));
        for (k, v) in instructions.headers() {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let req = ReceivedRequest {
            method: "GET",
            raw_path: "/inference-profiles",
            raw_query: Some("type=SYSTEM_DEFINED&maxResults=2&nextToken=b2Zm%3D"),
            authority: None,
            headers: &headers,
            body: b"",
        };
        assert_eq!(code(verify(&config(), &req, now())), "ok");
        let tampered = ReceivedRequest {
            raw_query: Some("type=SYSTEM_DEFINED&maxResults=3&nextToken=b2Zm%3D"),
            ..req
        };
        assert_eq!(
            code(verify(&config(), &tampered, now())),
            "InvalidSignatureException"
        );
    }

    #[test]
    fn amz_date_parsing() {
        assert_eq!(parse_amz_date("20250101T120000Z"), Some(now()),);
        assert_eq!(parse_amz_date("2025-01-01T12:00:00Z"), None);
        assert_eq!(format_amz_date(now()), "20250101T120000Z");
    }
}
