//! Neutral [`ChatRequest`] → Converse request body. Pure, and by value: strings, JSON values and
//! byte buffers move into the wire types without copies.
//!
//! | neutral | Converse |
//! |---|---|
//! | `system` | `system` (empty texts dropped: Bedrock rejects blank blocks) |
//! | `messages` | `messages` with content blocks |
//! | `max_tokens`, `temperature`, `top_p`, `stop` | `inferenceConfig` |
//! | `tools`, `tool_choice` | `toolConfig` (see [`tool_config`]) |
//! | `response_format` json_schema | `outputConfig.textFormat` (json_schema) |
//! | `response_format` json_object | a system instruction (Converse has no schema-less JSON mode) |
//! | `reasoning` (Anthropic) | `additionalModelRequestFields.thinking` |
//! | `metadata` | `requestMetadata` |
//! | `service_tier` | `serviceTier` |
//! | `extra.*` | `additionalModelRequestFields`, `additionalModelResponseFieldPaths`, `guardrailConfig`, `performanceConfig` |
//!
//! What Converse cannot express (`seed`, non-zero penalties) is a 400 naming the parameter rather
//! than a silent drop.

use super::structured;
use crate::capabilities::{self, Capabilities, ReasoningForm};
use crate::wire::converse as w;
use crate::wire::{Blob, Empty};
use gomodel_core::chat::{
    ChatRequest, ContentBlock, FunctionTool, InferenceParams, Message, ReasoningConfig,
    ReasoningEffort, ResponseFormat, Role, SystemBlock, Tool, ToolChoice, ToolResultContent,
};
use gomodel_core::GatewayError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A translated call: the model id for the URL path and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseCall {
    pub model_id: String,
    pub body: w::ConverseRequest,
    /// The tool that carries `response_format` json_schema for a model without
    /// `outputConfig`; its call in the answer is message text (see [`super::structured`]).
    pub structured_tool: Option<String>,
}

/// Anthropic thinking budget for each `reasoning_effort` (Anthropic's minimum budget is 1024).
pub const EFFORT_BUDGETS: [(ReasoningEffort, u32); 4] = [
    (ReasoningEffort::Minimal, 1024),
    (ReasoningEffort::Low, 1024),
    (ReasoningEffort::Medium, 4096),
    (ReasoningEffort::High, 16384),
];

/// Anthropic rejects thinking budgets below this.
const MIN_THINKING_BUDGET: u32 = 1024;

/// With thinking on and no `max_tokens`, room left for the answer after the thinking budget
/// (Anthropic counts thinking inside `max_tokens` and requires `max_tokens > budget_tokens`).
const ANSWER_TOKENS_AFTER_THINKING: u32 = 4096;

/// The instruction that stands in for OpenAI's `response_format: json_object`.
pub const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object and nothing else: no prose, no code fences.";

/// `requestMetadata` limits from the service model.
const METADATA_MAX_ENTRIES: usize = 16;
const METADATA_MAX_LEN: usize = 256;

/// Translates a neutral request into a Converse call.
pub fn to_converse(req: ChatRequest) -> Result<ConverseCall, GatewayError> {
    let ChatRequest {
        model,
        system,
        messages,
        inference,
        tools,
        tool_choice,
        response_format,
        reasoning,
        metadata,
        service_tier,
        extra,
    } = req;

    let caps = capabilities::of(&model);
    let native_sampling = sampling_fields(&inference, caps)?;
    check_content(&messages, &tools, tool_choice.as_ref(), caps)?;

    let mut system: Vec<w::SystemContentBlock> =
        system.into_iter().filter_map(system_block).collect();

    let mut history = ToolHistory::default();
    let mut messages = messages
        .into_iter()
        .map(|m| message(m, &mut history))
        .collect::<Result<Vec<_>, _>>()?;

    let mut tools = tools;
    let mut tool_choice = tool_choice;
    let mut structured_tool = None;
    let mut output_config = None;
    match response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            system.push(w::SystemContentBlock::Text(
                JSON_OBJECT_INSTRUCTION.to_owned(),
            ));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        }) if !caps.output_config => {
            let name = forced_schema_tool(
                caps,
                &mut tools,
                &mut tool_choice,
                FunctionTool {
                    name,
                    description,
                    parameters: schema,
                    strict,
                },
            )?;
            structured_tool = Some(name);
        }
        Some(ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict: _, // Bedrock's structured output is always enforced; there is no lax mode.
        }) => {
            let schema = serde_json::to_string(&schema).map_err(|e| {
                GatewayError::invalid_param("response_format", format!("invalid JSON schema: {e}"))
            })?;
            output_config = Some(w::OutputConfig {
                text_format: Some(w::OutputFormat {
                    kind: "json_schema".to_owned(),
                    structure: w::OutputFormatStructure::JsonSchema(w::JsonSchemaDefinition {
                        schema,
                        name: Some(name).filter(|n| !n.is_empty()),
                        description: description.filter(|d| !d.is_empty()),
                    }),
                }),
                effort: None,
            });
        }
    }

    let tool_config = tool_config(tools, tool_choice, &history)?;
    if !caps.system && !system.is_empty() {
        fold_system_into_first_turn(std::mem::take(&mut system), &mut messages);
    }

    let mut additional = match extra.additional_model_request_fields {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(GatewayError::invalid_param(
                "additionalModelRequestFields",
                "additionalModelRequestFields must be a JSON object",
            ))
        }
    };

    if let Some(fields) = native_sampling {
        let map = additional.get_or_insert_with(Map::new);
        for (k, v) in fields {
            map.entry(k).or_insert(v);
        }
    }
    let mut inference_config = inference_config(inference)?;
    if let Some(reasoning) = reasoning {
        apply_reasoning(
            &model,
            caps,
            reasoning,
            &mut inference_config,
            additional.get_or_insert_with(Map::new),
            &mut output_config,
        )?;
    }

    let guardrail_config = extra
        .guardrail_config
        .filter(|v| !v.is_null())
        .map(|v| {
            serde_json::from_value::<w::GuardrailConfiguration>(v).map_err(|e| {
                GatewayError::invalid_param(
                    "guardrailConfig",
                    format!("invalid guardrailConfig: {e}"),
                )
            })
        })
        .transpose()?;
    let performance_config = extra
        .performance_config
        .filter(|v| !v.is_null())
        .map(|v| {
            serde_json::from_value::<w::PerformanceConfiguration>(v).map_err(|e| {
                GatewayError::invalid_param(
                    "performanceConfig",
                    format!("invalid performanceConfig: {e}"),
                )
            })
        })
        .transpose()?;

    let body = w::ConverseRequest {
        messages,
        system,
        inference_config: Some(inference_config).filter(|c| !c.is_empty()),
        tool_config,
        guardrail_config,
        additional_model_request_fields: additional.filter(|m| !m.is_empty()).map(Value::Object),
        additional_model_response_field_paths: extra.additional_model_response_field_paths,
        request_metadata: request_metadata(metadata)?,
        performance_config,
        service_tier: service_tier_of(service_tier)?,
        output_config,
    };
    Ok(ConverseCall {
        model_id: model,
        body,
        structured_tool,
    })
}

