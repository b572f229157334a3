//! `tools`, `tool_choice` and `response_format` → neutral.

use super::messages::{check_cache_control, missing};
use super::request::{ChatTool, ResponseFormatParam, ToolChoiceObject, ToolChoiceOption};
use gomodel_core::chat::{FunctionTool, ResponseFormat, Tool, ToolChoice};
use gomodel_core::GatewayError;
use serde_json::{json, Value};

pub(crate) fn convert_tools(tools: Vec<ChatTool>) -> Result<Vec<Tool>, GatewayError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        let p = format!("tools[{i}]");
        if tool.kind != "function" {
            let message = if tool.kind == "custom" {
                "Custom tools are not supported by Bedrock models; use 'function' tools.".to_owned()
            } else {
                format!(
                    "Invalid value: '{}'. Supported values are: 'function'.",
                    tool.kind
                )
            };
            return Err(GatewayError::invalid_param(format!("{p}.type"), message));
        }
        let Some(f) = tool.function else {
            return Err(missing(&format!("{p}.function")));
        };
        if !valid_tool_name(&f.name) {
            return Err(GatewayError::invalid_param(
                format!("{p}.function.name"),
                format!(
                    "Invalid '{p}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
                ),
            ));
        }
        let parameters = match f.parameters {
            // Bedrock requires an input schema; OpenAI treats a missing one as "no arguments".
            None => json!({"type": "object", "properties": {}}),
            Some(v @ Value::Object(_)) => v,
            Some(_) => {
                return Err(GatewayError::invalid_param(
                    format!("{p}.function.parameters"),
                    format!("Invalid type for '{p}.function.parameters': expected an object."),
                ))
            }
        };
        out.push(Tool::Function(FunctionTool {
            name: f.name,
            // Bedrock rejects an empty description; an absent one means the same.
            description: f.description.filter(|d| !d.is_empty()),
            parameters,
            strict: f.strict,
        }));
        if let Some(cc) = &tool.cache_control {
            check_cache_control(cc, &format!("{p}.cache_control"))?;
            out.push(Tool::CachePoint);
        }
    }
    Ok(out)
}

/// OpenAI's (and Bedrock's) tool name rule: `^[a-zA-Z0-9_-]{1,64}$`.
fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn has_tool(tools: &[Tool], name: &str) -> bool {
    tools
        .iter()
        .any(|t| matches!(t, Tool::Function(f) if f.name == name))
}

/// Resolves `tool_choice`; `allowed_tools` narrows `tools` in place.
pub(crate) fn convert_tool_choice(
    choice: Option<ToolChoiceOption>,
    tools: &mut Vec<Tool>,
) -> Result<Option<ToolChoice>, GatewayError> {
    let Some(choice) = choice else {
        return Ok(None);
    };
    let only_with_tools = || {
        GatewayError::invalid_param(
            "tool_choice",
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        )
    };
    let no_tools = !tools.iter().any(|t| matches!(t, Tool::Function(_)));
    match choice {
        ToolChoiceOption::Mode(mode) => match mode.as_str() {
            // Without tools, `none` and `auto` change nothing; Bedrock would reject a tool
            // choice with no tools, so it is dropped.
            "none" | "auto" if no_tools => Ok(None),
            "none" => Ok(Some(ToolChoice::None)),
            "auto" => Ok(Some(ToolChoice::Auto)),
            "required" if no_tools => Err(only_with_tools()),
            "required" => Ok(Some(ToolChoice::Any)),
            other => Err(GatewayError::invalid_param(
                "tool_choice",
                format!("Invalid value: '{other}'. Supported values are: 'none', 'auto' and 'required'."),
            )),
        },
        ToolChoiceOption::Object(obj) => {
            if no_tools {
                return Err(only_with_tools());
            }
            match obj.kind.as_str() {
                "function" => {
                    let name = named_function(&obj, "tool_choice")?;
                    if !has_tool(tools, &name) {
                        return Err(GatewayError::invalid_param(
                            "tool_choice.function.name",
                            format!("Invalid value for 'tool_choice': no function named '{name}' was specified in 'tools'."),
                        ));
                    }
                    Ok(Some(ToolChoice::Tool(name)))
                }
                "allowed_tools" => allowed_tools(obj, tools),
                "custom" => Err(GatewayError::invalid_param(
                    "tool_choice.type",
                    "Custom tools are not supported by Bedrock models; use 'function' tools.",
                )),
                other => Err(GatewayError::invalid_param(
                    "tool_choice.type",
                    format!("Invalid value: '{other}'. Supported values are: 'function' and 'allowed_tools'."),
                )),
            }
        }
    }
}

