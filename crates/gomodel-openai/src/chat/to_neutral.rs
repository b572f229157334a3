//! OpenAI chat request → neutral `ChatRequest`: top-level parameters and the checks for what
//! Bedrock cannot do (refused with a 400 naming the parameter rather than silently ignored).

use super::messages;
use super::request::{BedrockExtra, ChatCompletionRequest, StopConfiguration, ThinkingParam};
use super::tools;
use gomodel_core::chat::{
    ChatRequest, InferenceParams, ProviderExtra, ReasoningConfig, ReasoningEffort,
};
use gomodel_core::GatewayError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// OpenAI's limit on `stop` sequences.
const MAX_STOP: usize = 4;

/// Validates the request and converts it; `upstream_model` is the provider's id after routing.
pub fn to_neutral(
    req: ChatCompletionRequest,
    upstream_model: String,
) -> Result<ChatRequest, GatewayError> {
    check_unknown(&req.unknown)?;
    check_unsupported(&req)?;
    let inference = inference(&req)?;
    let reasoning = reasoning(req.reasoning_effort.as_deref(), req.thinking.as_ref())?;
    let mut tools = tools::convert_tools(req.tools.unwrap_or_default())?;
    let tool_choice = tools::convert_tool_choice(req.tool_choice, &mut tools)?;
    let response_format = tools::convert_response_format(req.response_format)?;
    let extra = provider_extra(req.bedrock)?;
    let metadata = metadata(req.metadata, req.user, req.safety_identifier);
    let conversation = messages::convert(req.messages)?;
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

/// OpenAI rejects unknown top-level arguments with exactly this message; so does the gateway, so
/// a typo is not silently ignored.
pub(crate) fn check_unknown(unknown: &Map<String, Value>) -> Result<(), GatewayError> {
    let names: Vec<&str> = unknown.keys().map(String::as_str).collect();
    match names.as_slice() {
        [] => Ok(()),
        [one] => Err(GatewayError::invalid_request(format!(
            "Unrecognized request argument supplied: {one}"
        ))),
        many => Err(GatewayError::invalid_request(format!(
            "Unrecognized request arguments supplied: {}",
            many.join(", ")
        ))),
    }
}

pub(crate) fn refuse(param: &str, message: &str) -> Result<(), GatewayError> {
    Err(GatewayError::invalid_param(param, message))
}

/// `top_logprobs` is range-checked as OpenAI does; any value above 0 is refused, since Bedrock
/// models do not return log probabilities.
pub(crate) fn check_top_logprobs(top: Option<i64>) -> Result<(), GatewayError> {
    if let Some(top) = top {
        if !(0..=20).contains(&top) {
            return refuse(
                "top_logprobs",
                "Invalid 'top_logprobs': expected a value between 0 and 20.",
            );
        }
        if top > 0 {
            return refuse(
                "top_logprobs",
                "'top_logprobs' is not supported: Bedrock models do not return log probabilities.",
            );
        }
    }
    Ok(())
}

fn check_unsupported(req: &ChatCompletionRequest) -> Result<(), GatewayError> {
    if let Some(n) = req.n {
        if n < 1 {
            return refuse(
                "n",
                "Invalid 'n': integer below minimum value. Expected a value >= 1.",
            );
        }
        if n > 1 {
            return refuse(
                "n",
                "Invalid 'n': only n=1 is supported; Bedrock models return a single choice.",
            );
        }
    }
    if req.logprobs == Some(true) {
        return refuse(
            "logprobs",
            "'logprobs' is not supported: Bedrock models do not return log probabilities.",
        );
    }
    check_top_logprobs(req.top_logprobs)?;
    if req.logit_bias.as_ref().is_some_and(|b| !b.is_empty()) {
        return refuse(
            "logit_bias",
            "'logit_bias' is not supported by Bedrock models.",
        );
    }
    if req.audio.is_some() {
        return refuse("audio", "Audio output is not supported by Bedrock models.");
    }
    if let Some(modalities) = &req.modalities {
        if let Some(other) = modalities.iter().find(|m| m.as_str() != "text") {
            let message = if other == "audio" {
                "Audio output is not supported by Bedrock models; use modalities [\"text\"]."
                    .to_owned()
            } else {
                format!("Invalid value: '{other}'. Supported values are: 'text'.")
            };
            return Err(GatewayError::invalid_param("modalities", message));
        }
    }
    if req.prediction.is_some() {
        return refuse(
            "prediction",
            "Predicted outputs ('prediction') are not supported by Bedrock models.",
        );
    }
    if req.functions.is_some() {
        return refuse(
            "functions",
            "The deprecated 'functions' parameter is not supported; use 'tools'.",
        );
    }
    if req.function_call.is_some() {
        return refuse(
            "function_call",
            "The deprecated 'function_call' parameter is not supported; use 'tool_choice'.",
        );
    }
    if req.web_search_options.is_some() {
        return refuse(
            "web_search_options",
            "Web search is not supported by Bedrock models.",
        );
    }
    if req.moderation.is_some() {
        return refuse(
            "moderation",
            "'moderation' is not supported; use Bedrock guardrails via 'bedrock.guardrail_config'.",
        );
    }
    if req.stream_options.is_some() && req.stream != Some(true) {
        return refuse(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        );
    }
    Ok(())
}

fn inference(req: &ChatCompletionRequest) -> Result<InferenceParams, GatewayError> {
    Ok(InferenceParams {
        max_tokens: max_tokens(req)?,
        temperature: ranged(req.temperature, "temperature", 0.0, 2.0)?,
        top_p: ranged(req.top_p, "top_p", 0.0, 1.0)?,
        stop: stop(req.stop.as_ref())?,
        seed: req.seed,
        frequency_penalty: ranged(req.frequency_penalty, "frequency_penalty", -2.0, 2.0)?,
        presence_penalty: ranged(req.presence_penalty, "presence_penalty", -2.0, 2.0)?,
        parallel_tool_calls: req.parallel_tool_calls,
    })
}

/// `max_completion_tokens` supersedes the deprecated `max_tokens` when both are present.
fn max_tokens(req: &ChatCompletionRequest) -> Result<Option<u32>, GatewayError> {
    let (value, param) = match (req.max_completion_tokens, req.max_tokens) {
        (Some(v), _) => (v, "max_completion_tokens"),
        (None, Some(v)) => (v, "max_tokens"),
        (None, None) => return Ok(None),
    };
    match u32::try_from(value) {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(GatewayError::invalid_param(
            param,
            format!(
                "Invalid '{param}': expected an integer between 1 and {}.",
                u32::MAX
            ),
        )),
    }
}

pub(crate) fn ranged(
    value: Option<f64>,
    param: &str,
    min: f64,
    max: f64,
) -> Result<Option<f32>, GatewayError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && (min..=max).contains(&v) => Ok(Some(v as f32)),
        Some(v) => Err(GatewayError::invalid_param(
            param,
            format!(
                "Invalid '{param}': {v} is out of range. Expected a value between {min} and {max}."
            ),
        )),
    }
}

