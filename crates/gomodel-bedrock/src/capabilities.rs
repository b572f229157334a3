//! What each Bedrock model family can take through Converse, in one table, so the request
//! translation adapts or refuses by lookup instead of scattered model-id checks.
//!
//! Sources: the AWS "Supported models and model features" table for Converse
//! (docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-supported-models-features.html),
//! the model parameter pages (temperature ranges, Cohere Command R's `seed` and penalties) and
//! the structured-output launch list. A family not in
//! the table gets [`UNKNOWN`]: everything is passed through and Bedrock decides, because a
//! gateway that refuses a new model's features is worse than one that lets Bedrock answer.

use gomodel_core::model::is_geo_prefix;

/// How a family spells reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningForm {
    /// No reasoning control: reasoning settings are a 400.
    None,
    /// Anthropic extended thinking, `additionalModelRequestFields.thinking.budget_tokens`.
    AnthropicBudget,
    /// Claude Opus 4.5: `reasoning_effort` alone → `outputConfig.effort` (adaptive effort, no
    /// thinking needed); an explicit budget still turns on extended thinking.
    AnthropicEffort,
    /// Amazon Nova 2, `additionalModelRequestFields.reasoningConfig.maxReasoningEffort`.
    NovaEffort,
    /// The model always reasons (DeepSeek-R1); an effort hint has nothing to change.
    Builtin,
}

/// One family's Converse capabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capabilities {
    /// A readable family name for error messages.
    pub family: &'static str,
    /// Accepts `system` blocks (otherwise they are prepended to the first user turn).
    pub system: bool,
    /// Accepts `toolConfig`.
    pub tools: bool,
    /// Accepts `toolConfig` in ConverseStream.
    pub stream_tools: bool,
    /// Accepts `image` blocks.
    pub images: bool,
    /// Accepts `document` blocks.
    pub documents: bool,
    /// Accepts `toolChoice` `any` / `tool` (forced tool use).
    pub forced_tool: bool,
    pub reasoning: ReasoningForm,
    /// Accepts `outputConfig.textFormat` (native structured output); otherwise a forced tool
    /// carries the schema.
    pub output_config: bool,
    /// Largest `temperature` the family accepts; `None` leaves the check to Bedrock.
    pub max_temperature: Option<f32>,
    /// Takes `seed`, `frequency_penalty`, `presence_penalty` as native request fields (sent in
    /// `additionalModelRequestFields` under the same names).
    pub native_sampling: bool,
}

const FULL: Capabilities = Capabilities {
    family: "Anthropic Claude 3",
    system: true,
    tools: true,
    stream_tools: true,
    images: true,
    documents: true,
    forced_tool: true,
    reasoning: ReasoningForm::None,
    output_config: false,
    max_temperature: Some(1.0),
    native_sampling: false,
};

/// Families not in the table: pass everything through.
pub const UNKNOWN: Capabilities = Capabilities {
    family: "this model",
    output_config: true,
    max_temperature: None,
    ..FULL
};

/// Extended thinking as Claude 3.7 and later take it.
const THINKING: Capabilities = Capabilities {
    family: "Anthropic Claude 3.7",
    reasoning: ReasoningForm::AnthropicBudget,
    ..FULL
};

/// Claude 4.5 / 4.1: thinking and native structured output.
const CLAUDE_45: Capabilities = Capabilities {
    family: "Anthropic Claude 4.5",
    output_config: true,
    ..THINKING
};

/// Text and tools, but tools only in non-streamed calls and never forced.
const TOOLS_NOT_STREAMED: Capabilities = Capabilities {
    family: "Meta Llama 3.1",
    stream_tools: false,
    forced_tool: false,
    images: false,
    ..FULL
};

/// Text (and documents) only.
const TEXT: Capabilities = Capabilities {
    family: "Meta Llama",
    tools: false,
    ..TOOLS_NOT_STREAMED
};

/// Text only, and no system prompt either.
const TEXT_NO_SYSTEM: Capabilities = Capabilities {
    family: "Amazon Titan Text",
    system: false,
    ..TEXT
};

