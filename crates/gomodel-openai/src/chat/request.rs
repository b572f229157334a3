//! The `POST /v1/chat/completions` request body, per `CreateChatCompletionRequest`.
//!
//! Messages and content parts are flat structs (a `role`/`type` string plus optional fields)
//! rather than tagged enums: serde then deserializes them without buffering (tagged and
//! untagged enums buffer every value, including multi-megabyte base64 images), and the
//! translation can reject a wrong combination with an error naming the exact parameter.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Declares the request struct and a hand-written map visitor for it. The visitor exists so that
/// unknown top-level keys can be collected into `unknown` (and rejected by `to_neutral` with
/// OpenAI's exact message) without `#[serde(flatten)]`, which would buffer the whole body.
macro_rules! chat_request {
    ( $( $(#[$meta:meta])* $field:ident : $ty:ty, )* ) => {
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct ChatCompletionRequest {
            pub model: String,
            pub messages: Vec<ChatMessage>,
            $( $(#[$meta])* pub $field: Option<$ty>, )*
            /// Top-level keys this gateway does not know; `to_neutral` rejects them.
            pub unknown: Map<String, Value>,
        }

        impl<'de> Deserialize<'de> for ChatCompletionRequest {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct RequestVisitor;

                impl<'de> Visitor<'de> for RequestVisitor {
                    type Value = ChatCompletionRequest;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a chat completion request object")
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut model: Option<String> = None;
                        let mut messages: Option<Vec<ChatMessage>> = None;
                        let mut req = ChatCompletionRequest::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                "model" => model = Some(map.next_value()?),
                                "messages" => messages = Some(map.next_value()?),
                                $( stringify!($field) => req.$field = map.next_value()?, )*
                                _ => {
                                    let value: Value = map.next_value()?;
                                    req.unknown.insert(key, value);
                                }
                            }
                        }
                        req.model = model.ok_or_else(|| de::Error::missing_field("model"))?;
                        req.messages = messages.ok_or_else(|| de::Error::missing_field("messages"))?;
                        Ok(req)
                    }
                }

                deserializer.deserialize_map(RequestVisitor)
            }
        }
    };
}

chat_request! {
    stream: bool,
    stream_options: StreamOptions,
    temperature: f64,
    top_p: f64,
    /// Deprecated by OpenAI in favour of `max_completion_tokens`, which wins when both are set.
    max_tokens: i64,
    max_completion_tokens: i64,
    stop: StopConfiguration,
    n: i64,
    seed: i64,
    frequency_penalty: f64,
    presence_penalty: f64,
    logprobs: bool,
    top_logprobs: i64,
    logit_bias: Map<String, Value>,
    tools: Vec<ChatTool>,
    tool_choice: ToolChoiceOption,
    parallel_tool_calls: bool,
    response_format: ResponseFormatParam,
    /// `none`, `minimal`, `low`, `medium`, `high`, `xhigh`, `max`.
    reasoning_effort: String,
    /// Extension (Anthropic-style): `{"type": "enabled", "budget_tokens": N}`.
    thinking: ThinkingParam,
    user: String,
    safety_identifier: String,
    metadata: BTreeMap<String, String>,
    service_tier: String,
    store: bool,
    audio: Value,
    modalities: Vec<String>,
    prediction: Value,
    verbosity: String,
    web_search_options: Value,
    moderation: Value,
    prompt_cache_key: String,
    prompt_cache_retention: String,
    prompt_cache_options: Value,
    /// Deprecated function-calling API; rejected with a pointer to `tools`.
    functions: Value,
    function_call: Value,
    /// Extension: Bedrock Converse pass-through fields.
    bedrock: BedrockExtra,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StreamOptions {
    pub include_usage: Option<bool>,
    /// Accepted for compatibility; the gateway never adds obfuscation padding.
    pub include_obfuscation: Option<bool>,
}

/// `stop`: one string or an array of strings.
#[derive(Debug, Clone, PartialEq)]
pub enum StopConfiguration {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for StopConfiguration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StopVisitor;

        impl<'de> Visitor<'de> for StopVisitor {
            type Value = StopConfiguration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StopConfiguration::One(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StopConfiguration::One(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element()? {
                    all.push(s);
                }
                Ok(StopConfiguration::Many(all))
            }
        }

        deserializer.deserialize_any(StopVisitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

/// One message of any role; which fields are allowed depends on `role` and is checked by
/// `to_neutral`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatMessage {
    pub role: MessageRole,
    pub content: Option<MessageContent>,
    pub name: Option<String>,
    pub tool_calls: Option<Vec<ToolCall>>,
    pub tool_call_id: Option<String>,
    pub refusal: Option<String>,
    pub audio: Option<Value>,
    pub function_call: Option<Value>,
    /// Extension (as DeepSeek/vLLM/LiteLLM), assistant messages only: the reasoning the model
    /// gave in this turn, as the gateway returned it.
    pub reasoning_content: Option<String>,
    /// Extension, assistant messages only: the signature the gateway returned with
    /// `reasoning_content`. Models that verify their own thinking (Claude) need both back so
    /// tool use with thinking can continue over several turns.
    pub reasoning_signature: Option<String>,
}

/// A message's content: a plain string or an array of typed parts.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;

        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(MessageContent::Parts(parts))
            }
        }

        deserializer.deserialize_any(ContentVisitor)
    }
}