/// Whether ConverseStream can carry the call: some families take tools only in Converse.
pub fn streams_tools(call: &ConverseCall) -> bool {
    call.body.tool_config.is_none() || capabilities::of(&call.model_id).stream_tools
}

/// `temperature` within the family's range, and `seed` / penalties as native fields where the
/// family takes them (returned for `additionalModelRequestFields`), else a 400 naming them.
fn sampling_fields(
    p: &InferenceParams,
    caps: &Capabilities,
) -> Result<Option<Vec<(String, Value)>>, GatewayError> {
    if let (Some(t), Some(max)) = (p.temperature, caps.max_temperature) {
        if t > max {
            return Err(GatewayError::invalid_param(
                "temperature",
                format!(
                    "{} models on Bedrock accept a temperature from 0 to {max} (got {t})",
                    caps.family
                ),
            ));
        }
    }
    // Zero is the neutral value that many clients send by default; only real penalties count.
    let penalties = [
        (
            "frequency_penalty",
            p.frequency_penalty.filter(|v| *v != 0.0),
        ),
        ("presence_penalty", p.presence_penalty.filter(|v| *v != 0.0)),
    ];
    let mut fields = Vec::new();
    if let Some(seed) = p.seed {
        fields.push(("seed", json!(seed)));
    }
    for (param, value) in penalties {
        if let Some(v) = value {
            fields.push((param, json!(v)));
        }
    }
    match fields.first() {
        None => Ok(None),
        Some(_) if caps.native_sampling => Ok(Some(
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        )),
        Some((param, _)) => Err(GatewayError::invalid_param(
            *param,
            format!(
                "{param} is not supported by {} on Amazon Bedrock; remove it{}",
                caps.family,
                if *param == "seed" {
                    ""
                } else {
                    " or set it to 0"
                }
            ),
        )),
    }
}

/// Refuses input the family cannot take: images, documents, tools, forced tool choice.
fn check_content(
    messages: &[Message],
    tools: &[Tool],
    choice: Option<&ToolChoice>,
    caps: &Capabilities,
) -> Result<(), GatewayError> {
    let has = |f: fn(&ContentBlock) -> bool| messages.iter().flat_map(|m| &m.content).any(f);
    let refuse = |param: &str, what: &str| {
        Err(GatewayError::invalid_param(
            param,
            format!("{} models on Bedrock do not support {what}", caps.family),
        ))
    };
    if !caps.images
        && has(|b| {
            matches!(
                b,
                ContentBlock::Image { .. } | ContentBlock::ImageUrl { .. }
            )
        })
    {
        return refuse("messages", "image input");
    }
    if !caps.documents && has(|b| matches!(b, ContentBlock::Document { .. })) {
        return refuse("messages", "document input");
    }
    if !caps.tools && tools.iter().any(|t| matches!(t, Tool::Function(_))) {
        return refuse("tools", "tool use");
    }
    if !caps.forced_tool && matches!(choice, Some(ToolChoice::Any | ToolChoice::Tool(_))) {
        return refuse(
            "tool_choice",
            "forcing a tool call (tool_choice \"required\" or a named function); use \"auto\"",
        );
    }
    Ok(())
}

/// For families that reject `system`: the instructions lead the first user turn instead, which
/// is how their own prompt formats place them.
fn fold_system_into_first_turn(system: Vec<w::SystemContentBlock>, messages: &mut [w::Message]) {
    let Some(first) = messages.first_mut() else {
        return;
    };
    let texts: Vec<String> = system
        .into_iter()
        .filter_map(|b| match b {
            w::SystemContentBlock::Text(t) => Some(t),
            // A cache point has no place of its own in a user turn before its text.
            _ => None,
        })
        .collect();
    if !texts.is_empty() {
        first
            .content
            .insert(0, w::ContentBlock::Text(texts.join("\n\n")));
    }
}

/// `response_format` json_schema for a model without `outputConfig`: a tool whose input
/// schema is the response schema, forced when the request has no tools of its own (with
/// tools, the model must call one of them or the schema tool). Returns the tool's name.
fn forced_schema_tool(
    caps: &Capabilities,
    tools: &mut Vec<Tool>,
    choice: &mut Option<ToolChoice>,
    schema: FunctionTool,
) -> Result<String, GatewayError> {
    if !caps.tools || !caps.forced_tool {
        return Err(GatewayError::invalid_param(
            "response_format",
            format!(
                "{} models on Bedrock support neither structured output nor forced tool use; use response_format json_object or text",
                caps.family
            ),
        ));
    }
    let valid = !schema.name.is_empty()
        && schema.name.len() <= 64
        && schema
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let name = if valid {
        schema.name.clone()
    } else {
        structured::DEFAULT_TOOL_NAME.to_owned()
    };
    let clash = tools
        .iter()
        .any(|t| matches!(t, Tool::Function(f) if f.name == name));
    if clash {
        return Err(GatewayError::invalid_param(
            "response_format",
            format!("the response_format schema name `{name}` is also the name of a tool; rename one of them"),
        ));
    }
    let own_tools = tools.iter().any(|t| matches!(t, Tool::Function(_)));
    match choice {
        Some(ToolChoice::Tool(_)) | Some(ToolChoice::None) => {}
        _ if own_tools => *choice = Some(ToolChoice::Any),
        _ => *choice = Some(ToolChoice::Tool(name.clone())),
    }
    tools.push(Tool::Function(FunctionTool {
        name: name.clone(),
        description: Some(
            schema
                .description
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "Respond with the final answer as this JSON object.".to_owned()),
        ),
        ..schema
    }));
    Ok(name)
}

