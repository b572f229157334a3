//! Responses request → the same neutral `ChatRequest` chat completions produce: the top-level
//! parameters, and tools / tool choice / text format translated into chat's wire shapes so that
//! chat's validation (and Converse mapping) is the only copy.

use super::items;
use super::rebase;
use super::request::{CreateResponseRequest, ResponseTool, TextFormat, ToolChoiceParam};
use crate::chat::messages::missing;
use crate::chat::to_neutral::{
    check_top_logprobs, check_unknown, metadata, provider_extra, ranged, reasoning, refuse,
};
use crate::chat::tools::{convert_response_format, convert_tool_choice, convert_tools};
use crate::chat::{
    AllowedTools, ChatTool, FunctionDef, JsonSchemaFormat, NamedFunction, ResponseFormatParam,
    ToolChoiceObject as ChatChoiceObject, ToolChoiceOption,
};
use gomodel_core::chat::{
    ChatRequest, InferenceParams, ReasoningConfig, ResponseFormat, Tool, ToolChoice,
};
use gomodel_core::GatewayError;

/// `include` values that mean something here. Reasoning items always carry their signature in
/// `encrypted_content` (there is no server-side state to fall back on), so asking for it is a
/// no-op rather than an error.
const SUPPORTED_INCLUDES: &[&str] = &["reasoning.encrypted_content"];

/// Built-in (OpenAI-hosted) tool types: Bedrock cannot run them.
const BUILTIN_TOOLS: &[&str] = &[
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "web_search_2025_08_26",
    "file_search",
    "computer",
    "computer_use",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "apply_patch",
    "tool_search",
];

/// Validates the request and converts it; `upstream_model` is the provider's id after routing.
pub fn to_neutral(
    mut req: CreateResponseRequest,
    upstream_model: String,
) -> Result<ChatRequest, GatewayError> {
    check_unknown(&req.unknown)?;
    check_unsupported(&req)?;
    let Some(input) = req.input.take() else {
        return Err(missing("input"));
    };
    let inference = InferenceParams {
        max_tokens: max_output_tokens(req.max_output_tokens)?,
        temperature: ranged(req.temperature, "temperature", 0.0, 2.0)?,
        top_p: ranged(req.top_p, "top_p", 0.0, 1.0)?,
        parallel_tool_calls: req.parallel_tool_calls,
        ..InferenceParams::default()
    };
    let reasoning = reasoning_config(&req)?;
    let mut tools = tools(req.tools.unwrap_or_default())?;
    let tool_choice = tool_choice(req.tool_choice, &mut tools)?;
    let response_format = text_format(req.text.and_then(|t| t.format))?;
    let extra = provider_extra(req.bedrock)?;
    let metadata = metadata(req.metadata, req.user, req.safety_identifier);
    let conversation = items::convert(req.instructions, input)?;
    Ok(ChatRequest {
        model: upstream_model,
        system: conversation.system,
        messages: conversation.messages,
        inference,
        tools,
        tool_choice,
        response_format,
        reasoning,
        metadata,
        service_tier: req.service_tier,
        extra,
    })
}

/// Features that need server-side state or capabilities this gateway does not have: a clear 400
/// instead of a silently different answer.
fn check_unsupported(req: &CreateResponseRequest) -> Result<(), GatewayError> {
    if req.previous_response_id.is_some() {
        return refuse(
            "previous_response_id",
            "previous_response_id requires stored responses, which are not enabled in this gateway yet; send the whole conversation in 'input' instead.",
        );
    }
    if req.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return refuse(
            "conversation",
            "'conversation' requires stored conversations, which are not enabled in this gateway yet; send the whole conversation in 'input' instead.",
        );
    }
    if req.prompt.as_ref().is_some_and(|p| !p.is_null()) {
        return refuse(
            "prompt",
            "Stored prompt templates ('prompt') are not supported by this gateway; send 'instructions' and 'input' instead.",
        );
    }
    if req.background == Some(true) {
        return refuse(
            "background",
            "Background responses are not supported by this gateway yet; use 'stream': true for long answers.",
        );
    }
    if req
        .context_management
        .as_ref()
        .is_some_and(|c| !c.is_null())
    {
        return refuse(
            "context_management",
            "'context_management' (server-side compaction) is not supported by this gateway.",
        );
    }
    if req.moderation.as_ref().is_some_and(|m| !m.is_null()) {
        return refuse(
            "moderation",
            "'moderation' is not supported; use Bedrock guardrails via 'bedrock.guardrail_config'.",
        );
    }
    check_top_logprobs(req.top_logprobs)?;
    match req.truncation.as_deref() {
        // `auto` is accepted but nothing is truncated: an over-long input fails with the
        // provider's context-length 400, which is what `disabled` promises anyway.
        None | Some("disabled" | "auto") => {}
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "truncation",
                format!("Invalid value: '{other}'. Supported values are: 'auto' and 'disabled'."),
            ))
        }
    }
    for (i, value) in req.include.iter().flatten().enumerate() {
        if !SUPPORTED_INCLUDES.contains(&value.as_str()) {
            let why = if value == "message.output_text.logprobs" {
                "Bedrock models do not return log probabilities"
            } else {
                "it refers to a feature Bedrock models do not have"
            };
            return Err(GatewayError::invalid_param(
                format!("include[{i}]"),
                format!("Unsupported 'include' value '{value}': {why}. Supported values are: 'reasoning.encrypted_content'."),
            ));
        }
    }
    Ok(())
}