/// One content part (`text`, `image_url`, `input_audio`, `file`, `refusal`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub image_url: Option<ImageUrl>,
    pub input_audio: Option<Value>,
    pub file: Option<FileRef>,
    pub refusal: Option<String>,
    /// Extension (Anthropic-style): `{"type": "ephemeral"}` puts a cache point after the part.
    pub cache_control: Option<CacheControl>,
    /// OpenAI's explicit cache breakpoint, `{"mode": "explicit"}`; same effect as `cache_control`.
    pub prompt_cache_breakpoint: Option<Value>,
}

/// `image_url`: normally `{"url", "detail"}`; a bare URL string is accepted too because several
/// client libraries send that older form.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageUrl {
    pub url: String,
    pub detail: Option<String>,
}

impl<'de> Deserialize<'de> for ImageUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Object {
            url: String,
            detail: Option<String>,
        }

        struct ImageUrlVisitor;

        impl<'de> Visitor<'de> for ImageUrlVisitor {
            type Value = ImageUrl;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with `url` or a URL string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ImageUrl {
                    url: v.to_owned(),
                    detail: None,
                })
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ImageUrl {
                    url: v,
                    detail: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let obj = Object::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ImageUrl {
                    url: obj.url,
                    detail: obj.detail,
                })
            }
        }

        deserializer.deserialize_any(ImageUrlVisitor)
    }
}

/// A `file` content part.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FileRef {
    pub filename: Option<String>,
    /// A `data:` URL or bare base64.
    pub file_data: Option<String>,
    pub file_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CacheControl {
    #[serde(rename = "type")]
    pub kind: String,
    /// Accepted (Anthropic's `5m`/`1h`); Bedrock cache points take no TTL here.
    pub ttl: Option<String>,
}

/// A tool call in an assistant message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ToolCall {
    pub id: String,
    /// `function` (the default when absent) or `custom`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub function: Option<FunctionCall>,
    pub custom: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// JSON text, as the model produced it.
    #[serde(default)]
    pub arguments: String,
}

/// An entry of `tools`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatTool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Option<FunctionDef>,
    pub custom: Option<Value>,
    /// Extension: a cache point after this tool definition.
    pub cache_control: Option<CacheControl>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

/// `tool_choice`: `none` | `auto` | `required` | a named or allowed-tools object.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoiceOption {
    Mode(String),
    Object(ToolChoiceObject),
}

impl<'de> Deserialize<'de> for ToolChoiceOption {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;

        impl<'de> Visitor<'de> for ChoiceVisitor {
            type Value = ToolChoiceOption;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("'none', 'auto', 'required' or a tool choice object")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ToolChoiceOption::Mode(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ToolChoiceObject::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ToolChoiceOption::Object)
            }
        }

        deserializer.deserialize_any(ChoiceVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ToolChoiceObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Option<NamedFunction>,
    pub custom: Option<Value>,
    pub allowed_tools: Option<AllowedTools>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NamedFunction {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AllowedTools {
    pub mode: String,
    pub tools: Vec<ToolChoiceObject>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseFormatParam {
    #[serde(rename = "type")]
    pub kind: String,
    pub json_schema: Option<JsonSchemaFormat>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JsonSchemaFormat {
    pub name: Option<String>,
    pub description: Option<String>,
    pub schema: Option<Value>,
    pub strict: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ThinkingParam {
    #[serde(rename = "type")]
    pub kind: String,
    pub budget_tokens: Option<i64>,
}

/// Extension `bedrock: {...}`: Converse fields with no OpenAI equivalent, passed through as-is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockExtra {
    pub additional_model_request_fields: Option<Value>,
    pub additional_model_response_field_paths: Option<Vec<String>>,
    pub guardrail_config: Option<Value>,
    pub performance_config: Option<Value>,
}

impl ChatCompletionRequest {
    /// Whether the client asked for a streamed answer.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// Whether a streamed answer should end with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.is_stream()
            && self
                .stream_options
                .as_ref()
                .and_then(|o| o.include_usage)
                .unwrap_or(false)
    }
}
