//! InvokeModel bodies for the embedding families this gateway supports. InvokeModel's body is
//! model-specific (not part of the service model), so these follow each vendor's documented
//! request/response JSON.

use serde::{Deserialize, Serialize};

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
    pub embedding: Vec<f32>,
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
    pub embedding_types: [&'static str; 1],
    /// v4 only: 256 | 512 | 1024 | 1536.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dimension: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CohereEmbedResponse {
    pub embeddings: CohereEmbeddings,
}

/// `embeddings` is a list of float vectors (`response_type: embeddings_floats`) or, when
/// `embedding_types` was sent, an object keyed by type (`embeddings_by_type`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CohereEmbeddings {
    Floats(Vec<Vec<f32>>),
    ByType {
        #[serde(default)]
        float: Vec<Vec<f32>>,
    },
}

impl CohereEmbeddings {
    pub fn into_floats(self) -> Vec<Vec<f32>> {
        match self {
            CohereEmbeddings::Floats(v) | CohereEmbeddings::ByType { float: v } => v,
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
            assert_eq!(r.embeddings.into_floats(), vec![vec![0.5, 1.0]], "{json}");
        }
    }

    #[test]
    fn titan_request_shape() {
        let r = TitanEmbedRequest {
            input_text: "hi",
            dimensions: Some(256),
            normalize: None,
            embedding_config: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"inputText":"hi","dimensions":256}"#
        );
    }
}
