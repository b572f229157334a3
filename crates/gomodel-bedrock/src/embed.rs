//! Embeddings over InvokeModel. The body is model-specific, so each supported family has its
//! own request/response mapping:
//!
//! | family | ids | texts per call | `dimensions` |
//! |---|---|---|---|
//! | Titan Text v1 | `amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02` | 1 | only 1536 |
//! | Titan Text v2 | `amazon.titan-embed-text-v2:0` | 1 | `dimensions` (256, 512, 1024) |
//! | Titan Multimodal | `amazon.titan-embed-image-v1` | 1 | `embeddingConfig.outputEmbeddingLength` |
//! | Cohere v3 | `cohere.embed-english-v3`, `cohere.embed-multilingual-v3` | ≤ 96 | only 1024 |
//! | Cohere v4 | `cohere.embed-v4:0` | ≤ 96 | `output_dimension` |
//!
//! Titan calls fan out with bounded concurrency; Cohere inputs go in batches. Results keep the
//! input order. Request extras: Cohere `input_type` (default `search_document`) and
//! `truncate`; Titan v2 `normalize`.

use crate::wire::invoke::{
    CohereEmbedRequest, CohereEmbedResponse, TitanEmbedRequest, TitanEmbedResponse,
    TitanEmbeddingConfig,
};
use gomodel_core::model::is_geo_prefix;
use gomodel_core::GatewayError;
use serde_json::{Map, Value};

/// Concurrent InvokeModel calls per Titan embedding request.
pub const TITAN_CONCURRENCY: usize = 8;
/// Cohere's limit of texts per call.
pub const COHERE_BATCH: usize = 96;
/// Concurrent Cohere batches per embedding request.
pub const COHERE_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    TitanTextV1,
    TitanTextV2,
    TitanMultimodal,
    CohereV3,
    CohereV4,
}

impl Family {
    /// The family of a model id, inference-profile id or ARN, if supported.
    pub fn of(model: &str) -> Option<Family> {
        let base = model.rsplit('/').next().unwrap_or(model);
        let base = match base.split_once('.') {
            Some((prefix, rest)) if is_geo_prefix(prefix) => rest,
            _ => base,
        };
        const TABLE: [(&str, Family); 7] = [
            ("amazon.titan-embed-text-v1", Family::TitanTextV1),
            ("amazon.titan-embed-g1-text-02", Family::TitanTextV1),
            ("amazon.titan-embed-text-v2", Family::TitanTextV2),
            ("amazon.titan-embed-image-v1", Family::TitanMultimodal),
            ("cohere.embed-english-v3", Family::CohereV3),
            ("cohere.embed-multilingual-v3", Family::CohereV3),
            ("cohere.embed-v4", Family::CohereV4),
        ];
        TABLE
            .iter()
            .find(|(prefix, _)| base.starts_with(prefix))
            .map(|(_, f)| *f)
    }

    pub fn is_titan(self) -> bool {
        matches!(
            self,
            Family::TitanTextV1 | Family::TitanTextV2 | Family::TitanMultimodal
        )
    }
}

pub fn unsupported_model(model: &str) -> GatewayError {
    GatewayError::invalid_param(
        "model",
        format!(
            "embeddings for model `{model}` are not supported yet; supported families: Amazon Titan Text Embeddings v1/v2, Titan Multimodal Embeddings, Cohere Embed v3/v4"
        ),
    )
}

/// Validated per-request options, shared by every call of one embedding request.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub family: Family,
    pub dimensions: Option<u32>,
    pub input_type: String,
    pub truncate: Option<String>,
    pub normalize: Option<bool>,
}