fn inference_config(p: InferenceParams) -> Result<w::InferenceConfiguration, GatewayError> {
    if p.max_tokens == Some(0) {
        return Err(GatewayError::invalid_param(
            "max_tokens",
            "max_tokens must be at least 1",
        ));
    }
    // `parallel_tool_calls` has no Converse counterpart; `true` is the default behaviour and
    // `false` is a hint we cannot enforce, so it is not an error (agent frameworks send it).
    let _ = p.parallel_tool_calls;
    Ok(w::InferenceConfiguration {
        max_tokens: p.max_tokens,
        temperature: p.temperature,
        top_p: p.top_p,
        stop_sequences: p.stop.into_iter().filter(|s| !s.is_empty()).collect(),
    })
}

fn system_block(b: SystemBlock) -> Option<w::SystemContentBlock> {
    match b {
        SystemBlock::Text(t) if t.is_empty() => None,
        SystemBlock::Text(t) => Some(w::SystemContentBlock::Text(t)),
        SystemBlock::CachePoint => Some(w::SystemContentBlock::CachePoint(
            w::CachePointBlock::default_point(),
        )),
    }
}

/// Tool use seen in the conversation: Bedrock requires `toolConfig` whenever messages carry
/// `toolUse` / `toolResult` blocks.
#[derive(Debug, Default)]
struct ToolHistory {
    present: bool,
    names: Vec<String>,
}

fn message(m: Message, history: &mut ToolHistory) -> Result<w::Message, GatewayError> {
    let role = match m.role {
        Role::User => w::ConversationRole::User,
        Role::Assistant => w::ConversationRole::Assistant,
    };
    // An empty text next to other blocks (an assistant turn with only tool calls, say) is an
    // artefact of the OpenAI shape; Bedrock rejects blank text blocks.
    let only_block = m.content.len() == 1;
    let content = m
        .content
        .into_iter()
        .filter(|b| only_block || !matches!(b, ContentBlock::Text(t) if t.is_empty()))
        .map(|b| content_block(b, history))
        .collect::<Result<_, _>>()?;
    Ok(w::Message { role, content })
}

fn content_block(
    b: ContentBlock,
    history: &mut ToolHistory,
) -> Result<w::ContentBlock, GatewayError> {
    Ok(match b {
        ContentBlock::Text(t) => w::ContentBlock::Text(t),
        ContentBlock::Image { format, bytes } => w::ContentBlock::Image(image(format, bytes)),
        ContentBlock::Document {
            format,
            name,
            bytes,
        } => w::ContentBlock::Document(w::DocumentBlock {
            format: Some(format),
            name,
            source: w::DocumentSource::Bytes(Blob(bytes)),
            context: None,
            citations: None,
        }),
        ContentBlock::ToolUse { id, name, input } => {
            history.present = true;
            if !history.names.contains(&name) {
                history.names.push(name.clone());
            }
            w::ContentBlock::ToolUse(w::ToolUseBlock {
                tool_use_id: id,
                name,
                // Converse wants a JSON document; a call without arguments is `{}`.
                input: if input.is_null() { json!({}) } else { input },
                kind: None,
            })
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            history.present = true;
            w::ContentBlock::ToolResult(w::ToolResultBlock {
                tool_use_id,
                content: content
                    .into_iter()
                    .map(|c| match c {
                        ToolResultContent::Text(t) => w::ToolResultContentBlock::Text(t),
                        ToolResultContent::Json(v) => w::ToolResultContentBlock::Json(v),
                        ToolResultContent::Image { format, bytes } => {
                            w::ToolResultContentBlock::Image(image(format, bytes))
                        }
                    })
                    .collect(),
                // Only sent for errors: `status` is a Claude-only member that other models reject.
                status: is_error.then(|| "error".to_owned()),
                kind: None,
            })
        }
        ContentBlock::Reasoning { text, signature } => w::ContentBlock::ReasoningContent(
            w::ReasoningContentBlock::ReasoningText(w::ReasoningTextBlock { text, signature }),
        ),
        ContentBlock::RedactedReasoning(bytes) => w::ContentBlock::ReasoningContent(
            w::ReasoningContentBlock::RedactedContent(Blob(bytes)),
        ),
        ContentBlock::CachePoint => {
            w::ContentBlock::CachePoint(w::CachePointBlock::default_point())
        }
        // `fetch::resolve_image_urls` runs before translation; reaching this is a gateway bug.
        ContentBlock::ImageUrl { param, .. } => {
            return Err(GatewayError::internal(format!(
                "the image URL at {param} was not fetched before translation"
            )))
        }
    })
}

fn image(format: gomodel_core::chat::ImageFormat, bytes: bytes::Bytes) -> w::ImageBlock {
    w::ImageBlock {
        format: format.as_str().to_owned(),
        source: w::ImageSource::Bytes(Blob(bytes)),
    }
}

