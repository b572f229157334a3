//! InvokeModel bodies for the embedding families this gateway supports. InvokeModel's body is
//! model-specific (not part of the service model), so these follow each vendor's documented
//! request/response JSON.

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

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

/// Vectors stay JSON text borrowed from the body (see [`gomodel_core::embed::Vector`]): they
/// are forwarded, not computed on.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TitanEmbedResponse<'a> {
    /// The float vector; absent when `embeddingTypes` asked for `binary` only.
    #[serde(default, borrow)]
    pub embedding: Option<&'a RawValue>,
    /// v2 with `embeddingTypes`: `float` and/or `binary` (0/1 per dimension).
    #[serde(default, borrow)]
    pub embeddings_by_type: Option<BTreeMap<String, &'a RawValue>>,
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

#[derive(Debug, Deserialize)]
pub struct CohereEmbedResponse<'a> {
    #[serde(borrow)]
    pub embeddings: CohereVectors<'a>,
    /// Cohere's billing metadata, when the model sends it (`meta.billed_units.input_tokens`).
    #[serde(default)]
    pub meta: Option<CohereMeta>,
}

/// `embeddings`: a list of vectors (`response_type: embeddings_floats`) or, when
/// `embedding_types` was sent, an object of lists keyed by type (`embeddings_by_type`).
/// Quantised types (`int8`, `binary`, …) hold integers. Read in one pass over the body, each
/// vector kept as JSON text (an untagged enum would buffer the whole answer first, and
/// re-reading the text would scan every number again).
#[derive(Debug)]
pub enum CohereVectors<'a> {
    Floats(Vec<&'a RawValue>),
    ByType(Vec<(String, Vec<&'a RawValue>)>),
}

impl<'de: 'a, 'a> Deserialize<'de> for CohereVectors<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for ShapeVisitor<'a> {
            type Value = CohereVectors<'a>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of vectors or an object of vector lists keyed by type")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut vectors = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element::<&'de RawValue>()? {
                    vectors.push(v);
                }
                Ok(CohereVectors::Floats(vectors))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut by_type = Vec::new();
                while let Some(entry) = map.next_entry::<String, Vec<&'de RawValue>>()? {
                    by_type.push(entry);
                }
                Ok(CohereVectors::ByType(by_type))
            }
        }

        deserializer.deserialize_any(ShapeVisitor(PhantomData))
    }
}

impl<'a> CohereVectors<'a> {
    /// The vectors of type `kind` (an `embeddings_floats` answer is `float`), or `None` when
    /// the answer has no such type.
    pub fn into_type(self, kind: &str) -> Option<Vec<&'a RawValue>> {
        match self {
            CohereVectors::Floats(v) => (kind == "float").then_some(v),
            CohereVectors::ByType(by_type) => by_type
                .into_iter()
                .find_map(|(k, v)| (k == kind).then_some(v)),
        }
    }
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

impl CohereEmbedResponse<'_> {
    pub fn billed_input_tokens(&self) -> Option<u64> {
        self.meta.as_ref()?.billed_units?.input_tokens
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cohere_embeddings_both_shapes() {
        let texts = |json: &str, kind| {
            let r: CohereEmbedResponse = serde_json::from_str(json).unwrap();
            r.embeddings
                .into_type(kind)
                .map(|v| v.iter().map(|x| x.get().to_owned()).collect::<Vec<_>>())
        };
        let cases = [
            r#"{"embeddings":[[0.5,1.0]],"id":"x","response_type":"embeddings_floats","texts":["a"]}"#,
            r#"{"embeddings":{"float":[[0.5,1.0]]},"response_type":"embeddings_by_type"}"#,
            r#"{"embeddings": {"int8": [[1]], "float" : [[0.5,1.0]] }}"#,
        ];
        for json in cases {
            let r: CohereEmbedResponse = serde_json::from_str(json).unwrap();
            assert_eq!(r.billed_input_tokens(), None);
            assert_eq!(
                texts(json, "float"),
                Some(vec!["[0.5,1.0]".to_owned()]),
                "{json}"
            );
            assert_eq!(texts(json, "uint8"), None, "{json}");
        }
        let json = r#"{"embeddings":{"int8":[[-3,127],[0,1]]},"meta":{"billed_units":{"input_tokens":7}}}"#;
        let r: CohereEmbedResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.billed_input_tokens(), Some(7));
        assert_eq!(
            texts(json, "int8"),
            Some(vec!["[-3,127]".to_owned(), "[0,1]".to_owned()])
        );
        assert_eq!(texts(json, "float"), None);
        // Neither a list nor an object of lists: a decoding error, not an empty answer.
        for json in [r#"{"embeddings":{"float":3}}"#, r#"{"embeddings":"x"}"#] {
            assert!(
                serde_json::from_str::<CohereEmbedResponse>(json).is_err(),
                "{json}"
            );
        }
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
