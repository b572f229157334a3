//! The `POST /v1/responses` request body, per `CreateResponse`.
//!
//! As in chat, items and content parts are flat structs (a `type` string plus optional fields)
//! rather than tagged enums, so serde does not buffer multi-megabyte base64 payloads and the
//! translation can name the exact parameter at fault. Types that the `Response` object echoes
//! back (tools, tool choice, text format, reasoning) also implement `Serialize`.

use crate::chat::{BedrockExtra, CacheControl, ThinkingParam};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Declares the request struct and a map visitor that collects unknown top-level keys into
/// `unknown` (rejected by `to_neutral` with OpenAI's message) without `#[serde(flatten)]`, which
/// would buffer the whole body.
macro_rules! responses_request {
    ( $( $(#[$meta:meta])* $field:ident : $ty:ty, )* ) => {
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct CreateResponseRequest {
            pub model: String,
            $( $(#[$meta])* pub $field: Option<$ty>, )*
            /// Top-level keys this gateway does not know; `to_neutral` rejects them.
            pub unknown: Map<String, Value>,
        }

        impl<'de> Deserialize<'de> for CreateResponseRequest {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct RequestVisitor;

                impl<'de> Visitor<'de> for RequestVisitor {
                    type Value = CreateResponseRequest;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a response request object")
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut model: Option<String> = None;
                        let mut req = CreateResponseRequest::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                "model" => model = Some(map.next_value()?),
                                $( stringify!($field) => req.$field = map.next_value()?, )*
                                _ => {
                                    let value: Value = map.next_value()?;
                                    req.unknown.insert(key, value);
                                }
                            }
                        }
                        req.model = model.ok_or_else(|| de::Error::missing_field("model"))?;
                        Ok(req)
                    }
                }

                deserializer.deserialize_map(RequestVisitor)
            }
        }
    };
}

responses_request! {
    /// Optional here so that `previous_response_id` / `prompt` without `input` get their own,
    /// clearer 400; `to_neutral` requires it.
    input: InputParam,
    instructions: String,
    stream: bool,
    stream_options: Value,
    max_output_tokens: i64,
    temperature: f64,
    top_p: f64,
    top_logprobs: i64,
    tools: Vec<ResponseTool>,
    tool_choice: ToolChoiceParam,
    parallel_tool_calls: bool,
    max_tool_calls: i64,
    text: TextParam,
    reasoning: ReasoningParam,
    /// Extension (as in chat): `{"type": "enabled", "budget_tokens": N}`.
    thinking: ThinkingParam,
    metadata: BTreeMap<String, String>,
    user: String,
    safety_identifier: String,
    prompt_cache_key: String,
    prompt_cache_retention: String,
    prompt_cache_options: Value,
    service_tier: String,
    truncation: String,
    store: bool,
    include: Vec<String>,
    background: bool,
    previous_response_id: String,
    conversation: Value,
    prompt: Value,
    context_management: Value,
    moderation: Value,
    /// Extension: Bedrock Converse pass-through fields, as in chat.
    bedrock: BedrockExtra,
}

impl CreateResponseRequest {
    /// Whether the client asked for a streamed answer.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }
}

/// `input`: a string (one user message) or a list of items.
#[derive(Debug, Clone, PartialEq)]
pub enum InputParam {
    Text(String),
    Items(Vec<InputItem>),
}

/// One input item of any type (`message`, `function_call`, `function_call_output`, `reasoning`,
/// ...); which fields are allowed depends on `type` (or, for a bare message, `role`) and is
/// checked by `to_neutral`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InputItem {
    /// Absent on the "easy" message form `{"role", "content"}`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    pub role: Option<String>,
    /// Message content, or a reasoning item's `reasoning_text` parts.
    pub content: Option<ItemContent>,
    pub call_id: Option<String>,
    pub name: Option<String>,
    /// A `function_call`'s arguments as JSON text.
    pub arguments: Option<String>,
    /// A `function_call_output`'s result: a string or content parts.
    pub output: Option<ItemContent>,
    /// A `reasoning` item's summary parts.
    pub summary: Option<Vec<InputPart>>,
    /// A `reasoning` item's opaque continuation token (this gateway puts the provider's
    /// reasoning signature there).
    pub encrypted_content: Option<String>,
}

