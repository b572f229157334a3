//! Master-key authentication for `/v1/*` and `/admin/*` (`GOMODEL_MASTER_KEY`).

use axum::http::{header, HeaderMap};
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The gateway key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct MasterKey(Arc<[u8]>);

impl MasterKey {
    pub fn new(key: &str) -> Self {
        MasterKey(Arc::from(key.as_bytes()))
    }

    /// Constant-time comparison so response timing does not reveal how much of a guess matched
    /// (only the length can differ observably, which reveals nothing useful about the key).
    fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.0.as_ref().ct_eq(candidate))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// `/v1`, `/v1/*` and `/admin/*` need `Authorization: Bearer <key>` or `x-api-key: <key>`.
/// Other paths (`/health`, `/metrics`) pass. Unknown `/v1/*` paths are checked too, so an
/// unauthenticated caller learns nothing about which routes exist.
pub fn is_protected(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/") || path == "/admin" || path.starts_with("/admin/")
}

/// `Ok` when the request presents the master key; else the 401 to answer with.
pub fn check(key: &MasterKey, headers: &HeaderMap) -> Result<(), GatewayError> {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| bearer_token(v.as_bytes()));
    let api_key = headers
        .get_all("x-api-key")
        .iter()
        .map(|v| v.as_bytes().trim_ascii())
        .filter(|v| !v.is_empty());
    let mut presented = false;
    for candidate in bearer.chain(api_key) {
        presented = true;
        if key.matches(candidate) {
            return Ok(());
        }
    }
    let message = if presented {
        "Incorrect API key provided."
    } else {
        "Missing API key: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`."
    };
    Err(
        GatewayError::new(ErrorKind::Authentication, ErrorSource::Downstream, message)
            .with_code("invalid_api_key"),
    )
}

/// The key the client presented (first bearer token, else `x-api-key`), for usage identity.
pub fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .find_map(|v| bearer_token(v.as_bytes()))
        .or_else(|| {
            headers
                .get_all("x-api-key")
                .iter()
                .map(|v| v.as_bytes().trim_ascii())
                .find(|v| !v.is_empty())
        })
}

/// The token of `Bearer <token>` (scheme case-insensitive, as RFC 7235 says).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    if value.len() < 7 || !value[..7].eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = value[7..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_paths() {
        let cases = [
            ("/v1", true),
            ("/v1/chat/completions", true),
            ("/v1/nope", true),
            (
                "/v1/models/arn:aws:bedrock:us-east-1:1:inference-profile/x",
                true,
            ),
            ("/admin", true),
            ("/admin/usage", true),
            ("/v1x", false),
            ("/health", false),
            ("/metrics", false),
            ("/", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_protected(path), want, "{path}");
        }
    }

    #[test]
    fn bearer_parsing() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"Bearer abc", Some(b"abc")),
            (b"bearer  abc ", Some(b"abc")),
            (b"BEARER abc", Some(b"abc")),
            (b"Bearer ", None),
            (b"Basic abc", None),
            (b"abc", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                bearer_token(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
