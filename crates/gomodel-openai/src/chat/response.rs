//! The non-streamed answer, per `CreateChatCompletionResponse`.

use super::usage::CompletionUsage;
use gomodel_core::chat::{ChatResponse, ContentBlock, StopReason};
use gomodel_core::{ErrorKind, GatewayError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletionResponse {
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    pub created: u64,
    /// The model string the client asked for (not the upstream id).
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: CompletionUsage,
    /// Set by the server when the provider reported one; the schema allows it to be absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub index: u32,
    pub message: ResponseMessage,
    pub finish_reason: &'static str,
    /// Always `null`: Bedrock cannot return log probabilities (requests for them are refused).
    pub logprobs: Option<()>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// Joined text, `null` when the answer has no text (e.g. only tool calls).
    pub content: Option<String>,
    /// Required by the schema; Bedrock has no separate refusal channel.
    pub refusal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallOut>>,
    /// Extension (as DeepSeek/vLLM/LiteLLM): the model's visible reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Extension: the signature of the reasoning (Claude). Clients send it back with
    /// `reasoning_content` on the assistant message so multi-turn tool use with thinking works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallOut {
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCallOut,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionCallOut {
    pub name: String,
    /// The tool input re-encoded as JSON text, as OpenAI clients expect.
    pub arguments: String,
}

/// OpenAI's `finish_reason` for a neutral stop reason. Malformed-output reasons should have been
/// turned into errors by [`check_stop`] first; they map to `stop` only as a last resort.
pub fn finish_reason(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::EndTurn | StopReason::StopSequence | StopReason::Other(_) => "stop",
        StopReason::MaxTokens | StopReason::ContextWindowExceeded => "length",
        StopReason::ToolUse => "tool_calls",
        StopReason::ContentFiltered | StopReason::GuardrailIntervened => "content_filter",
        StopReason::MalformedModelOutput | StopReason::MalformedToolUse => "stop",
    }
}

/// Stop reasons that mean the answer is unusable become a 502: OpenAI has no finish reason for
/// "the model produced invalid output", and passing it off as `stop` would hide the failure.
pub fn check_stop(reason: &StopReason) -> Result<(), GatewayError> {
    let (message, code) = match reason {
        StopReason::MalformedModelOutput => (
            "The model produced malformed output that could not be returned.",
            "malformed_model_output",
        ),
        StopReason::MalformedToolUse => (
            "The model produced a malformed tool call that could not be returned.",
            "malformed_tool_use",
        ),
        _ => return Ok(()),
    };
    Err(GatewayError::upstream(ErrorKind::UpstreamError, message).with_code(code))
}

/// Builds the client's response. `model` is the string the client sent, echoed as OpenAI does.
pub fn from_neutral(
    resp: ChatResponse,
    id: &str,
    model: &str,
    created: u64,
) -> ChatCompletionResponse {
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut signature_out: Option<String> = None;
    let mut tool_calls: Vec<ToolCallOut> = Vec::new();
    for block in resp.content {
        match block {
            // Blocks are concatenated without a separator, exactly as the streamed deltas of the
            // same answer would be, so streamed and non-streamed clients see the same text.
            ContentBlock::Text(t) => append(&mut text, t),
            ContentBlock::Reasoning { text: t, signature } => {
                append(&mut reasoning, t);
                // One signed block per answer is what Converse returns; should there be several,
                // the last signature stands (the texts are joined above).
                if signature.is_some() {
                    signature_out = signature;
                }
            }
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCallOut {
                id,
                kind: "function",
                function: FunctionCallOut {
                    name,
                    arguments: input.to_string(),
                },
            }),
            // No OpenAI field carries these (redacted reasoning, cache points, input-only blocks).
            _ => {}
        }
    }
    ChatCompletionResponse {
        id: id.to_owned(),
        object: "chat.completion",
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant",
                content: text,
                refusal: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                reasoning_content: reasoning,
                reasoning_signature: signature_out,
            },
            finish_reason: finish_reason(&resp.stop_reason),
            logprobs: None,
        }],
        usage: CompletionUsage::from(&resp.usage),
        service_tier: None,
    }
}

fn append(acc: &mut Option<String>, s: String) {
    match acc {
        Some(a) => a.push_str(&s),
        None => *acc = Some(s),
    }
}
