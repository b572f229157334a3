//! The Responses API (`POST /v1/responses`): wire types and their translation.
//!
//! It shares the translation core with chat completions: [`to_neutral`] produces the same
//! neutral `ChatRequest` (through chat's content decoding, tool, tool-choice and format
//! validation), so there is one path into Converse; [`from_neutral`] and
//! [`ResponseEventEncoder`] render the neutral answer as a `Response` object or its event stream.
//!
//! Flow for the server: [`parse_request`] → [`RequestEcho::new`] (the fields the response
//! repeats) → [`to_neutral`] → provider → [`check_stop`] + [`from_neutral`], or
//! [`ResponseEventEncoder`] for SSE.
//!
//! Stored state is the server's job: with storage on it keeps responses (`store`, default true)
//! and resolves `previous_response_id` by prepending the stored conversation before
//! [`to_neutral`]. Not supported (a 400 naming the parameter, never a silent drop):
//! `conversation`, `item_reference` items, `prompt`, `background`, built-in tools, log
//! probabilities. `truncation: "auto"` is accepted but nothing is truncated: an over-long input
//! gets the provider's context-length 400. Reasoning items always carry the provider's signature in `encrypted_content`
//! (redacted reasoning as `gomodel-redacted:<base64>`), so stateless multi-turn reasoning with
//! tools works by sending the items back.

mod echo;
mod items;
mod request;
mod response;
mod stream;
mod to_neutral;

pub use crate::chat::check_stop;
pub use echo::{FunctionToolEcho, RequestEcho};
pub use request::*;
pub use response::{
    from_neutral, IncompleteDetails, InputTokensDetails, OutputItem, OutputText,
    OutputTokensDetails, Response, ResponseError, ResponseUsage, SummaryText,
};
pub use stream::ResponseEventEncoder;
pub use to_neutral::to_neutral;

use gomodel_core::GatewayError;

/// Parses a request body. Errors are 400s whose `param` is the JSON path at fault
/// (e.g. `input[2].content[0].type`).
pub fn parse_request(body: &[u8]) -> Result<CreateResponseRequest, GatewayError> {
    crate::parse::parse_json(body)
}

/// Renames a parameter path in an error from chat's validation (`param` and message) so it
/// names the field as the Responses API spells it.
fn rebase(mut err: GatewayError, from: &str, to: &str) -> GatewayError {
    if let Some(param) = err.param.as_mut() {
        if param.contains(from) {
            *param = param.replace(from, to);
            err.message = err.message.replace(from, to);
        }
    }
    err
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod request_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod response_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod stream_tests;
