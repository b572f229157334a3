//! The `Response` object and its output items, and the non-streamed translation.

use super::echo::RequestEcho;
use super::items::REDACTED_PREFIX;
use crate::chat::check_stop;
use crate::chat::usage::CompletionUsage;
use gomodel_core::chat::{ChatResponse, ContentBlock, StopReason, Usage};
use gomodel_core::{ErrorKind, GatewayError};
use serde::Serialize;
use serde_json::Value;

/// `status` of a response or an output item.
pub const IN_PROGRESS: &str = "in_progress";
pub const COMPLETED: &str = "completed";
pub const INCOMPLETE: &str = "incomplete";
pub const FAILED: &str = "failed";

/// A response object. It borrows the constant parts (id, model, echoed request fields) so the
/// stream encoder can render one per lifecycle event without copying them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response<'a> {
    pub id: &'a str,
    /// Always `response`.
    pub object: &'static str,
    pub created_at: u64,
    pub status: &'static str,
    pub error: Option<ResponseError>,
    pub incomplete_details: Option<IncompleteDetails>,
    /// The model string the client asked for (not the upstream id).
    pub model: &'a str,
    pub output: Vec<OutputItem>,
    /// The SDKs' convenience property (all `output_text` parts joined), also sent on the wire
    /// for raw HTTP clients; absent while the response is in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_text: Option<String>,
    /// Absent until known: the schema does not allow `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponseUsage>,
    #[serde(flatten)]
    pub echo: &'a RequestEcho,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseError {
    /// One of the spec's `ResponseErrorCode` values.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: &'static str,
}

