//! OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`, all four keys always
//! present (`param` and `code` as explicit nulls), as the spec's `Error` schema requires.

use gomodel_core::GatewayError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorObject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Serialized as `null` when unknown: the schema marks it required and nullable.
    pub param: Option<String>,
    pub code: Option<String>,
}

/// The body for a gateway error, in OpenAI's shape.
pub fn error_body(err: &GatewayError) -> ErrorResponse {
    ErrorResponse {
        error: ErrorObject {
            message: err.message.clone(),
            kind: err.kind.openai_type().to_owned(),
            param: err.param.clone(),
            code: err.code.clone(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gomodel_core::ErrorKind;
    use serde_json::json;

    #[test]
    fn error_body_has_all_keys_with_explicit_nulls() {
        let cases = [
            (
                GatewayError::invalid_param("n", "bad n"),
                json!({"error": {"message": "bad n", "type": "invalid_request_error", "param": "n", "code": null}}),
            ),
            (
                GatewayError::model_not_found("m"),
                json!({"error": {"message": "The model `m` does not exist or you do not have access to it.",
                    "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}),
            ),
            (
                GatewayError::upstream(ErrorKind::RateLimited, "slow down"),
                json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": null}}),
            ),
            (
                GatewayError::internal("boom"),
                json!({"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}),
            ),
        ];
        for (err, want) in cases {
            let got = serde_json::to_value(error_body(&err)).unwrap();
            crate::spec_check::assert_matches("ErrorResponse", &got);
            assert_eq!(got, want);
        }
    }
}