fn named_function(obj: &ToolChoiceObject, p: &str) -> Result<String, GatewayError> {
    match &obj.function {
        Some(f) => Ok(f.name.clone()),
        None => Err(missing(&format!("{p}.function"))),
    }
}

/// `allowed_tools` has no Converse counterpart, but the same effect: the model sees only the
/// allowed functions, with `auto` or `required` semantics.
fn allowed_tools(
    obj: ToolChoiceObject,
    tools: &mut Vec<Tool>,
) -> Result<Option<ToolChoice>, GatewayError> {
    let p = "tool_choice.allowed_tools";
    let Some(allowed) = obj.allowed_tools else {
        return Err(missing(p));
    };
    let choice = match allowed.mode.as_str() {
        "auto" => ToolChoice::Auto,
        "required" => ToolChoice::Any,
        other => {
            return Err(GatewayError::invalid_param(
                format!("{p}.mode"),
                format!("Invalid value: '{other}'. Supported values are: 'auto' and 'required'."),
            ))
        }
    };
    let mut names = Vec::with_capacity(allowed.tools.len());
    for (i, t) in allowed.tools.iter().enumerate() {
        let tp = format!("{p}.tools[{i}]");
        if t.kind != "function" {
            return Err(GatewayError::invalid_param(
                format!("{tp}.type"),
                format!(
                    "Invalid value: '{}'. Supported values are: 'function'.",
                    t.kind
                ),
            ));
        }
        let name = named_function(t, &tp)?;
        if !has_tool(tools, &name) {
            return Err(GatewayError::invalid_param(
                format!("{tp}.function.name"),
                format!("Invalid value: no function named '{name}' was specified in 'tools'."),
            ));
        }
        names.push(name);
    }
    // Cache points are kept only after a surviving tool, so they still mark a real prefix.
    let mut kept = Vec::with_capacity(tools.len());
    let mut last_kept = false;
    for tool in tools.drain(..) {
        match &tool {
            Tool::Function(f) => {
                last_kept = names.contains(&f.name);
                if last_kept {
                    kept.push(tool);
                }
            }
            Tool::CachePoint => {
                if last_kept {
                    kept.push(tool);
                }
            }
        }
    }
    *tools = kept;
    Ok(Some(choice))
}

pub(crate) fn convert_response_format(
    format: Option<ResponseFormatParam>,
) -> Result<Option<ResponseFormat>, GatewayError> {
    let Some(format) = format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(Some(ResponseFormat::Text)),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let p = "response_format.json_schema";
            let Some(js) = format.json_schema else {
                return Err(missing(p));
            };
            let Some(name) = js.name else {
                return Err(missing(&format!("{p}.name")));
            };
            let schema = match js.schema {
                // The spec makes `schema` optional; an empty schema admits any JSON object.
                None => json!({"type": "object"}),
                Some(v @ Value::Object(_)) => v,
                Some(_) => {
                    return Err(GatewayError::invalid_param(
                        format!("{p}.schema"),
                        format!("Invalid type for '{p}.schema': expected an object."),
                    ))
                }
            };
            Ok(Some(ResponseFormat::JsonSchema {
                name,
                description: js.description,
                schema,
                strict: js.strict,
            }))
        }
        other => Err(GatewayError::invalid_param(
            "response_format.type",
            format!("Invalid value: '{other}'. Supported values are: 'text', 'json_object' and 'json_schema'."),
        )),
    }
}