/// Tools and tool choice → `toolConfig`.
///
/// - `auto` (or unset) with tools → the tools, no `toolChoice` (auto is Bedrock's default, and
///   models without tool-choice support reject an explicit one);
/// - `required` → `any`; a named tool → `tool` (it must be among the tools);
/// - `none` → no tools offered, unless the conversation already contains tool calls: then
///   Bedrock insists on a `toolConfig`, so the tools go along without a `toolChoice`;
/// - tool calls in the history but no tools in the request → a minimal spec per tool name
///   used, so Bedrock accepts the history.
fn tool_config(
    tools: Vec<Tool>,
    choice: Option<ToolChoice>,
    history: &ToolHistory,
) -> Result<Option<w::ToolConfiguration>, GatewayError> {
    let tools: Vec<w::Tool> = tools.into_iter().map(tool).collect();
    let has_functions = tools.iter().any(|t| matches!(t, w::Tool::ToolSpec(_)));
    let offer_tools = !matches!(choice, Some(ToolChoice::None)) || history.present;

    let wire_choice = match choice {
        None | Some(ToolChoice::Auto) | Some(ToolChoice::None) => None,
        Some(ToolChoice::Any) => Some(w::ToolChoice::Any(Empty {})),
        Some(ToolChoice::Tool(name)) => {
            let known = tools
                .iter()
                .any(|t| matches!(t, w::Tool::ToolSpec(s) if s.name == name));
            if !known {
                return Err(GatewayError::invalid_param(
                    "tool_choice",
                    format!("tool_choice names the function `{name}`, which is not among the request's tools"),
                ));
            }
            Some(w::ToolChoice::Tool(w::SpecificToolChoice { name }))
        }
    };
    if wire_choice.is_some() && !has_functions {
        return Err(GatewayError::invalid_param(
            "tool_choice",
            "tool_choice requires at least one tool in `tools`",
        ));
    }

    if has_functions && offer_tools {
        return Ok(Some(w::ToolConfiguration {
            tools,
            tool_choice: wire_choice,
        }));
    }
    if history.present && !history.names.is_empty() {
        return Ok(Some(w::ToolConfiguration {
            tools: history
                .names
                .iter()
                .map(|name| {
                    w::Tool::ToolSpec(w::ToolSpecification {
                        name: name.clone(),
                        description: Some(format!(
                            "The `{name}` tool used earlier in this conversation."
                        )),
                        input_schema: w::ToolInputSchema::Json(json!({"type": "object"})),
                        strict: None,
                    })
                })
                .collect(),
            tool_choice: None,
        }));
    }
    Ok(None)
}

fn tool(t: Tool) -> w::Tool {
    match t {
        Tool::Function(f) => w::Tool::ToolSpec(w::ToolSpecification {
            name: f.name,
            description: f.description.filter(|d| !d.is_empty()),
            // OpenAI allows a function without `parameters`; Converse needs an object schema.
            input_schema: w::ToolInputSchema::Json(if f.parameters.is_null() {
                json!({"type": "object", "properties": {}})
            } else {
                f.parameters
            }),
            strict: f.strict,
        }),
        Tool::CachePoint => w::Tool::CachePoint(w::CachePointBlock::default_point()),
    }
}

fn effort_budget(effort: ReasoningEffort) -> u32 {
    EFFORT_BUDGETS
        .iter()
        .find(|(e, _)| *e == effort)
        .map_or(MIN_THINKING_BUDGET, |(_, b)| *b)
}

/// Reasoning in the family's form: adaptive effort (`outputConfig.effort`), Anthropic extended
/// thinking (`additionalModelRequestFields.thinking`) or Nova's `reasoningConfig`. Other vendors spell
/// reasoning differently per model, so they get a 400 pointing at the pass-through instead of a
/// guess. A `thinking` object the client passed through explicitly wins.
fn apply_reasoning(
    model: &str,
    caps: &Capabilities,
    reasoning: ReasoningConfig,
    inference: &mut w::InferenceConfiguration,
    additional: &mut Map<String, Value>,
    output: &mut Option<w::OutputConfig>,
) -> Result<(), GatewayError> {
    if let Some(effort) = adaptive_effort(caps, reasoning) {
        output.get_or_insert_with(w::OutputConfig::default).effort = Some(effort.to_owned());
        return Ok(());
    }
    let (budget, param) = match (reasoning.budget_tokens, reasoning.effort) {
        (Some(b), _) => (b, "reasoning.budget_tokens"),
        (None, Some(e)) => (effort_budget(e), "reasoning_effort"),
        (None, None) => return Ok(()),
    };
    match caps.reasoning {
        ReasoningForm::AnthropicBudget | ReasoningForm::AnthropicEffort => {}
        ReasoningForm::Builtin => return Ok(()),
        ReasoningForm::NovaEffort => {
            nova_reasoning(reasoning, additional);
            return Ok(());
        }
        ReasoningForm::None => {
            return Err(GatewayError::invalid_param(
                param,
                format!(
                    "{} models on Bedrock have no reasoning setting the gateway can translate; for `{model}` pass the model's own reasoning fields in additionalModelRequestFields",
                    caps.family
                ),
            ))
        }
    }
    // Anthropic fixes sampling while thinking: temperature 1, top_p from 0.95.
    if inference.temperature.is_some_and(|t| t != 1.0) {
        return Err(GatewayError::invalid_param(
            "temperature",
            "with extended thinking, Claude takes only temperature 1; remove temperature or set it to 1",
        ));
    }
    if inference.top_p.is_some_and(|p| p < 0.95) {
        return Err(GatewayError::invalid_param(
            "top_p",
            "with extended thinking, Claude takes top_p from 0.95 to 1; remove top_p or raise it",
        ));
    }
    if additional.contains_key("thinking") {
        return Ok(());
    }
    if budget < MIN_THINKING_BUDGET {
        return Err(GatewayError::invalid_param(
            param,
            format!(
                "the thinking budget must be at least {MIN_THINKING_BUDGET} tokens (got {budget})"
            ),
        ));
    }
    match inference.max_tokens {
        Some(max) if max <= budget => {
            return Err(GatewayError::invalid_param(
                "max_tokens",
                format!(
                    "max_tokens ({max}) must be greater than the thinking budget ({budget} tokens), which it includes"
                ),
            ))
        }
        Some(_) => {}
        None => inference.max_tokens = Some(budget.saturating_add(ANSWER_TOKENS_AFTER_THINKING)),
    }
    additional.insert(
        "thinking".to_owned(),
        json!({"type": "enabled", "budget_tokens": budget}),
    );
    Ok(())
}