/// Model-id prefix (after any ARN and geo prefix) → capabilities. The first matching prefix
/// wins, so specific versions come before their family.
#[rustfmt::skip] // one row per line keeps the table readable
const TABLE: &[(&str, Capabilities)] = &[
    ("anthropic.claude-sonnet-4-5", CLAUDE_45),
    ("anthropic.claude-haiku-4-5", CLAUDE_45),
    ("anthropic.claude-opus-4-5", Capabilities { family: "Anthropic Claude Opus 4.5", reasoning: ReasoningForm::AnthropicEffort, ..CLAUDE_45 }),
    ("anthropic.claude-opus-4-1", Capabilities { family: "Anthropic Claude 4.1", ..CLAUDE_45 }),
    ("anthropic.claude-sonnet-4", Capabilities { family: "Anthropic Claude 4", ..THINKING }),
    ("anthropic.claude-opus-4", Capabilities { family: "Anthropic Claude 4", ..THINKING }),
    ("anthropic.claude-3-7", THINKING),
    ("anthropic.claude-3-5-haiku", Capabilities { family: "Anthropic Claude 3.5 Haiku", images: false, ..FULL }),
    ("anthropic.claude-3", FULL),
    ("anthropic.claude-v2", Capabilities { family: "Anthropic Claude 2", ..TEXT }),
    ("anthropic.claude-instant", Capabilities { family: "Anthropic Claude Instant", ..TEXT }),
    // Claude models newer than this table: thinking as every Claude since 3.7, and the rest
    // passed through for Bedrock to judge.
    (
        "anthropic.",
        Capabilities { family: "Anthropic Claude", reasoning: ReasoningForm::AnthropicBudget, max_temperature: Some(1.0), ..UNKNOWN },
    ),
    ("amazon.nova-2", Capabilities { family: "Amazon Nova 2", reasoning: ReasoningForm::NovaEffort, ..FULL }),
    ("amazon.nova-micro", Capabilities { family: "Amazon Nova Micro", images: false, documents: false, ..FULL }),
    ("amazon.nova", Capabilities { family: "Amazon Nova", ..FULL }),
    ("amazon.titan-text", TEXT_NO_SYSTEM),
    ("meta.llama3-2-11b", Capabilities { family: "Meta Llama 3.2 vision", images: true, ..TOOLS_NOT_STREAMED }),
    ("meta.llama3-2-90b", Capabilities { family: "Meta Llama 3.2 vision", images: true, ..TOOLS_NOT_STREAMED }),
    ("meta.llama4", Capabilities { family: "Meta Llama 4", images: true, ..TOOLS_NOT_STREAMED }),
    ("meta.llama3-1", TOOLS_NOT_STREAMED),
    ("meta.llama3-3", Capabilities { family: "Meta Llama 3.3", ..TOOLS_NOT_STREAMED }),
    ("meta.llama", TEXT),
    ("mistral.mistral-large", Capabilities { family: "Mistral Large", forced_tool: true, ..TOOLS_NOT_STREAMED }),
    ("mistral.pixtral", Capabilities { family: "Mistral Pixtral", forced_tool: true, images: true, ..TOOLS_NOT_STREAMED }),
    ("mistral.mistral-small", Capabilities { family: "Mistral Small", ..TOOLS_NOT_STREAMED }),
    ("mistral.", Capabilities { family: "Mistral 7B / Mixtral", ..TEXT_NO_SYSTEM }),
    ("cohere.command-r", Capabilities { family: "Cohere Command R", native_sampling: true, ..TOOLS_NOT_STREAMED }),
    ("cohere.command", Capabilities { family: "Cohere Command", ..TEXT_NO_SYSTEM }),
    ("ai21.jamba-instruct", Capabilities { family: "AI21 Jamba-Instruct", documents: false, max_temperature: Some(2.0), ..TEXT }),
    ("ai21.jamba", Capabilities { family: "AI21 Jamba 1.5", stream_tools: true, max_temperature: Some(2.0), ..TOOLS_NOT_STREAMED }),
    ("deepseek.r1", Capabilities { family: "DeepSeek-R1", reasoning: ReasoningForm::Builtin, ..TEXT }),
];

/// The capabilities of `model_id` (a base id, inference profile id or ARN).
pub fn of(model_id: &str) -> &'static Capabilities {
    let id = match model_id.rsplit_once('/') {
        Some((_, rest)) if model_id.starts_with("arn:") => rest,
        _ => model_id,
    };
    let id = match id.split_once('.') {
        Some((geo, rest)) if is_geo_prefix(geo) => rest,
        _ => id,
    };
    TABLE
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map_or(&UNKNOWN, |(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_table() {
        let cases: [(&str, &str); 15] = [
            (
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "Anthropic Claude 3",
            ),
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "Anthropic Claude 3.7",
            ),
            (
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "Anthropic Claude 4.5",
            ),
            (
                "anthropic.claude-sonnet-4-20250514-v1:0",
                "Anthropic Claude 4",
            ),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1",
                "Anthropic Claude 2",
            ),
            ("amazon.nova-micro-v1:0", "Amazon Nova Micro"),
            ("eu.amazon.nova-lite-v1:0", "Amazon Nova"),
            ("amazon.titan-text-express-v1", "Amazon Titan Text"),
            ("mistral.mistral-7b-instruct-v0:2", "Mistral 7B / Mixtral"),
            ("cohere.command-r-plus-v1:0", "Cohere Command R"),
            ("us.deepseek.r1-v1:0", "DeepSeek-R1"),
            ("acme.new-model-v1", "this model"),
            ("anthropic.claude-opus-5-v1:0", "Anthropic Claude"),
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "Anthropic Claude 3.5 Haiku",
            ),
            ("ai21.jamba-1-5-large-v1:0", "AI21 Jamba 1.5"),
        ];
        for (id, family) in cases {
            assert_eq!(of(id).family, family, "{id}");
        }
    }
}
