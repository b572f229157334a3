//! `CompletionUsage`, shared by responses and the final stream chunk.

use gomodel_core::chat::Usage;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompletionUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptTokensDetails,
    pub completion_tokens_details: CompletionTokensDetails,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
    /// Tokens written to the prompt cache; in the spec's `prompt_tokens_details`, omitted when the
    /// provider did not report it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompletionTokensDetails {
    pub reasoning_tokens: u64,
}

impl From<&Usage> for CompletionUsage {
    /// Neutral usage follows Converse, where `input_tokens` excludes cache reads and writes;
    /// OpenAI's `prompt_tokens` counts every prompt token with `cached_tokens` as a subset, so the
    /// cache counts are added back in.
    fn from(u: &Usage) -> Self {
        let cache_read = u.cache_read_tokens.unwrap_or(0);
        let cache_write = u.cache_write_tokens.unwrap_or(0);
        let prompt_tokens = u
            .input_tokens
            .saturating_add(cache_read)
            .saturating_add(cache_write);
        CompletionUsage {
            prompt_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: prompt_tokens.saturating_add(u.output_tokens),
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: cache_read,
                cache_write_tokens: u.cache_write_tokens,
            },
            completion_tokens_details: CompletionTokensDetails {
                reasoning_tokens: u.reasoning_tokens.unwrap_or(0),
            },
        }
    }
}
