//! Converse / ConverseStream: request, response and stream-event shapes
//! (`bedrock-runtime-2023-09-30.service-2.json`).

use super::{wire_union, Blob, Empty};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Request

/// `ConverseRequest` / `ConverseStreamRequest` body (the model id travels in the URL path).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<SystemContentBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_config: Option<InferenceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_config: Option<GuardrailConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_request_fields: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_model_response_field_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_config: Option<PerformanceConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationRole {
    User,
    Assistant,
    /// Listed in the model's enum; never sent by this gateway.
    System,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: ConversationRole,
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

wire_union! {
    /// `ContentBlock`: one piece of a message.
    pub enum ContentBlock {
        "text" => Text(String),
        "image" => Image(ImageBlock),
        "document" => Document(DocumentBlock),
        "video" => Video(Value),
        "audio" => Audio(Value),
        "toolUse" => ToolUse(ToolUseBlock),
        "toolResult" => ToolResult(ToolResultBlock),
        "guardContent" => GuardContent(Value),
        "cachePoint" => CachePoint(CachePointBlock),
        "reasoningContent" => ReasoningContent(ReasoningContentBlock),
        "citationsContent" => CitationsContent(Value),
        "searchResult" => SearchResult(Value),
    }
}

wire_union! {
    /// `SystemContentBlock`.
    pub enum SystemContentBlock {
        "text" => Text(String),
        "guardContent" => GuardContent(Value),
        "cachePoint" => CachePoint(CachePointBlock),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// `png` | `jpeg` | `gif` | `webp`.
    pub format: String,
    pub source: ImageSource,
}

wire_union! {
    pub enum ImageSource {
        "bytes" => Bytes(Blob),
        "s3Location" => S3Location(S3Location),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Location {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentBlock {
    /// `pdf` | `csv` | `doc` | `docx` | `xls` | `xlsx` | `html` | `txt` | `md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub name: String,
    pub source: DocumentSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

wire_union! {
    pub enum DocumentSource {
        "bytes" => Bytes(Blob),
        "s3Location" => S3Location(S3Location),
        "text" => Text(String),
        "content" => Content(Vec<Value>),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlock {
    pub tool_use_id: String,
    pub name: String,
    /// A JSON document: the tool's arguments.
    #[serde(default)]
    pub input: Value,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultBlock {
    pub tool_use_id: String,
    #[serde(default)]
    pub content: Vec<ToolResultContentBlock>,
    /// `success` | `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

wire_union! {
    pub enum ToolResultContentBlock {
        "json" => Json(Value),
        "text" => Text(String),
        "image" => Image(ImageBlock),
        "document" => Document(DocumentBlock),
        "video" => Video(Value),
        "searchResult" => SearchResult(Value),
    }
}

wire_union! {
    pub enum ReasoningContentBlock {
        "reasoningText" => ReasoningText(ReasoningTextBlock),
        "redactedContent" => RedactedContent(Blob),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningTextBlock {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachePointBlock {
    /// Always `default` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// `5m` | `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

impl CachePointBlock {
    pub fn default_point() -> Self {
        Self {
            kind: "default".to_owned(),
            ttl: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferenceConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
}

impl InferenceConfiguration {
    pub fn is_empty(&self) -> bool {
        self.max_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.stop_sequences.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfiguration {
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

wire_union! {
    pub enum Tool {
        "toolSpec" => ToolSpec(ToolSpecification),
        "systemTool" => SystemTool(Value),
        "cachePoint" => CachePoint(CachePointBlock),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSpecification {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: ToolInputSchema,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

wire_union! {
    pub enum ToolInputSchema {
        "json" => Json(Value),
    }
}

wire_union! {
    pub enum ToolChoice {
        "auto" => Auto(Empty),
        "any" => Any(Empty),
        "tool" => Tool(SpecificToolChoice),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecificToolChoice {
    pub name: String,
}

/// `GuardrailConfiguration` (Converse) / `GuardrailStreamConfiguration` (ConverseStream).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail_version: Option<String>,
    /// `enabled` | `disabled` | `enabled_full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// ConverseStream only: `sync` | `async`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_processing_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerformanceConfiguration {
    /// `standard` | `optimized`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceTier {
    /// `priority` | `default` | `flex` | `reserved`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_format: Option<OutputFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFormat {
    /// Always `json_schema` today.
    #[serde(rename = "type")]
    pub kind: String,
    pub structure: OutputFormatStructure,
}

wire_union! {
    pub enum OutputFormatStructure {
        "jsonSchema" => JsonSchema(JsonSchemaDefinition),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaDefinition {
    /// The JSON Schema as JSON *text* (the model types it as a string).
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Response

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    pub output: ConverseOutput,
    /// Kept as text: see [`crate::translate::response::stop_reason`] for the enum.
    pub stop_reason: String,
    #[serde(default)]
    pub usage: TokenUsage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ConverseMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_response_fields: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
}

wire_union! {
    pub enum ConverseOutput {
        "message" => Message(Message),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_input_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseMetrics {
    #[serde(default)]
    pub latency_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// Stream events (`ConverseStreamOutput` members; each is one event-stream message whose
// `:event-type` header names the member and whose payload is the member's JSON)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageStartEvent {
    pub role: ConversationRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockStartEvent {
    pub start: ContentBlockStart,
    pub content_block_index: u32,
}

wire_union! {
    pub enum ContentBlockStart {
        "toolUse" => ToolUse(ToolUseBlockStart),
        "toolResult" => ToolResult(Value),
        "image" => Image(Value),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUseBlockStart {
    pub tool_use_id: String,
    pub name: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockDeltaEvent {
    pub delta: ContentBlockDelta,
    pub content_block_index: u32,
}

wire_union! {
    pub enum ContentBlockDelta {
        "text" => Text(String),
        "toolUse" => ToolUse(ToolUseBlockDelta),
        "toolResult" => ToolResult(Value),
        "reasoningContent" => ReasoningContent(ReasoningContentBlockDelta),
        "citation" => Citation(Value),
        "image" => Image(Value),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlockDelta {
    /// A fragment of the tool input's JSON text.
    pub input: String,
}

wire_union! {
    pub enum ReasoningContentBlockDelta {
        "text" => Text(String),
        "redactedContent" => RedactedContent(Blob),
        "signature" => Signature(String),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlockStopEvent {
    pub content_block_index: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageStopEvent {
    pub stop_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_model_response_fields: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseStreamMetadataEvent {
    #[serde(default)]
    pub usage: TokenUsage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ConverseMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    #[test]
    fn request_serializes_camel_case_and_omits_absent_fields() {
        let req = ConverseRequest {
            messages: vec![Message {
                role: ConversationRole::User,
                content: vec![
                    ContentBlock::Text("hi".into()),
                    ContentBlock::Image(ImageBlock {
                        format: "png".into(),
                        source: ImageSource::Bytes(Blob(Bytes::from_static(b"abc"))),
                    }),
                    ContentBlock::CachePoint(CachePointBlock::default_point()),
                ],
            }],
            system: vec![SystemContentBlock::Text("be brief".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(10),
                ..Default::default()
            }),
            tool_config: Some(ToolConfiguration {
                tools: vec![Tool::ToolSpec(ToolSpecification {
                    name: "f".into(),
                    description: None,
                    input_schema: ToolInputSchema::Json(json!({"type": "object"})),
                    strict: None,
                })],
                tool_choice: Some(ToolChoice::Any(Empty {})),
            }),
            ..Default::default()
        };
        let got = serde_json::to_value(&req).unwrap();
        assert_eq!(
            got,
            json!({
                "messages": [{"role": "user", "content": [
                    {"text": "hi"},
                    {"image": {"format": "png", "source": {"bytes": "YWJj"}}},
                    {"cachePoint": {"type": "default"}}
                ]}],
                "system": [{"text": "be brief"}],
                "inferenceConfig": {"maxTokens": 10},
                "toolConfig": {
                    "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
                    "toolChoice": {"any": {}}
                }
            })
        );
    }

    #[test]
    fn response_tolerates_unknown_fields_and_members() {
        let body = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}},
                {"reasoningContent": {"redactedContent": "AAE="}},
                {"text": "answer"},
                {"citationsContent": {"content": []}},
                {"brandNewBlock": {"x": 1}},
                {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}, "newField": true}}
            ]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7,
                      "cacheReadInputTokens": 1, "cacheWriteInputTokens": 2, "cacheDetails": []},
            "metrics": {"latencyMs": 12},
            "somethingNew": {"a": 1}
        });
        let resp: ConverseResponse = serde_json::from_value(body).unwrap();
        let ConverseOutput::Message(msg) = resp.output else {
            panic!("no message")
        };
        assert_eq!(msg.content.len(), 6);
        assert_eq!(
            msg.content[4],
            ContentBlock::Unknown("brandNewBlock".into())
        );
        assert_eq!(resp.usage.cache_write_input_tokens, Some(2));
        assert_eq!(resp.metrics.unwrap().latency_ms, 12);
    }

    #[test]
    fn stream_events_ignore_padding() {
        let ev: ContentBlockDeltaEvent = serde_json::from_str(
            r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"a\""}},"p":"abcdefgh"}"#,
        )
        .unwrap();
        assert_eq!(ev.content_block_index, 2);
        assert_eq!(
            ev.delta,
            ContentBlockDelta::ToolUse(ToolUseBlockDelta {
                input: "{\"a\"".into()
            })
        );
        let ev: ContentBlockDeltaEvent = serde_json::from_str(
            r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"s"}},"p":"x"}"#,
        )
        .unwrap();
        assert_eq!(
            ev.delta,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature("s".into()))
        );
    }
}