/// Accepts any positive value: OpenAI's floor of 16 is a property of its models, and Bedrock
/// models take smaller limits.
fn max_output_tokens(value: Option<i64>) -> Result<Option<u32>, GatewayError> {
    let Some(value) = value else {
        return Ok(None);
    };
    match u32::try_from(value) {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(GatewayError::invalid_param(
            "max_output_tokens",
            format!(
                "Invalid 'max_output_tokens': expected an integer between 1 and {}.",
                u32::MAX
            ),
        )),
    }
}

/// `reasoning.effort` (and the chat extension `thinking`) via chat's mapping, reported under the
/// Responses parameter name.
fn reasoning_config(req: &CreateResponseRequest) -> Result<Option<ReasoningConfig>, GatewayError> {
    let effort = req.reasoning.as_ref().and_then(|r| r.effort.as_deref());
    reasoning(effort, req.thinking.as_ref()).map_err(|e| {
        if e.param.as_deref() == Some("reasoning_effort") {
            e.with_param("reasoning.effort")
        } else {
            e
        }
    })
}

/// Function tools go through chat's validation (name pattern, schema defaults, cache points);
/// built-in tools are refused by name.
fn tools(tools: Vec<ResponseTool>) -> Result<Vec<Tool>, GatewayError> {
    let mut chat_tools = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        let p = format!("tools[{i}]");
        if tool.kind != "function" {
            return Err(unsupported_tool(&tool.kind, &format!("{p}.type")));
        }
        let Some(name) = tool.name else {
            return Err(missing(&format!("{p}.name")));
        };
        chat_tools.push(ChatTool {
            kind: tool.kind,
            function: Some(FunctionDef {
                name,
                description: tool.description,
                parameters: tool.parameters,
                strict: tool.strict,
            }),
            custom: None,
            cache_control: tool.cache_control,
        });
    }
    // Chat names `tools[i].function.x`; the Responses shape is flat.
    convert_tools(chat_tools).map_err(|e| match e.param.clone() {
        Some(param) => match param.split_once("].function.") {
            Some((head, _)) => {
                let head = format!("{head}]");
                rebase(e, &format!("{head}.function."), &format!("{head}."))
            }
            None => e,
        },
        None => e,
    })
}

fn unsupported_tool(kind: &str, param: &str) -> GatewayError {
    let message = if BUILTIN_TOOLS.contains(&kind) {
        format!("The built-in tool '{kind}' is not supported: Bedrock models cannot run OpenAI-hosted tools. Define it as a 'function' tool and run it yourself.")
    } else if kind == "custom" {
        "Custom tools are not supported by Bedrock models; use 'function' tools.".to_owned()
    } else {
        format!("Invalid value: '{kind}'. Supported values are: 'function'.")
    };
    GatewayError::invalid_param(param, message)
}

/// Translated into chat's `tool_choice` so that chat's resolution (including `allowed_tools`
/// narrowing the tool list) is the only copy; error paths are rebased onto the flat shape.
fn tool_choice(
    choice: Option<ToolChoiceParam>,
    tools: &mut Vec<Tool>,
) -> Result<Option<ToolChoice>, GatewayError> {
    let chat = match choice {
        None => return Ok(None),
        Some(ToolChoiceParam::Mode(mode)) => ToolChoiceOption::Mode(mode),
        Some(ToolChoiceParam::Object(obj)) => {
            let mut out = ChatChoiceObject {
                kind: obj.kind,
                function: None,
                custom: None,
                allowed_tools: None,
            };
            match out.kind.as_str() {
                "function" => {
                    let Some(name) = obj.name else {
                        return Err(missing("tool_choice.name"));
                    };
                    out.function = Some(NamedFunction { name });
                }
                "allowed_tools" => {
                    let Some(mode) = obj.mode else {
                        return Err(missing("tool_choice.mode"));
                    };
                    let Some(refs) = obj.tools else {
                        return Err(missing("tool_choice.tools"));
                    };
                    let mut allowed = Vec::with_capacity(refs.len());
                    for (i, r) in refs.into_iter().enumerate() {
                        if r.kind != "function" {
                            return Err(unsupported_tool(
                                &r.kind,
                                &format!("tool_choice.tools[{i}].type"),
                            ));
                        }
                        let Some(name) = r.name else {
                            return Err(missing(&format!("tool_choice.tools[{i}].name")));
                        };
                        allowed.push(ChatChoiceObject {
                            kind: r.kind,
                            function: Some(NamedFunction { name }),
                            custom: None,
                            allowed_tools: None,
                        });
                    }
                    out.allowed_tools = Some(AllowedTools {
                        mode,
                        tools: allowed,
                    });
                }
                other => return Err(unsupported_tool(other, "tool_choice.type")),
            }
            ToolChoiceOption::Object(out)
        }
    };
    convert_tool_choice(Some(chat), tools).map_err(|e| {
        let e = rebase(e, "tool_choice.allowed_tools.", "tool_choice.");
        let e = rebase(e, "].function.name", "].name");
        rebase(e, "tool_choice.function.name", "tool_choice.name")
    })
}

/// `text.format` (flat) → chat's `response_format` (nested under `json_schema`).
fn text_format(format: Option<TextFormat>) -> Result<Option<ResponseFormat>, GatewayError> {
    let Some(f) = format else {
        return Ok(None);
    };
    let json_schema = (f.kind == "json_schema").then_some(JsonSchemaFormat {
        name: f.name,
        description: f.description,
        schema: f.schema,
        strict: f.strict,
    });
    let chat = ResponseFormatParam {
        kind: f.kind,
        json_schema,
    };
    convert_response_format(Some(chat)).map_err(|e| {
        let e = rebase(e, "response_format.json_schema", "text.format");
        rebase(e, "response_format.", "text.format.")
    })
}
