//! One error type for the whole gateway, carrying where it came from and whether a retry may help.
//! The HTTP layer renders it as OpenAI's `{"error": {message, type, param, code}}`.

use std::fmt;
use std::time::Duration;

/// What went wrong, independent of which side caused it. Decides the HTTP status and OpenAI `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the request is malformed or asks for something the model cannot do.
    InvalidRequest,
    /// 401: the client's gateway key is missing or wrong.
    Authentication,
    /// 403: the upstream principal may not use this model.
    PermissionDenied,
    /// 404: unknown model or resource.
    NotFound,
    /// 413: request body over the configured limit.
    PayloadTooLarge,
    /// 429: throttled or over quota upstream.
    RateLimited,
    /// 500: a bug or misconfiguration inside the gateway.
    Internal,
    /// 502: the upstream failed or answered something unusable.
    UpstreamError,
    /// 503: the upstream is temporarily unavailable (or not ready).
    Unavailable,
    /// 504: the upstream timed out.
    Timeout,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::UpstreamError => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::Timeout => 504,
        }
    }

    /// The OpenAI error `type` string for this kind.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge | ErrorKind::NotFound => {
                "invalid_request_error"
            }
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Internal => "server_error",
            ErrorKind::UpstreamError | ErrorKind::Unavailable | ErrorKind::Timeout => {
                "upstream_error"
            }
        }
    }
}

/// Which side of the gateway the error originated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The client sent something wrong.
    Downstream,
    /// The provider failed or refused.
    Upstream,
    /// The gateway itself.
    Internal,
}

#[derive(Debug, Clone)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub source: ErrorSource,
    pub message: String,
    /// OpenAI `param`: the request field at fault, when known.
    pub param: Option<String>,
    /// OpenAI `code`, e.g. `model_not_found`, `context_length_exceeded`, or the upstream exception name.
    pub code: Option<String>,
    /// Whether retrying the same request may succeed (throttling, 5xx, connection errors).
    pub retryable: bool,
    /// A hint for the client's `Retry-After` header.
    pub retry_after: Option<Duration>,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, source: ErrorSource, message: impl Into<String>) -> Self {
        Self {
            kind,
            source,
            message: message.into(),
            param: None,
            code: None,
            retryable: false,
            retry_after: None,
        }
    }

    /// A 400 caused by the client's request.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, ErrorSource::Downstream, message)
    }

    /// A 400 naming the request parameter at fault.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_request(message).with_param(param)
    }

    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            ErrorSource::Downstream,
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, ErrorSource::Internal, message)
    }

    pub fn upstream(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, ErrorSource::Upstream, message)
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({:?}): {}",
            self.kind.status(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_status_and_type() {
        let cases = [
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (ErrorKind::Authentication, 401, "authentication_error"),
            (ErrorKind::PermissionDenied, 403, "permission_error"),
            (ErrorKind::NotFound, 404, "invalid_request_error"),
            (ErrorKind::PayloadTooLarge, 413, "invalid_request_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::Internal, 500, "server_error"),
            (ErrorKind::UpstreamError, 502, "upstream_error"),
            (ErrorKind::Unavailable, 503, "upstream_error"),
            (ErrorKind::Timeout, 504, "upstream_error"),
        ];
        for (kind, status, ty) in cases {
            assert_eq!(kind.status(), status, "{kind:?}");
            assert_eq!(kind.openai_type(), ty, "{kind:?}");
        }
    }

    #[test]
    fn model_not_found_names_param_and_code() {
        let e = GatewayError::model_not_found("x");
        assert_eq!(e.status(), 404);
        assert_eq!(e.param.as_deref(), Some("model"));
        assert_eq!(e.code.as_deref(), Some("model_not_found"));
        assert!(e.message.contains("`x`"));
    }
}