/// An output item, in the model's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        id: String,
        /// Always `assistant`.
        role: &'static str,
        status: &'static str,
        content: Vec<OutputText>,
    },
    FunctionCall {
        id: String,
        /// The provider's tool-use id; the client answers with it in `function_call_output`.
        call_id: String,
        name: String,
        /// JSON text.
        arguments: String,
        status: &'static str,
    },
    Reasoning {
        id: String,
        summary: Vec<SummaryText>,
        /// The provider's reasoning signature (or `gomodel-redacted:` + base64 of redacted
        /// reasoning), which the client sends back to continue a reasoning turn.
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputText {
    /// Always `output_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    /// Always empty: Bedrock has no citations or log probabilities to report.
    pub annotations: [Value; 0],
    pub logprobs: [Value; 0],
}

impl OutputText {
    pub fn new(text: String) -> Self {
        OutputText {
            kind: "output_text",
            text,
            annotations: [],
            logprobs: [],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryText {
    /// Always `summary_text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

impl SummaryText {
    pub fn new(text: String) -> Self {
        SummaryText {
            kind: "summary_text",
            text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResponseUsage {
    pub input_tokens: u64,
    pub input_tokens_details: InputTokensDetails,
    pub output_tokens: u64,
    pub output_tokens_details: OutputTokensDetails,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InputTokensDetails {
    pub cached_tokens: u64,
    pub cache_write_tokens: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: u64,
}

impl From<&Usage> for ResponseUsage {
    /// Chat's accounting (cache reads and writes counted into the input total) is the one copy.
    fn from(u: &Usage) -> Self {
        let c = CompletionUsage::from(u);
        ResponseUsage {
            input_tokens: c.prompt_tokens,
            input_tokens_details: InputTokensDetails {
                cached_tokens: c.prompt_tokens_details.cached_tokens,
                cache_write_tokens: c.prompt_tokens_details.cache_write_tokens.unwrap_or(0),
            },
            output_tokens: c.completion_tokens,
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: c.completion_tokens_details.reasoning_tokens,
            },
            total_tokens: c.total_tokens,
        }
    }
}

/// How an answer ended, in the Responses vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub status: &'static str,
    pub incomplete_details: Option<IncompleteDetails>,
    pub error: Option<ResponseError>,
}

pub(crate) fn outcome(reason: &StopReason) -> Outcome {
    let incomplete = |reason| Outcome {
        status: INCOMPLETE,
        incomplete_details: Some(IncompleteDetails { reason }),
        error: None,
    };
    match reason {
        StopReason::MaxTokens | StopReason::ContextWindowExceeded => {
            incomplete("max_output_tokens")
        }
        StopReason::ContentFiltered | StopReason::GuardrailIntervened => {
            incomplete("content_filter")
        }
        // Normally turned into an HTTP error by `check_stop` first; this keeps a response built
        // anyway honest about it.
        StopReason::MalformedModelOutput | StopReason::MalformedToolUse => match check_stop(reason)
        {
            Err(e) => failed(&e),
            Ok(()) => completed(),
        },
        StopReason::EndTurn
        | StopReason::StopSequence
        | StopReason::ToolUse
        | StopReason::Other(_) => completed(),
    }
}

fn completed() -> Outcome {
    Outcome {
        status: COMPLETED,
        incomplete_details: None,
        error: None,
    }
}

pub(crate) fn failed(err: &GatewayError) -> Outcome {
    Outcome {
        status: FAILED,
        incomplete_details: None,
        error: Some(ResponseError {
            code: error_code(err),
            message: err.message.clone(),
        }),
    }
}

/// The spec's `ResponseErrorCode` has no code for most gateway failures; the closest one is used
/// and the message carries the detail.
fn error_code(err: &GatewayError) -> &'static str {
    match err.kind {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::InvalidRequest => "invalid_prompt",
        _ => "server_error",
    }
}

/// Stable item ids derived from the response id and the output index, so the streamed events
/// and the final object name every item the same way.
pub(crate) fn item_id(prefix: &str, response_id: &str, output_index: usize) -> String {
    let suffix = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{suffix}_{output_index}")
}

pub(crate) fn redacted_content(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!("{REDACTED_PREFIX}{}", crate::b64::LENIENT.encode(bytes))
}

/// The text the SDKs expose as `output_text`: every message's text parts joined.
pub(crate) fn output_text(items: &[OutputItem]) -> String {
    let mut text = String::new();
    for item in items {
        if let OutputItem::Message { content, .. } = item {
            for part in content {
                text.push_str(&part.text);
            }
        }
    }
    text
}

/// Builds the client's response. `model` is the string the client sent, echoed as OpenAI does;
/// call [`check_stop`] first so a malformed answer becomes an HTTP error.
pub fn from_neutral<'a>(
    resp: ChatResponse,
    id: &'a str,
    model: &'a str,
    created_at: u64,
    echo: &'a RequestEcho,
) -> Response<'a> {
    let outcome = outcome(&resp.stop_reason);
    let mut output = Vec::with_capacity(resp.content.len());
    for block in resp.content {
        let n = output.len();
        let item = match block {
            // Each text block is its own message item, as each streamed text block is.
            ContentBlock::Text(text) if text.is_empty() => continue,
            ContentBlock::Text(text) => OutputItem::Message {
                id: item_id("msg", id, n),
                role: "assistant",
                status: COMPLETED,
                content: vec![OutputText::new(text)],
            },
            ContentBlock::ToolUse {
                id: call_id,
                name,
                input,
            } => OutputItem::FunctionCall {
                id: item_id("fc", id, n),
                call_id,
                name,
                arguments: input.to_string(),
                status: COMPLETED,
            },
            ContentBlock::Reasoning { text, signature } => OutputItem::Reasoning {
                id: item_id("rs", id, n),
                summary: if text.is_empty() {
                    Vec::new()
                } else {
                    vec![SummaryText::new(text)]
                },
                encrypted_content: signature,
            },
            ContentBlock::RedactedReasoning(bytes) => OutputItem::Reasoning {
                id: item_id("rs", id, n),
                summary: Vec::new(),
                encrypted_content: Some(redacted_content(&bytes)),
            },
            // Input-only blocks and cache points have no output item.
            _ => continue,
        };
        output.push(item);
    }
    if outcome.status == INCOMPLETE {
        // The cut happened in the last item.
        if let Some(last) = output.last_mut() {
            set_status(last, INCOMPLETE);
        }
    }
    let text = output_text(&output);
    let usage = Some(ResponseUsage::from(&resp.usage));
    let mut response = lifecycle(id, model, created_at, echo, outcome, output, usage);
    response.output_text = Some(text);
    response
}

/// A response object from its constant parts and where it stands (`output_text` left unset). A
/// free function so the stream encoder's other fields stay borrowable while it is written.
pub(crate) fn lifecycle<'a>(
    id: &'a str,
    model: &'a str,
    created_at: u64,
    echo: &'a RequestEcho,
    outcome: Outcome,
    output: Vec<OutputItem>,
    usage: Option<ResponseUsage>,
) -> Response<'a> {
    Response {
        id,
        object: "response",
        created_at,
        status: outcome.status,
        error: outcome.error,
        incomplete_details: outcome.incomplete_details,
        model,
        output,
        output_text: None,
        usage,
        echo,
    }
}

pub(crate) fn set_status(item: &mut OutputItem, new: &'static str) {
    match item {
        OutputItem::Message { status, .. } | OutputItem::FunctionCall { status, .. } => {
            *status = new
        }
        OutputItem::Reasoning { .. } => {}
    }
}