/// The `outputConfig.effort` level for a family that takes adaptive effort, when the client
/// gave an effort and no explicit budget (a budget asks for extended thinking instead). Without
/// thinking Bedrock caps effort at `high`, which is also OpenAI's highest level.
fn adaptive_effort(caps: &Capabilities, reasoning: ReasoningConfig) -> Option<&'static str> {
    if caps.reasoning != ReasoningForm::AnthropicEffort || reasoning.budget_tokens.is_some() {
        return None;
    }
    Some(match reasoning.effort? {
        ReasoningEffort::Minimal | ReasoningEffort::Low => "low",
        ReasoningEffort::Medium => "medium",
        ReasoningEffort::High => "high",
    })
}

/// Amazon Nova 2 reasoning: `reasoningConfig` with an effort level (Nova has no token budget,
/// so a budget maps to the nearest effort). A `reasoningConfig` passed through wins.
fn nova_reasoning(reasoning: ReasoningConfig, additional: &mut Map<String, Value>) {
    if additional.contains_key("reasoningConfig") {
        return;
    }
    let effort = match (reasoning.budget_tokens, reasoning.effort) {
        (Some(b), _) if b <= 1024 => "low",
        (Some(b), _) if b <= 8192 => "medium",
        (Some(_), _) => "high",
        (None, Some(ReasoningEffort::Minimal | ReasoningEffort::Low)) => "low",
        (None, Some(ReasoningEffort::Medium)) => "medium",
        (None, _) => "high",
    };
    additional.insert(
        "reasoningConfig".to_owned(),
        json!({"type": "enabled", "maxReasoningEffort": effort}),
    );
}

fn request_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, GatewayError> {
    if metadata.len() > METADATA_MAX_ENTRIES {
        return Err(GatewayError::invalid_param(
            "metadata",
            format!(
                "Bedrock accepts at most {METADATA_MAX_ENTRIES} metadata entries (got {})",
                metadata.len()
            ),
        ));
    }
    for (k, v) in &metadata {
        if k.is_empty() || k.len() > METADATA_MAX_LEN || !k.chars().all(metadata_char) {
            return Err(GatewayError::invalid_param(
                "metadata",
                format!("metadata key `{k}` must be 1-256 characters of letters, digits, spaces and :_@$#=/+,-."),
            ));
        }
        if v.len() > METADATA_MAX_LEN || !v.chars().all(metadata_char) {
            return Err(GatewayError::invalid_param(
                "metadata",
                format!("metadata value for `{k}` must be at most 256 characters of letters, digits, spaces and :_@$#=/+,-."),
            ));
        }
    }
    Ok(metadata)
}

/// `[a-zA-Z0-9\s:_@$#=/+,-.]` from the service model.
fn metadata_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || ":_@$#=/+,-.".contains(c)
}

