//! Provider-neutral embedding types.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct EmbedRequest {
    /// The model id as the provider knows it.
    pub model: String,
    /// One or more texts; never empty (ingress rejects empty input).
    pub inputs: Vec<String>,
    pub dimensions: Option<u32>,
    /// Provider-specific extras from the request body (e.g. Cohere `input_type`, `truncate`).
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmbedResponse {
    /// One vector per input, in input order.
    pub embeddings: Vec<Vec<f32>>,
    pub input_tokens: u64,
}
