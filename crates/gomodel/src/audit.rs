//! The optional audit log (`storage.audit_log` / `AUDIT_LOG_ENABLED`, off by default): request
//! and response bodies of the usage endpoints as log lines (target `gomodel::audit`), with
//! credentials and image/file bytes redacted and each body cut at a size cap. Streamed answers
//! are not captured (only their request). Without it, no body ever reaches the logs.

use crate::error::AppError;
use crate::extract::payload_too_large;
use crate::telemetry::RequestId;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct AuditLog {
    pub max_bytes: usize,
}

/// Keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "authorization",
    "password",
    "secret",
    "client_secret",
    "access_key",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "token",
    "x-api-key",
];

/// Base64 strings at least this long under a media key are treated as file/image bytes.
const LONG_BASE64: usize = 128;

/// Route layer: logs the request body, then (for JSON answers) the response body.
pub async fn log_bodies(
    State((log, limit)): State<(AuditLog, usize)>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return AppError(payload_too_large(Some(limit))).into_response(),
    };
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    tracing::info!(target: "gomodel::audit", request_id = %request_id, path = %parts.uri.path(),
        body = %redacted(&bytes, log.max_bytes), "audit request");
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        tracing::info!(target: "gomodel::audit", request_id = %request_id, status = resp.status().as_u16(),
            body = "(stream: not captured)", "audit response");
        return resp;
    }
    let (parts, body) = resp.into_parts();
    // JSON answers are already complete in memory; this only copies them.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    tracing::info!(target: "gomodel::audit", request_id = %request_id, status = parts.status.as_u16(),
        body = %redacted(&bytes, log.max_bytes), "audit response");
    Response::from_parts(parts, Body::from(bytes))
}

/// The body as compact JSON with secrets and media bytes replaced, cut at `max` bytes.
pub fn redacted(body: &[u8], max: usize) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            scrub(&mut v, None);
            v.to_string()
        }
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    };
    truncate(text, max)
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!("…(truncated, {total} bytes)"));
    text
}

fn scrub(v: &mut Value, key: Option<&str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if SECRET_KEYS.contains(&lower.as_str()) {
                    *child = Value::String("<redacted>".into());
                } else {
                    scrub(child, Some(&lower));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| scrub(i, key)),
        Value::String(s) => {
            if let Some(replacement) = media(s, key) {
                *s = replacement;
            }
        }
        _ => {}
    }
}

/// `data:image/png;base64,...` anywhere, or long base64 under a media key (`bytes`, `data`,
/// `file_data`, `image_url`, `b64_json`), becomes a short placeholder.
fn media(s: &str, key: Option<&str>) -> Option<String> {
    if let Some(rest) = s.strip_prefix("data:") {
        if let Some((mime, data)) = rest.split_once(";base64,") {
            return Some(format!("<{mime} {} base64 chars redacted>", data.len()));
        }
    }
    let media_key = matches!(
        key,
        Some("bytes" | "data" | "file_data" | "image_url" | "b64_json" | "url")
    );
    let looks_base64 = s.len() >= LONG_BASE64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    (media_key && looks_base64).then(|| format!("<{} base64 chars redacted>", s.len()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_and_media_and_caps_size() {
        let img = "A".repeat(500);
        let body = serde_json::json!({
            "model": "m", "max_tokens": 5, "api_key": "sk-123",
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{img}")}},
                {"type": "text", "text": "hello"}
            ]}],
            "bedrock": {"image": {"bytes": img}}
        })
        .to_string();
        let out = redacted(body.as_bytes(), 10_000);
        assert!(!out.contains("sk-123"), "{out}");
        assert!(!out.contains(&img), "{out}");
        assert!(
            out.contains("<image/png 500 base64 chars redacted>"),
            "{out}"
        );
        assert!(out.contains("\"max_tokens\":5"), "{out}");
        assert!(out.contains("hello"), "{out}");
        let capped = redacted(body.as_bytes(), 40);
        assert!(
            capped.starts_with('{') && capped.contains("truncated"),
            "{capped}"
        );
        assert_eq!(redacted(b"not json", 100), "<8 bytes, not JSON>");
        // The cut never splits a character.
        assert!(truncate("ééé".into(), 3).starts_with('é'));
    }
}