impl Options {
    pub fn new(
        model: &str,
        dimensions: Option<u32>,
        extra: &Map<String, Value>,
    ) -> Result<Options, GatewayError> {
        let family = Family::of(model).ok_or_else(|| unsupported_model(model))?;
        let fixed = match family {
            Family::TitanTextV1 => Some(1536),
            Family::CohereV3 => Some(1024),
            _ => None,
        };
        let dimensions = match (dimensions, fixed) {
            // Asking for the native size is harmless; the model has no parameter for it.
            (Some(d), Some(native)) if d == native => None,
            (Some(d), Some(native)) => {
                return Err(GatewayError::invalid_param(
                    "dimensions",
                    format!(
                        "`{model}` produces {native}-dimensional embeddings only (asked for {d})"
                    ),
                ))
            }
            (d, _) => d,
        };
        let string = |key: &str| -> Result<Option<String>, GatewayError> {
            match extra.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(GatewayError::invalid_param(
                    key,
                    format!("{key} must be a string"),
                )),
            }
        };
        let normalize = match extra.get("normalize") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(GatewayError::invalid_param(
                    "normalize",
                    "normalize must be a boolean",
                ))
            }
        };
        Ok(Options {
            family,
            dimensions,
            input_type: string("input_type")?.unwrap_or_else(|| "search_document".to_owned()),
            truncate: string("truncate")?,
            normalize,
        })
    }

    /// The InvokeModel body for one Titan input.
    pub fn titan_body(&self, text: &str) -> Result<Vec<u8>, GatewayError> {
        let req = TitanEmbedRequest {
            input_text: text,
            dimensions: match self.family {
                Family::TitanTextV2 => self.dimensions,
                _ => None,
            },
            normalize: match self.family {
                Family::TitanTextV2 => self.normalize,
                _ => None,
            },
            embedding_config: match self.family {
                Family::TitanMultimodal => self.dimensions.map(|d| TitanEmbeddingConfig {
                    output_embedding_length: d,
                }),
                _ => None,
            },
        };
        serde_json::to_vec(&req)
            .map_err(|e| GatewayError::internal(format!("encoding embedding request: {e}")))
    }

    /// The InvokeModel body for one Cohere batch.
    pub fn cohere_body(&self, texts: &[String]) -> Result<Vec<u8>, GatewayError> {
        let req = CohereEmbedRequest {
            texts,
            input_type: &self.input_type,
            truncate: self.truncate.as_deref(),
            embedding_types: ["float"],
            output_dimension: match self.family {
                Family::CohereV4 => self.dimensions,
                _ => None,
            },
        };
        serde_json::to_vec(&req)
            .map_err(|e| GatewayError::internal(format!("encoding embedding request: {e}")))
    }
}

/// One Titan answer: the vector and its token count.
pub fn parse_titan(body: &[u8]) -> Result<(Vec<f32>, Option<u64>), GatewayError> {
    let r: TitanEmbedResponse = serde_json::from_slice(body).map_err(|e| {
        crate::errors::bad_upstream(format!("could not decode the Titan embedding answer: {e}"))
    })?;
    Ok((r.embedding, r.input_text_token_count))
}