fn service_tier_of(tier: Option<String>) -> Result<Option<w::ServiceTier>, GatewayError> {
    let Some(tier) = tier else { return Ok(None) };
    let kind = match tier.as_str() {
        // OpenAI's `auto` lets the provider pick: Bedrock's default.
        "auto" => return Ok(None),
        "default" | "priority" | "flex" | "reserved" => tier,
        other => {
            return Err(GatewayError::invalid_param(
                "service_tier",
                format!("service_tier `{other}` is not available on Bedrock; use auto, default, priority, flex or reserved"),
            ))
        }
    };
    Ok(Some(w::ServiceTier { kind }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use gomodel_core::chat::{FunctionTool, ImageFormat, ProviderExtra};

    const CLAUDE: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn user(text: &str) -> Message {
        Message {
            role: Role::User,
            content: vec![ContentBlock::Text(text.into())],
        }
    }

    fn base() -> ChatRequest {
        ChatRequest {
            model: CLAUDE.into(),
            messages: vec![user("hi")],
            ..Default::default()
        }
    }

    fn person_schema() -> Option<ResponseFormat> {
        Some(ResponseFormat::JsonSchema {
            name: "person".into(),
            description: Some("a person".into()),
            schema: json!({"type": "object"}),
            strict: Some(true),
        })
    }

    fn effort(e: ReasoningEffort) -> Option<ReasoningConfig> {
        Some(ReasoningConfig {
            effort: Some(e),
            budget_tokens: None,
        })
    }

    fn body(req: ChatRequest) -> Value {
        let call = to_converse(req).unwrap();
        serde_json::to_value(&call.body).unwrap()
    }

    fn func(name: &str) -> Tool {
        Tool::Function(FunctionTool {
            name: name.into(),
            description: Some("d".into()),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
            strict: None,
        })
    }

    fn tool_history() -> Vec<Message> {
        vec![
            user("weather?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text(String::new()),
                    ContentBlock::ToolUse {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        input: Value::Null,
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "call_1".into(),
                    content: vec![ToolResultContent::Text("sunny".into())],
                    is_error: false,
                }],
            },
        ]
    }

    #[test]
    fn maps_each_part_of_the_request() {
        // (name, request, expected JSON body)
        let cases: Vec<(&str, ChatRequest, Value)> = vec![
            (
                "minimal",
                base(),
                json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
            ),
            (
                "system and inference",
                ChatRequest {
                    system: vec![
                        SystemBlock::Text("be brief".into()),
                        SystemBlock::Text(String::new()),
                        SystemBlock::CachePoint,
                    ],
                    inference: InferenceParams {
                        max_tokens: Some(100),
                        temperature: Some(0.5),
                        top_p: Some(0.9),
                        stop: vec!["END".into(), String::new()],
                        frequency_penalty: Some(0.0),
                        presence_penalty: Some(0.0),
                        parallel_tool_calls: Some(false),
                        seed: None,
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "system": [{"text": "be brief"}, {"cachePoint": {"type": "default"}}],
                    "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.8999999761581421, "stopSequences": ["END"]}
                }),
            ),
            (
                "multimodal content",
                ChatRequest {
                    messages: vec![Message {
                        role: Role::User,
                        content: vec![
                            ContentBlock::Text("look".into()),
                            ContentBlock::Image {
                                format: ImageFormat::Png,
                                bytes: Bytes::from_static(b"png"),
                            },
                            ContentBlock::Document {
                                format: "pdf".into(),
                                name: "doc".into(),
                                bytes: Bytes::from_static(b"pdf"),
                            },
                            ContentBlock::CachePoint,
                        ],
                    }],
                    ..base()
                },
                json!({"messages": [{"role": "user", "content": [
                    {"text": "look"},
                    {"image": {"format": "png", "source": {"bytes": "cG5n"}}},
                    {"document": {"format": "pdf", "name": "doc", "source": {"bytes": "cGRm"}}},
                    {"cachePoint": {"type": "default"}}
                ]}]}),
            ),
            (
                "reasoning history",
                ChatRequest {
                    messages: vec![
                        user("q"),
                        Message {
                            role: Role::Assistant,
                            content: vec![
                                ContentBlock::Reasoning {
                                    text: "think".into(),
                                    signature: Some("sig".into()),
                                },
                                ContentBlock::RedactedReasoning(Bytes::from_static(b"\x01")),
                                ContentBlock::Text("a".into()),
                            ],
                        },
                        user("q2"),
                    ],
                    ..base()
                },
                json!({"messages": [
                    {"role": "user", "content": [{"text": "q"}]},
                    {"role": "assistant", "content": [
                        {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig"}}},
                        {"reasoningContent": {"redactedContent": "AQ=="}},
                        {"text": "a"}
                    ]},
                    {"role": "user", "content": [{"text": "q2"}]}
                ]}),
            ),
            (
                "tools with auto choice",
                ChatRequest {
                    tools: vec![func("f"), Tool::CachePoint],
                    tool_choice: Some(ToolChoice::Auto),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "toolConfig": {"tools": [
                        {"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}},
                        {"cachePoint": {"type": "default"}}
                    ]}
                }),
            ),
            (
                "required choice",
                ChatRequest {
                    tools: vec![func("f")],
                    tool_choice: Some(ToolChoice::Any),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "toolConfig": {"tools": [{"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}],
                                   "toolChoice": {"any": {}}}
                }),
            ),
            (
                "named choice, parameterless tool",
                ChatRequest {
                    tools: vec![Tool::Function(FunctionTool {
                        name: "g".into(),
                        description: Some(String::new()),
                        parameters: Value::Null,
                        strict: Some(true),
                    })],
                    tool_choice: Some(ToolChoice::Tool("g".into())),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "toolConfig": {"tools": [{"toolSpec": {"name": "g", "inputSchema": {"json": {"type": "object", "properties": {}}}, "strict": true}}],
                                   "toolChoice": {"tool": {"name": "g"}}}
                }),
            ),
            (
                "none choice without history drops tools",
                ChatRequest {
                    tools: vec![func("f")],
                    tool_choice: Some(ToolChoice::None),
                    ..base()
                },
                json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
            ),
            (
                "none choice with history keeps tools",
                ChatRequest {
                    tools: vec![func("get_weather")],
                    tool_choice: Some(ToolChoice::None),
                    messages: tool_history(),
                    ..base()
                },
                json!({
                    "messages": [
                        {"role": "user", "content": [{"text": "weather?"}]},
                        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {}}}]},
                        {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}}]}
                    ],
                    "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "description": "d", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}]}
                }),
            ),
            (
                "history without tools synthesizes specs",
                ChatRequest {
                    messages: tool_history(),
                    ..base()
                },
                json!({
                    "messages": [
                        {"role": "user", "content": [{"text": "weather?"}]},
                        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {}}}]},
                        {"role": "user", "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}}]}
                    ],
                    "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "description": "The `get_weather` tool used earlier in this conversation.", "inputSchema": {"json": {"type": "object"}}}}]}
                }),
            ),
            (
                "tool result error and json",
                ChatRequest {
                    messages: vec![Message {
                        role: Role::User,
                        content: vec![ContentBlock::ToolResult {
                            tool_use_id: "t".into(),
                            content: vec![
                                ToolResultContent::Json(json!({"a": 1})),
                                ToolResultContent::Image {
                                    format: ImageFormat::Jpeg,
                                    bytes: Bytes::from_static(b"j"),
                                },
                            ],
                            is_error: true,
                        }],
                    }],
                    tools: vec![func("f")],
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t", "status": "error", "content": [
                        {"json": {"a": 1}}, {"image": {"format": "jpeg", "source": {"bytes": "ag=="}}}
                    ]}}]}],
                    "toolConfig": {"tools": [{"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}}]}
                }),
            ),
            (
                "json schema response format",
                ChatRequest {
                    response_format: person_schema(),
                    model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{\"type\":\"object\"}", "name": "person", "description": "a person"}}}}
                }),
            ),
            (
                "json schema without outputConfig: a forced tool",
                ChatRequest {
                    response_format: person_schema(),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "toolConfig": {"toolChoice": {"tool": {"name": "person"}}, "tools": [{"toolSpec": {"description": "a person", "inputSchema": {"json": {"type": "object"}}, "name": "person", "strict": true}}]}
                }),
            ),
            (
                "json schema with own tools: any tool, schema tool named by default",
                ChatRequest {
                    response_format: Some(ResponseFormat::JsonSchema {
                        name: "bad name!".into(),
                        description: None,
                        schema: json!({"type": "object"}),
                        strict: None,
                    }),
                    tools: vec![func("f")],
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "toolConfig": {"toolChoice": {"any": {}}, "tools": [
                        {"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "string"}}}}}},
                        {"toolSpec": {"description": "Respond with the final answer as this JSON object.", "inputSchema": {"json": {"type": "object"}}, "name": "json_response"}}
                    ]}
                }),
            ),
            (
                "system folded into the first turn for a family without system prompts",
                ChatRequest {
                    model: "mistral.mistral-7b-instruct-v0:2".into(),
                    system: vec![
                        SystemBlock::Text("be brief".into()),
                        SystemBlock::CachePoint,
                    ],
                    response_format: Some(ResponseFormat::JsonObject),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": format!("be brief\n\n{JSON_OBJECT_INSTRUCTION}")}, {"text": "hi"}]}]
                }),
            ),
            (
                "native sampling fields for Cohere Command R",
                ChatRequest {
                    model: "cohere.command-r-plus-v1:0".into(),
                    inference: InferenceParams {
                        seed: Some(7),
                        presence_penalty: Some(0.5),
                        frequency_penalty: Some(0.0),
                        ..Default::default()
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "additionalModelRequestFields": {"seed": 7, "presence_penalty": 0.5}
                }),
            ),
            (
                "Nova 2 reasoning effort",
                ChatRequest {
                    model: "us.amazon.nova-2-lite-v1:0".into(),
                    reasoning: effort(ReasoningEffort::Medium),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "additionalModelRequestFields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "medium"}}
                }),
            ),
            (
                "Claude Opus 4.5 adaptive effort without thinking",
                ChatRequest {
                    model: "global.anthropic.claude-opus-4-5-20251101-v1:0".into(),
                    reasoning: effort(ReasoningEffort::Minimal),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "outputConfig": {"effort": "low"}
                }),
            ),
            (
                "Claude Opus 4.5 with an explicit budget thinks",
                ChatRequest {
                    model: "anthropic.claude-opus-4-5-20251101-v1:0".into(),
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::High),
                        budget_tokens: Some(2048),
                    }),
                    inference: InferenceParams {
                        max_tokens: Some(4096),
                        ..Default::default()
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "inferenceConfig": {"maxTokens": 4096},
                    "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}}
                }),
            ),
            (
                "json object response format",
                ChatRequest {
                    response_format: Some(ResponseFormat::JsonObject),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "system": [{"text": JSON_OBJECT_INSTRUCTION}]
                }),
            ),
            (
                "metadata, tier, extras",
                ChatRequest {
                    metadata: BTreeMap::from([("user".to_owned(), "alice@example.com".to_owned())]),
                    service_tier: Some("flex".into()),
                    extra: ProviderExtra {
                        additional_model_request_fields: Some(json!({"top_k": 5})),
                        additional_model_response_field_paths: vec!["/stop_sequence".into()],
                        guardrail_config: Some(
                            json!({"guardrailIdentifier": "g1", "guardrailVersion": "1"}),
                        ),
                        performance_config: Some(json!({"latency": "optimized"})),
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "requestMetadata": {"user": "alice@example.com"},
                    "serviceTier": {"type": "flex"},
                    "additionalModelRequestFields": {"top_k": 5},
                    "additionalModelResponseFieldPaths": ["/stop_sequence"],
                    "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"},
                    "performanceConfig": {"latency": "optimized"}
                }),
            ),
            (
                "auto tier is omitted",
                ChatRequest {
                    service_tier: Some("auto".into()),
                    ..base()
                },
                json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}),
            ),
            (
                "effort becomes thinking with room for the answer",
                ChatRequest {
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::Medium),
                        budget_tokens: None,
                    }),
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "inferenceConfig": {"maxTokens": 8192},
                    "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 4096}}
                }),
            ),
            (
                "explicit budget wins over effort",
                ChatRequest {
                    model: "us.anthropic.claude-sonnet-4-20250514-v1:0".into(),
                    inference: InferenceParams {
                        max_tokens: Some(5000),
                        ..Default::default()
                    },
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::High),
                        budget_tokens: Some(2000),
                    }),
                    extra: ProviderExtra {
                        additional_model_request_fields: Some(json!({"top_k": 1})),
                        ..Default::default()
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "inferenceConfig": {"maxTokens": 5000},
                    "additionalModelRequestFields": {"top_k": 1, "thinking": {"type": "enabled", "budget_tokens": 2000}}
                }),
            ),
            (
                "client thinking passthrough wins",
                ChatRequest {
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::High),
                        budget_tokens: None,
                    }),
                    extra: ProviderExtra {
                        additional_model_request_fields: Some(
                            json!({"thinking": {"type": "enabled", "budget_tokens": 1500}}),
                        ),
                        ..Default::default()
                    },
                    ..base()
                },
                json!({
                    "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                    "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1500}}
                }),
            ),
        ];
        for (name, req, want) in cases {
            assert_eq!(body(req), want, "{name}");
        }
    }

    #[test]
    fn effort_table() {
        let cases = [
            (ReasoningEffort::Minimal, 1024),
            (ReasoningEffort::Low, 1024),
            (ReasoningEffort::Medium, 4096),
            (ReasoningEffort::High, 16384),
        ];
        for (effort, budget) in cases {
            assert_eq!(effort_budget(effort), budget, "{effort:?}");
        }
    }

    #[test]
    fn rejects_what_bedrock_cannot_do_naming_the_param() {
        let cases: Vec<(&str, ChatRequest, &str)> = vec![
            (
                "seed",
                ChatRequest {
                    inference: InferenceParams {
                        seed: Some(1),
                        ..Default::default()
                    },
                    ..base()
                },
                "seed",
            ),
            (
                "frequency",
                ChatRequest {
                    inference: InferenceParams {
                        frequency_penalty: Some(0.5),
                        ..Default::default()
                    },
                    ..base()
                },
                "frequency_penalty",
            ),
            (
                "presence",
                ChatRequest {
                    inference: InferenceParams {
                        presence_penalty: Some(-1.0),
                        ..Default::default()
                    },
                    ..base()
                },
                "presence_penalty",
            ),
            (
                "zero max tokens",
                ChatRequest {
                    inference: InferenceParams {
                        max_tokens: Some(0),
                        ..Default::default()
                    },
                    ..base()
                },
                "max_tokens",
            ),
            (
                "unknown tool choice",
                ChatRequest {
                    tools: vec![func("f")],
                    tool_choice: Some(ToolChoice::Tool("g".into())),
                    ..base()
                },
                "tool_choice",
            ),
            (
                "choice without tools",
                ChatRequest {
                    tool_choice: Some(ToolChoice::Any),
                    ..base()
                },
                "tool_choice",
            ),
            (
                "reasoning on non-anthropic",
                ChatRequest {
                    model: "amazon.nova-lite-v1:0".into(),
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::Low),
                        budget_tokens: None,
                    }),
                    ..base()
                },
                "reasoning_effort",
            ),
            (
                "budget too small",
                ChatRequest {
                    reasoning: Some(ReasoningConfig {
                        effort: None,
                        budget_tokens: Some(100),
                    }),
                    ..base()
                },
                "reasoning.budget_tokens",
            ),
            (
                "max tokens below budget",
                ChatRequest {
                    inference: InferenceParams {
                        max_tokens: Some(1000),
                        ..Default::default()
                    },
                    reasoning: Some(ReasoningConfig {
                        effort: Some(ReasoningEffort::High),
                        budget_tokens: None,
                    }),
                    ..base()
                },
                "max_tokens",
            ),
            (
                "scale tier",
                ChatRequest {
                    service_tier: Some("scale".into()),
                    ..base()
                },
                "service_tier",
            ),
            (
                "metadata chars",
                ChatRequest {
                    metadata: BTreeMap::from([("k".to_owned(), "naïve".to_owned())]),
                    ..base()
                },
                "metadata",
            ),
            (
                "metadata count",
                ChatRequest {
                    metadata: (0..17).map(|i| (format!("k{i}"), "v".to_owned())).collect(),
                    ..base()
                },
                "metadata",
            ),
            (
                "bad guardrail",
                ChatRequest {
                    extra: ProviderExtra {
                        guardrail_config: Some(json!({"guardrailId": "x"})),
                        ..Default::default()
                    },
                    ..base()
                },
                "guardrailConfig",
            ),
            (
                "bad performance",
                ChatRequest {
                    extra: ProviderExtra {
                        performance_config: Some(json!("fast")),
                        ..Default::default()
                    },
                    ..base()
                },
                "performanceConfig",
            ),
            (
                "non-object extras",
                ChatRequest {
                    extra: ProviderExtra {
                        additional_model_request_fields: Some(json!([1])),
                        ..Default::default()
                    },
                    ..base()
                },
                "additionalModelRequestFields",
            ),
        ];
        // Capability-map refusals: (name, model, request changes, param).
        let user_image = Message {
            role: Role::User,
            content: vec![ContentBlock::Image {
                format: ImageFormat::Png,
                bytes: Bytes::from_static(b"p"),
            }],
        };
        let schema = ResponseFormat::JsonSchema {
            name: "s".into(),
            description: None,
            schema: json!({"type": "object"}),
            strict: None,
        };
        let thinking = effort(ReasoningEffort::Low);
        let family_cases: Vec<(&str, &str, ChatRequest, &str)> = vec![
            (
                "claude temperature above 1",
                CLAUDE,
                ChatRequest {
                    inference: InferenceParams {
                        temperature: Some(1.5),
                        ..Default::default()
                    },
                    ..base()
                },
                "temperature",
            ),
            (
                "thinking with temperature",
                CLAUDE,
                ChatRequest {
                    inference: InferenceParams {
                        temperature: Some(0.2),
                        ..Default::default()
                    },
                    reasoning: thinking,
                    ..base()
                },
                "temperature",
            ),
            (
                "thinking with low top_p",
                CLAUDE,
                ChatRequest {
                    inference: InferenceParams {
                        top_p: Some(0.5),
                        ..Default::default()
                    },
                    reasoning: thinking,
                    ..base()
                },
                "top_p",
            ),
            (
                "image on a text-only family",
                "mistral.mixtral-8x7b-instruct-v0:1",
                ChatRequest {
                    messages: vec![user_image],
                    ..base()
                },
                "messages",
            ),
            (
                "tools on titan",
                "amazon.titan-text-express-v1",
                ChatRequest {
                    tools: vec![func("f")],
                    ..base()
                },
                "tools",
            ),
            (
                "forced tool on llama",
                "meta.llama3-1-70b-instruct-v1:0",
                ChatRequest {
                    tools: vec![func("f")],
                    tool_choice: Some(ToolChoice::Any),
                    ..base()
                },
                "tool_choice",
            ),
            (
                "reasoning on llama",
                "meta.llama3-1-70b-instruct-v1:0",
                ChatRequest {
                    reasoning: thinking,
                    ..base()
                },
                "reasoning_effort",
            ),
            (
                "schema on deepseek r1",
                "us.deepseek.r1-v1:0",
                ChatRequest {
                    response_format: Some(schema),
                    ..base()
                },
                "response_format",
            ),
        ];
        let family_cases = family_cases.into_iter().map(|(name, model, req, param)| {
            (
                name,
                ChatRequest {
                    model: model.into(),
                    ..req
                },
                param,
            )
        });
        for (name, req, param) in cases.into_iter().chain(family_cases) {
            let err = to_converse(req).unwrap_err();
            assert_eq!(err.status(), 400, "{name}");
            assert_eq!(err.param.as_deref(), Some(param), "{name}: {}", err.message);
        }
    }

    #[test]
    fn streaming_tools_follow_the_family() {
        let cases = [
            (CLAUDE, vec![func("f")], true),
            ("mistral.mistral-large-2407-v1:0", vec![func("f")], false),
            ("mistral.mistral-large-2407-v1:0", vec![], true),
        ];
        for (model, tools, want) in cases {
            let call = to_converse(ChatRequest {
                model: model.into(),
                tools,
                ..base()
            })
            .unwrap();
            assert_eq!(streams_tools(&call), want, "{model}");
        }
    }

    #[test]
    fn model_id_moves_out() {
        let call = to_converse(base()).unwrap();
        assert_eq!(call.model_id, CLAUDE);
    }
}
