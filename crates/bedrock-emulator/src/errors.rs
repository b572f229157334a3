//! AWS rest-json error responses: the status from the service model's error shape, the
//! `x-amzn-ErrorType` header botocore reads the code from, and a `{"message": ...}` body.

use crate::service_model;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// Namespace Bedrock's own (modelled) errors carry in `x-amzn-ErrorType`.
const BEDROCK_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.bedrock/";
/// Namespace of the front end's authentication errors, which are not in the service model.
const CORAL_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

/// Errors that can be requested with `[[emu:error=NAME]]`, with the message Bedrock sends.
pub const DIRECTIVE_ERRORS: &[(&str, &str)] = &[
    (
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    ),
    (
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    (
        "ValidationException",
        "Malformed input request, please reformat your input and try again.",
    ),
    (
        "ResourceNotFoundException",
        "Could not resolve the foundation model from the provided model identifier.",
    ),
    (
        "ServiceUnavailableException",
        "Bedrock is unable to process your request.",
    ),
    (
        "InternalServerException",
        "The system encountered an unexpected error during processing. Try your request again.",
    ),
    (
        "ModelTimeoutException",
        "Model has timed out in processing the request. Try your request again.",
    ),
    (
        "ModelNotReadyException",
        "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times. For information about configuring automatic retries, see Retry behavior in the AWS SDKs and Tools reference guide.",
    ),
    (
        "ModelErrorException",
        "The model returned an unexpected error. Try your request again.",
    ),
    (
        "ServiceQuotaExceededException",
        "Your request exceeded the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later.",
    ),
];

/// An error answer in AWS's rest-json shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The error code (shape name), e.g. `ValidationException`.
    pub code: String,
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable message.
    pub message: String,
    /// Extra body members (e.g. `originalStatusCode`).
    pub extra: Map<String, Value>,
    namespace: &'static str,
}

impl ApiError {
    /// A modelled Bedrock error; the status comes from the service model's error shape.
    pub fn modeled(code: &str, message: impl Into<String>) -> Self {
        let status = service_model::error_status(code)
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        Self {
            code: code.to_string(),
            status,
            message: message.into(),
            extra: Map::new(),
            namespace: BEDROCK_NAMESPACE,
        }
    }

    /// An authentication error raised by AWS's front end (not part of the service model).
    pub fn front_end(code: &str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            status,
            message: message.into(),
            extra: Map::new(),
            namespace: CORAL_NAMESPACE,
        }
    }

    /// `400 ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::modeled("ValidationException", message)
    }

    /// `403 AccessDeniedException`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::modeled("AccessDeniedException", message)
    }

    /// `404 UnknownOperationException`, what AWS answers for a path no operation binds.
    pub fn unknown_operation() -> Self {
        Self::front_end(
            "UnknownOperationException",
            StatusCode::NOT_FOUND,
            "The emulator does not implement this operation or path.",
        )
    }

    /// The error a `[[emu:error=NAME]]` directive asks for, or `None` if NAME is not one of
    /// [`DIRECTIVE_ERRORS`].
    pub fn from_directive(name: &str, model_arn: &str) -> Option<Self> {
        let (code, message) = DIRECTIVE_ERRORS.iter().find(|(c, _)| *c == name)?;
        let mut error = Self::modeled(code, *message);
        if *code == "ModelErrorException" {
            error
                .extra
                .insert("originalStatusCode".into(), Value::from(500));
            error
                .extra
                .insert("resourceName".into(), Value::from(model_arn));
        }
        Some(error)
    }

    /// Adds a body member.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("message".into(), Value::String(self.message.clone()));
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("{}:{}", self.code, self.namespace)) {
            headers.insert("x-amzn-ErrorType", v);
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_the_service_model() {
        let cases = [
            ("ThrottlingException", 429),
            ("AccessDeniedException", 403),
            ("ValidationException", 400),
            ("ResourceNotFoundException", 404),
            ("ServiceUnavailableException", 503),
            ("InternalServerException", 500),
            ("ModelTimeoutException", 408),
            ("ModelNotReadyException", 429),
            ("ModelErrorException", 424),
            ("ServiceQuotaExceededException", 400),
        ];
        for (code, status) in cases {
            let e = ApiError::from_directive(code, "arn").unwrap();
            assert_eq!(e.status.as_u16(), status, "{code}");
            let r = e.into_response();
            let t = r
                .headers()
                .get("x-amzn-ErrorType")
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(
                t,
                format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            );
        }
        assert!(ApiError::from_directive("NoSuchException", "arn").is_none());
    }

    #[test]
    fn model_error_carries_original_status() {
        let e = ApiError::from_directive("ModelErrorException", "arn:x").unwrap();
        assert_eq!(e.body()["originalStatusCode"], 500);
        assert_eq!(e.body()["resourceName"], "arn:x");
    }
}
