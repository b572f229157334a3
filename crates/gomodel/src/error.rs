//! The one error type handlers return: a [`GatewayError`] rendered as OpenAI's error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gomodel_core::GatewayError;
use gomodel_openai::error::error_body;

/// What the request log line says about a failed request (the error body itself is not logged).
#[derive(Debug, Clone)]
pub struct ErrorSummary {
    pub code: Option<String>,
    pub message: String,
    /// The OpenAI error `type` (usage records fall back to it when there is no code).
    pub error_type: &'static str,
    /// The provider caused it (counted per code in the upstream-errors metric).
    pub upstream: bool,
}

#[derive(Debug)]
pub struct AppError(pub GatewayError);

impl From<GatewayError> for AppError {
    fn from(e: GatewayError) -> Self {
        AppError(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, &self.0)
    }
}

/// Renders `err` with an explicit status, for the few statuses `ErrorKind` has no kind for (405).
pub fn error_response(status: StatusCode, err: &GatewayError) -> Response {
    // Serializing plain strings cannot fail; the fallback only keeps this path panic-free.
    let body = serde_json::to_vec(&error_body(err)).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
            .to_vec()
    });
    let mut resp = (status, Bytes::from(body)).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(after) = err.retry_after {
        // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry storm.
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    resp.extensions_mut().insert(ErrorSummary {
        code: err.code.clone(),
        message: err.message.clone(),
        error_type: err.kind.openai_type(),
        upstream: err.source == gomodel_core::ErrorSource::Upstream,
    });
    resp
}