fn stop(stop: Option<&StopConfiguration>) -> Result<Vec<String>, GatewayError> {
    let all: Vec<String> = match stop {
        None => return Ok(Vec::new()),
        Some(StopConfiguration::One(s)) => vec![s.clone()],
        Some(StopConfiguration::Many(v)) => {
            if v.len() > MAX_STOP {
                return Err(GatewayError::invalid_param(
                    "stop",
                    format!("Invalid 'stop': array too long. Expected an array with maximum length {MAX_STOP}, but got an array with length {} instead.", v.len()),
                ));
            }
            v.clone()
        }
    };
    // An empty stop sequence can never match; Bedrock rejects it, so it is dropped.
    Ok(all.into_iter().filter(|s| !s.is_empty()).collect())
}

pub(crate) fn reasoning(
    effort: Option<&str>,
    thinking: Option<&ThinkingParam>,
) -> Result<Option<ReasoningConfig>, GatewayError> {
    let effort = match effort {
        None | Some("none") => None,
        Some("minimal") => Some(ReasoningEffort::Minimal),
        Some("low") => Some(ReasoningEffort::Low),
        Some("medium") => Some(ReasoningEffort::Medium),
        Some("high") => Some(ReasoningEffort::High),
        // Bedrock's reasoning controls top out at "high"; the strongest available is the
        // honest reading of "more than high".
        Some("xhigh" | "max") => Some(ReasoningEffort::High),
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "reasoning_effort",
                format!("Invalid value: '{other}'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' and 'max'."),
            ))
        }
    };
    let budget_tokens = match thinking {
        None => None,
        Some(t) => match t.kind.as_str() {
            // An explicit "disabled" wins over any effort hint.
            "disabled" => return Ok(None),
            "enabled" => {
                let Some(budget) = t.budget_tokens else {
                    return Err(messages::missing("thinking.budget_tokens"));
                };
                match u32::try_from(budget) {
                    Ok(b) if b >= 1 => Some(b),
                    _ => {
                        return Err(GatewayError::invalid_param(
                            "thinking.budget_tokens",
                            "Invalid 'thinking.budget_tokens': expected a positive integer.",
                        ))
                    }
                }
            }
            other => {
                return Err(GatewayError::invalid_param(
                    "thinking.type",
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'enabled' and 'disabled'."
                    ),
                ))
            }
        },
    };
    if effort.is_none() && budget_tokens.is_none() {
        return Ok(None);
    }
    Ok(Some(ReasoningConfig {
        effort,
        budget_tokens,
    }))
}

/// `metadata`, plus `user` and `safety_identifier` under their own keys, for request tagging.
/// Explicit metadata keys win over the derived ones.
pub(crate) fn metadata(
    metadata: Option<BTreeMap<String, String>>,
    user: Option<String>,
    safety_identifier: Option<String>,
) -> BTreeMap<String, String> {
    let mut map = metadata.unwrap_or_default();
    for (key, value) in [("user", user), ("safety_identifier", safety_identifier)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            map.entry(key.to_owned()).or_insert(value);
        }
    }
    map
}

pub(crate) fn provider_extra(bedrock: Option<BedrockExtra>) -> Result<ProviderExtra, GatewayError> {
    let Some(b) = bedrock else {
        return Ok(ProviderExtra::default());
    };
    if let Some(fields) = &b.additional_model_request_fields {
        if !fields.is_object() {
            return Err(GatewayError::invalid_param(
                "bedrock.additional_model_request_fields",
                "Invalid type for 'bedrock.additional_model_request_fields': expected an object.",
            ));
        }
    }
    for (key, value) in [
        ("guardrail_config", &b.guardrail_config),
        ("performance_config", &b.performance_config),
    ] {
        if value.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(GatewayError::invalid_param(
                format!("bedrock.{key}"),
                format!("Invalid type for 'bedrock.{key}': expected an object."),
            ));
        }
    }
    Ok(ProviderExtra {
        additional_model_request_fields: b.additional_model_request_fields,
        additional_model_response_field_paths: b
            .additional_model_response_field_paths
            .unwrap_or_default(),
        guardrail_config: b.guardrail_config,
        performance_config: b.performance_config,
    })
}
