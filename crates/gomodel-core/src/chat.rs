//! Provider-neutral chat types: what every ingress API translates into and every provider
//! translates out of. Modelled on Converse (system blocks, role-alternating messages of content
//! blocks, block-indexed stream events) so that nothing a rich provider can carry is lost here.
//!
//! Strings and JSON values are moved, not copied, through the translations.

use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;

/// A chat request after ingress translation, with `model` already resolved to the provider's id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model id as the provider knows it (registry prefix such as `bedrock-us/` removed).
    pub model: String,
    pub system: Vec<SystemBlock>,
    /// Alternating user/assistant turns (consecutive same-role turns are merged by ingress).
    pub messages: Vec<Message>,
    pub inference: InferenceParams,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub response_format: Option<ResponseFormat>,
    pub reasoning: Option<ReasoningConfig>,
    /// `user` and `metadata` from the client, for request tagging (`requestMetadata`).
    pub metadata: BTreeMap<String, String>,
    pub service_tier: Option<String>,
    /// Raw provider-specific fields the client asked to pass through unchanged.
    pub extra: ProviderExtra,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceParams {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub frequency_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub parallel_tool_calls: Option<bool>,
}

/// Provider-specific pass-through, kept as raw JSON because its shape belongs to the provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderExtra {
    pub additional_model_request_fields: Option<Value>,
    pub additional_model_response_field_paths: Vec<String>,
    pub guardrail_config: Option<Value>,
    pub performance_config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SystemBlock {
    Text(String),
    /// Prompt-cache checkpoint after the preceding blocks.
    CachePoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
        }
    }

    /// From the file's magic bytes; `None` when they are not one of the four formats.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    /// From a MIME type such as `image/png`.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/png" => Some(ImageFormat::Png),
            "image/jpeg" | "image/jpg" => Some(ImageFormat::Jpeg),
            "image/gif" => Some(ImageFormat::Gif),
            "image/webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContentBlock {
    Text(String),
    Image {
        format: ImageFormat,
        bytes: Bytes,
    },
    /// An image the client gave by http(s) URL. Ingress translation stays pure and leaves it
    /// as is; a provider that needs the bytes fetches it before its own translation.
    ImageUrl {
        url: String,
        /// The request field it came from (`messages[0].content[1].image_url.url`), so a
        /// failed fetch is a 400 naming it.
        param: String,
    },
    Document {
        /// Converse document format: pdf, csv, doc, docx, xls, xlsx, html, txt, md.
        format: String,
        name: String,
        bytes: Bytes,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Vec<ToolResultContent>,
        is_error: bool,
    },
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    RedactedReasoning(Bytes),
    /// Prompt-cache checkpoint after the preceding blocks.
    CachePoint,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolResultContent {
    Text(String),
    Json(Value),
    Image { format: ImageFormat, bytes: Bytes },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    Function(FunctionTool),
    /// Prompt-cache checkpoint after the preceding tools.
    CachePoint,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    /// The model must call some tool (OpenAI `required`).
    Any,
    /// The model must call this tool.
    Tool(String),
    /// The model must not call tools (OpenAI `none`).
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        description: Option<String>,
        schema: Value,
        strict: Option<bool>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningEffort {
    Minimal,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReasoningConfig {
    pub effort: Option<ReasoningEffort>,
    /// An explicit thinking budget, which wins over `effort`.
    pub budget_tokens: Option<u32>,
}

/// Why the model stopped, in the provider-neutral vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    StopSequence,
    MaxTokens,
    ContextWindowExceeded,
    ToolUse,
    ContentFiltered,
    GuardrailIntervened,
    MalformedModelOutput,
    MalformedToolUse,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub content: Vec<ContentBlock>,
    pub stop_reason: StopReason,
    pub usage: Usage,
}

/// One event of a streamed answer. Blocks are identified by the provider's content-block index;
/// a delta may arrive for an index that saw no `BlockStart` (Converse starts only tool blocks).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    MessageStart,
    BlockStart { index: u32, start: BlockStart },
    BlockDelta { index: u32, delta: BlockDelta },
    BlockStop { index: u32 },
    MessageStop { stop_reason: StopReason },
    Usage(Usage),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    ToolUse { id: String, name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum BlockDelta {
    Text(String),
    /// A fragment of a tool call's JSON arguments.
    ToolInput(String),
    ReasoningText(String),
    ReasoningSignature(String),
    RedactedReasoning(Bytes),
}
