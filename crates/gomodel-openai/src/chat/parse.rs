//! Body parsing with OpenAI-shaped errors that name the offending field.

use super::request::ChatCompletionRequest;
use gomodel_core::GatewayError;

/// Parses a chat request body. Errors are 400s whose `param` is the JSON path at fault
/// (e.g. `messages[2].content`), so clients see which field is wrong.
pub fn parse_request(body: &[u8]) -> Result<ChatCompletionRequest, GatewayError> {
    crate::parse::parse_json(body)
}
