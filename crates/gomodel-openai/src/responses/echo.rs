//! The request fields a `Response` object repeats. The spec requires several of them
//! (`instructions`, `tools`, `tool_choice`, `temperature`, `top_p`, `parallel_tool_calls`,
//! `metadata`), so they are captured from the request before `to_neutral` consumes it.

use super::request::{
    CreateResponseRequest, ReasoningParam, TextFormat, TextParam, ToolChoiceParam,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestEcho {
    pub instructions: Option<String>,
    pub tools: Vec<FunctionToolEcho>,
    /// `auto` when the client sent none, as OpenAI reports it.
    pub tool_choice: ToolChoiceParam,
    /// `null` when the client sent none: the upstream model's default applies, which the
    /// gateway does not know.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub parallel_tool_calls: bool,
    pub metadata: BTreeMap<String, String>,
    pub text: TextParam,
    pub reasoning: Option<ReasoningParam>,
    pub max_output_tokens: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tool_calls: Option<i64>,
    pub truncation: String,
    /// `false` here; the server sets it to whether it actually stored the response (`store`
    /// defaults to true when usage storage is on, as OpenAI's does).
    pub store: bool,
    pub background: bool,
    /// Always `null` (a request with one is refused).
    pub previous_response_id: Option<String>,
    pub service_tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
}

/// A function tool as the `Response` object lists it (`FunctionTool`: `strict` and
/// `parameters` are required, nullable).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionToolEcho {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

impl RequestEcho {
    pub fn new(req: &CreateResponseRequest) -> Self {
        let tools = req
            .tools
            .iter()
            .flatten()
            .filter(|t| t.kind == "function")
            .map(|t| FunctionToolEcho {
                kind: "function",
                name: t.name.clone().unwrap_or_default(),
                description: t.description.clone(),
                parameters: t.parameters.clone(),
                strict: t.strict,
            })
            .collect();
        RequestEcho {
            instructions: req.instructions.clone(),
            tools,
            tool_choice: req
                .tool_choice
                .clone()
                .unwrap_or_else(|| ToolChoiceParam::Mode("auto".to_owned())),
            temperature: req.temperature,
            top_p: req.top_p,
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            metadata: req.metadata.clone().unwrap_or_default(),
            text: text(req.text.as_ref()),
            reasoning: req.reasoning.clone(),
            max_output_tokens: req.max_output_tokens,
            max_tool_calls: req.max_tool_calls,
            truncation: req
                .truncation
                .clone()
                .unwrap_or_else(|| "disabled".to_owned()),
            store: false,
            background: false,
            previous_response_id: None,
            service_tier: req.service_tier.clone(),
            user: req.user.clone(),
            safety_identifier: req.safety_identifier.clone(),
            prompt_cache_key: req.prompt_cache_key.clone(),
        }
    }
}

/// `text` with the format OpenAI reports by default (`{"type": "text"}`); a `json_schema`
/// without a schema is shown with the permissive schema chat substitutes for it.
fn text(param: Option<&TextParam>) -> TextParam {
    let mut text = param.cloned().unwrap_or_default();
    let format = text.format.get_or_insert_with(|| TextFormat {
        kind: "text".to_owned(),
        name: None,
        description: None,
        schema: None,
        strict: None,
    });
    if format.kind == "json_schema" && format.schema.is_none() {
        format.schema = Some(json!({"type": "object"}));
    }
    text
}
