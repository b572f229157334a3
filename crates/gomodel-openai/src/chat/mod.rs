//! Chat completions: the request/response/chunk wire types and their translation.
//!
//! Flow for the server: [`parse_request`] (400s name the JSON path at fault) → [`to_neutral`]
//! (validates; refuses what Bedrock cannot do with a 400 naming the parameter) → provider →
//! [`check_stop`] + [`from_neutral`] for a complete answer, or [`ChunkEncoder`] for SSE.
//!
//! Extensions beyond the OpenAI spec: request `thinking` (`{"type":"enabled","budget_tokens"}`),
//! `bedrock` (Converse pass-through), `cache_control` on content parts and tools; response
//! `reasoning_content` (message and stream delta) and `prompt_tokens_details.cache_write_tokens`.

pub(crate) mod media;
pub(crate) mod messages;
mod parse;
mod request;
mod response;
pub(crate) mod stream;
pub(crate) mod to_neutral;
pub(crate) mod tools;
pub(crate) mod usage;

pub use parse::parse_request;
pub use request::*;
pub use response::{
    check_stop, finish_reason, from_neutral, ChatCompletionResponse, Choice, FunctionCallOut,
    ResponseMessage, ToolCallOut,
};
pub use stream::ChunkEncoder;
pub use to_neutral::to_neutral;
pub use usage::{CompletionTokensDetails, CompletionUsage, PromptTokensDetails};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod request_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod response_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod stream_tests;
