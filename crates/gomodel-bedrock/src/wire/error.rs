//! Error bodies. REST-JSON errors carry the exception name in the `x-amzn-ErrorType` header
//! and/or the body's `__type` / `code`, and the text in `message` or `Message` (both spellings
//! occur). In-stream exception frames carry the member shape (`message`, plus
//! `originalStatusCode` / `originalMessage` for `modelStreamErrorException`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorBody {
    #[serde(default, alias = "Message", alias = "errorMessage")]
    pub message: Option<String>,
    #[serde(default, rename = "__type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, rename = "originalStatusCode")]
    pub original_status_code: Option<u16>,
    #[serde(default, rename = "originalMessage")]
    pub original_message: Option<String>,
    #[serde(default, rename = "resourceName")]
    pub resource_name: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn both_message_spellings() {
        let cases = [
            (r#"{"message":"a"}"#, "a"),
            (r#"{"Message":"b","__type":"x"}"#, "b"),
        ];
        for (json, want) in cases {
            let b: ErrorBody = serde_json::from_str(json).unwrap();
            assert_eq!(b.message.as_deref(), Some(want), "{json}");
        }
    }
}
