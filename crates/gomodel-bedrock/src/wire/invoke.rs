//! InvokeModel bodies for the embedding families this gateway supports. InvokeModel's body is
//! model-specific (not part of the service model), so these follow each vendor's documented
//! request/response JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Amazon Titan Text Embeddings v1/v2 and Titan Multimodal Embeddings (text input): one text
/// per call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedRequest<'a> {
    pub input_text: &'a str,
    /// v2 only: 256 | 512 | 1024.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// v2 only; Bedrock's default is `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// v2 only: `float` | `binary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_types: Option<[&'a str; 1]>,
    /// Multimodal (image-v1) only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_config: Option<TitanEmbeddingConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbeddingConfig {
    /// 256 | 384 | 1024.
    pub output_embedding_length: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedResponse {
    /// The float vector; absent when `embeddingTypes` asked for `binary` only.
    #[serde(default)]
    pub embedding: Option<Vec<f32>>,
    /// v2 with `embeddingTypes`: `float` and/or `binary` (0/1 per dimension).
    #[serde(default)]
    pub embeddings_by_type: Option<BTreeMap<String, Vec<f32>>>,
    #[serde(default)]
    pub input_text_token_count: Option<u64>,
}

/// Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`) and v4
/// (`cohere.embed-v4:0`): up to 96 texts per call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohereEmbedRequest<'a> {
    pub texts: &'a [String],
    /// `search_document` | `search_query` | `classification` | `clustering`.
    pub input_type: &'a str,
    /// `NONE` | `START` | `END`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<&'a str>,
    /// Exactly one type: the gateway returns one vector per input. `float` | `int8` | `uint8` |
    /// `binary` | `ubinary`.
    pub embedding_types: [&'a str; 1],
    /// v4 only: 256 | 512 | 1024 | 1536.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CohereEmbedResponse {
    pub embeddings: CohereEmbeddings,
    /// Cohere's billing metadata, when the model sends it (`meta.billed_units.input_tokens`).
    #[serde(default)]
    pub meta: Option<CohereMeta>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CohereMeta {
    #[serde(default)]
    pub billed_units: Option<CohereBilledUnits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CohereBilledUnits {
    #[serde(default)]
    pub input_tokens: Option<u64>,
}

impl CohereEmbedResponse {
    pub fn billed_input_tokens(&self) -> Option<u64> {
        self.meta.as_ref()?.billed_units?.input_tokens
    }
}

/// `embeddings` is a list of float vectors (`response_type: embeddings_floats`) or, when
/// `embedding_types` was sent, an object keyed by type (`embeddings_by_type`).
/// Quantised types (`int8`, `binary`, …) hold integers, which decode into `f32` exactly.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CohereEmbeddings {
    Floats(Vec<Vec<f32>>),
    ByType(BTreeMap<String, Vec<Vec<f32>>>),
}

impl CohereEmbeddings {
    /// The vectors of type `kind` (`embeddings_floats` answers are `float`).
    pub fn into_type(self, kind: &str) -> Option<Vec<Vec<f32>>> {
        match self {
            CohereEmbeddings::Floats(v) => (kind == "float").then_some(v),
            CohereEmbeddings::ByType(mut by_type) => by_type.remove(kind),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cohere_embeddings_both_shapes() {
        let cases = [
            r#"{"embeddings":[[0.5,1.0]],"id":"x","response_type":"embeddings_floats","texts":["a"]}"#,
            r#"{"embeddings":{"float":[[0.5,1.0]]},"response_type":"embeddings_by_type"}"#,
        ];
        for json in cases {
            let r: CohereEmbedResponse = serde_json::from_str(json).unwrap();
            assert_eq!(r.billed_input_tokens(), None);
            assert_eq!(
                r.embeddings.into_type("float"),
                Some(vec![vec![0.5, 1.0]]),
                "{json}"
            );
        }
        let r: CohereEmbedResponse = serde_json::from_str(
            r#"{"embeddings":{"int8":[[-3,127]]},"meta":{"billed_units":{"input_tokens":7}}}"#,
        )
        .unwrap();
        assert_eq!(r.billed_input_tokens(), Some(7));
        assert_eq!(
            r.embeddings.into_type("int8"),
            Some(vec![vec![-3.0, 127.0]])
        );
    }

    #[test]
    fn titan_request_shape() {
        let r = TitanEmbedRequest {
            input_text: "hi",
            dimensions: Some(256),
            normalize: None,
            embedding_types: None,
            embedding_config: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"inputText":"hi","dimensions":256}"#
        );
    }
}