/// Content of a message (or a tool output): a string or typed parts.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemContent {
    Text(String),
    Parts(Vec<InputPart>),
}

/// One content part: `input_text`, `input_image`, `input_file`, `output_text`, `refusal`,
/// `summary_text`, `reasoning_text`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InputPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    /// `input_image`: a URL (only `data:` URLs are supported).
    pub image_url: Option<String>,
    pub file_id: Option<String>,
    /// `input_file`: a `data:` URL or bare base64.
    pub file_data: Option<String>,
    pub filename: Option<String>,
    pub file_url: Option<String>,
    pub refusal: Option<String>,
    /// Extension (as in chat): `{"type": "ephemeral"}` puts a cache point after the part.
    pub cache_control: Option<CacheControl>,
    /// OpenAI's explicit cache breakpoint; same effect as `cache_control`.
    pub prompt_cache_breakpoint: Option<Value>,
}

/// An entry of `tools`: a flat function tool, or a built-in tool type (refused).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseTool {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
    /// Extension: a cache point after this tool definition.
    pub cache_control: Option<CacheControl>,
}

/// `tool_choice`: `none` | `auto` | `required` | an object (`function`, `allowed_tools`, or a
/// built-in tool type).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ToolChoiceParam {
    Mode(String),
    Object(ToolChoiceObject),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ToolChoiceObject {
    #[serde(rename = "type")]
    pub kind: String,
    /// `function`: the function to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `allowed_tools`: `auto` or `required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `allowed_tools`: the tools the model may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<AllowedToolRef>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AllowedToolRef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl<'de> Deserialize<'de> for ToolChoiceParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;

        impl<'de> Visitor<'de> for ChoiceVisitor {
            type Value = ToolChoiceParam;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("'none', 'auto', 'required' or a tool choice object")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ToolChoiceParam::Mode(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ToolChoiceObject::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ToolChoiceParam::Object)
            }
        }

        deserializer.deserialize_any(ChoiceVisitor)
    }
}

/// `text`: output format and verbosity.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TextParam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// Accepted and echoed; Bedrock models have no verbosity control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// `text.format`: `text`, `json_object`, or `json_schema` (flat: name, schema, strict).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct TextFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `reasoning`: effort (mapped to the model family's thinking form) and summary preference.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ReasoningParam {
    pub effort: Option<String>,
    /// Accepted and echoed: Bedrock returns the reasoning text itself, which is what the
    /// gateway puts in the summary.
    pub summary: Option<String>,
    #[serde(skip_serializing)]
    pub generate_summary: Option<String>,
}

/// A string-or-array visitor shared by `input` and item content.
struct StringOrSeq<T>(std::marker::PhantomData<T>, &'static str);

impl<'de, T: Deserialize<'de>> Visitor<'de> for StringOrSeq<T> {
    type Value = Result<String, Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ok(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ok(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(item) = seq.next_element()? {
            all.push(item);
        }
        Ok(Err(all))
    }
}

impl<'de> Deserialize<'de> for InputParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = deserializer.deserialize_any(StringOrSeq::<InputItem>(
            std::marker::PhantomData,
            "a string or an array of input items",
        ))?;
        Ok(v.map_or_else(InputParam::Items, InputParam::Text))
    }
}

impl<'de> Deserialize<'de> for ItemContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = deserializer.deserialize_any(StringOrSeq::<InputPart>(
            std::marker::PhantomData,
            "a string or an array of content parts",
        ))?;
        Ok(v.map_or_else(ItemContent::Parts, ItemContent::Text))
    }
}