/// One Cohere answer: `expected` vectors in input order.
pub fn parse_cohere(body: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, GatewayError> {
    let r: CohereEmbedResponse = serde_json::from_slice(body).map_err(|e| {
        crate::errors::bad_upstream(format!("could not decode the Cohere embedding answer: {e}"))
    })?;
    let vectors = r.embeddings.into_floats();
    if vectors.len() != expected {
        return Err(crate::errors::bad_upstream(format!(
            "Cohere returned {} embeddings for {expected} texts",
            vectors.len()
        )));
    }
    Ok(vectors)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn families() {
        let cases = [
            ("amazon.titan-embed-text-v1", Some(Family::TitanTextV1)),
            ("amazon.titan-embed-text-v2:0", Some(Family::TitanTextV2)),
            ("amazon.titan-embed-image-v1", Some(Family::TitanMultimodal)),
            ("cohere.embed-english-v3", Some(Family::CohereV3)),
            ("cohere.embed-multilingual-v3", Some(Family::CohereV3)),
            ("cohere.embed-v4:0", Some(Family::CohereV4)),
            ("us.cohere.embed-v4:0", Some(Family::CohereV4)),
            (
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
                Some(Family::TitanTextV2),
            ),
            ("amazon.nova-2-multimodal-embeddings-v1:0", None),
            ("anthropic.claude-3-5-haiku-20241022-v1:0", None),
        ];
        for (id, want) in cases {
            assert_eq!(Family::of(id), want, "{id}");
        }
    }

    #[test]
    fn bodies_per_family() {
        let extra = |v: Value| v.as_object().unwrap().clone();
        let texts = vec!["a".to_owned(), "b".to_owned()];
        let cases: Vec<(&str, Option<u32>, Value, Value)> = vec![
            (
                "amazon.titan-embed-text-v1",
                None,
                json!({}),
                json!({"inputText": "a"}),
            ),
            (
                "amazon.titan-embed-text-v1",
                Some(1536),
                json!({}),
                json!({"inputText": "a"}),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                Some(256),
                json!({"normalize": false}),
                json!({"inputText": "a", "dimensions": 256, "normalize": false}),
            ),
            (
                "amazon.titan-embed-image-v1",
                Some(384),
                json!({}),
                json!({"inputText": "a", "embeddingConfig": {"outputEmbeddingLength": 384}}),
            ),
            (
                "cohere.embed-english-v3",
                None,
                json!({}),
                json!({"texts": ["a", "b"], "input_type": "search_document", "embedding_types": ["float"]}),
            ),
            (
                "cohere.embed-v4:0",
                Some(512),
                json!({"input_type": "search_query", "truncate": "END"}),
                json!({"texts": ["a", "b"], "input_type": "search_query", "truncate": "END", "embedding_types": ["float"], "output_dimension": 512}),
            ),
        ];
        for (model, dims, ex, want) in cases {
            let o = Options::new(model, dims, &extra(ex)).unwrap();
            let body = if o.family.is_titan() {
                o.titan_body("a")
            } else {
                o.cohere_body(&texts)
            }
            .unwrap();
            let got: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(got, want, "{model}");
        }
    }

    #[test]
    fn bad_options_name_the_param() {
        let cases: Vec<(&str, Option<u32>, Value, &str)> = vec![
            (
                "amazon.titan-embed-text-v1",
                Some(256),
                json!({}),
                "dimensions",
            ),
            (
                "cohere.embed-english-v3",
                Some(512),
                json!({}),
                "dimensions",
            ),
            (
                "cohere.embed-v4:0",
                None,
                json!({"input_type": 3}),
                "input_type",
            ),
            (
                "amazon.titan-embed-text-v2:0",
                None,
                json!({"normalize": "yes"}),
                "normalize",
            ),
            ("meta.llama3-8b-instruct-v1:0", None, json!({}), "model"),
        ];
        for (model, dims, ex, param) in cases {
            let err = Options::new(model, dims, ex.as_object().unwrap()).unwrap_err();
            assert_eq!(err.status(), 400, "{model}");
            assert_eq!(err.param.as_deref(), Some(param), "{model}");
        }
    }

    #[test]
    fn parses_answers() {
        let (v, n) = parse_titan(br#"{"embedding":[0.1,0.2],"inputTextTokenCount":3}"#).unwrap();
        assert_eq!((v.len(), n), (2, Some(3)));
        let vs = parse_cohere(
            br#"{"embeddings":{"float":[[1.0],[2.0]]},"response_type":"embeddings_by_type"}"#,
            2,
        )
        .unwrap();
        assert_eq!(vs, vec![vec![1.0], vec![2.0]]);
        assert_eq!(
            parse_cohere(br#"{"embeddings":[[1.0]]}"#, 2)
                .unwrap_err()
                .status(),
            502
        );
        assert_eq!(parse_titan(b"nope").unwrap_err().status(), 502);
    }
}
