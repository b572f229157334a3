//! Embeddings over InvokeModel. The body is model-specific, so each supported family has its
//! own request/response mapping:
//!
//! | family | ids | texts per call | `dimensions` | `embedding_types` |
//! |---|---|---|---|---|
//! | Titan Text v1 | `amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02` | 1 | none (1536) | `float` |
//! | Titan Text v2 | `amazon.titan-embed-text-v2:0` | 1 | 256, 512, 1024 (`dimensions`) | `float`, `binary` |
//! | Titan Multimodal | `amazon.titan-embed-image-v1` | 1 | 256, 384, 1024 (`outputEmbeddingLength`) | `float` |
//! | Cohere v3 | `cohere.embed-english-v3`, `cohere.embed-multilingual-v3` | ≤ 96 | none (1024) | `float`, `int8`, `uint8`, `binary`, `ubinary` |
//! | Cohere v4 | `cohere.embed-v4:0` | ≤ 96 | 256, 512, 1024, 1536 (`output_dimension`) | as v3 |
//!
//! Titan calls fan out one per input and Cohere inputs go in batches of 96, both with bounded
//! concurrency ([`fan_out`]); results keep the input order. Request extras (top-level body
//! fields next to the OpenAI ones): Cohere `input_type` (default `search_document`) and
//! `truncate`; Titan v2 `normalize` (default `true`); `embedding_types` (one type: the OpenAI
//! answer has one vector per input). Any other extra is refused, never silently dropped.

use crate::wire::invoke::{
    CohereEmbedRequest, CohereEmbedResponse, TitanEmbedRequest, TitanEmbedResponse,
    TitanEmbeddingConfig,
};
use futures::StreamExt;
use gomodel_core::embed::{EmbedResponse, Vector};
use gomodel_core::model::is_geo_prefix;
use gomodel_core::GatewayError;
use serde_json::{Map, Value};
use std::future::Future;

/// Concurrent InvokeModel calls per Titan embedding request.
pub const TITAN_CONCURRENCY: usize = 8;
/// Cohere's limit of texts per call.
pub const COHERE_BATCH: usize = 96;
/// Concurrent Cohere batches per embedding request.
pub const COHERE_CONCURRENCY: usize = 4;

const COHERE_TYPES: &[&str] = &["float", "int8", "uint8", "binary", "ubinary"];
const COHERE_EXTRAS: &[&str] = &["input_type", "truncate", "embedding_types"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    TitanTextV1,
    TitanTextV2,
    TitanMultimodal,
    CohereV3,
    CohereV4,
}

/// What one family accepts.
struct Spec {
    /// Allowed `dimensions`; empty for a fixed-size model, which has no such parameter.
    dimensions: &'static [u32],
    /// The size of its vectors when `dimensions` is not sent.
    native: u32,
    /// Extra body fields it understands.
    extras: &'static [&'static str],
    /// Values of `embedding_types`.
    types: &'static [&'static str],
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

    fn spec(self) -> Spec {
        match self {
            Family::TitanTextV1 => Spec {
                dimensions: &[],
                native: 1536,
                extras: &[],
                types: &["float"],
            },
            Family::TitanTextV2 => Spec {
                dimensions: &[256, 512, 1024],
                native: 1024,
                extras: &["normalize", "embedding_types"],
                types: &["float", "binary"],
            },
            Family::TitanMultimodal => Spec {
                dimensions: &[256, 384, 1024],
                native: 1024,
                extras: &[],
                types: &["float"],
            },
            Family::CohereV3 => Spec {
                dimensions: &[],
                native: 1024,
                extras: COHERE_EXTRAS,
                types: COHERE_TYPES,
            },
            Family::CohereV4 => Spec {
                dimensions: &[256, 512, 1024, 1536],
                native: 1536,
                extras: COHERE_EXTRAS,
                types: COHERE_TYPES,
            },
        }
    }

    /// Texts per InvokeModel call and calls in flight at once.
    fn batching(self) -> (usize, usize) {
        if self.is_titan() {
            (1, TITAN_CONCURRENCY)
        } else {
            (COHERE_BATCH, COHERE_CONCURRENCY)
        }
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

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validated per-request options, shared by every call of one embedding request.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub family: Family,
    pub dimensions: Option<u32>,
    pub input_type: String,
    pub truncate: Option<String>,
    pub normalize: bool,
    /// The one embedding type requested from the model (`float` unless the client asked).
    pub embedding_type: String,
}

impl Options {
    pub fn new(
        model: &str,
        dimensions: Option<u32>,
        extra: &Map<String, Value>,
    ) -> Result<Options, GatewayError> {
        let family = Family::of(model).ok_or_else(|| unsupported_model(model))?;
        let spec = family.spec();
        if let Some(key) = extra.keys().find(|k| !spec.extras.contains(&k.as_str())) {
            let accepted = if spec.extras.is_empty() {
                "none".to_owned()
            } else {
                join(spec.extras)
            };
            return Err(GatewayError::invalid_param(
                key.as_str(),
                format!("Unrecognized request argument supplied: {key} (extra fields `{model}` accepts: {accepted})"),
            ));
        }
        if let Some(d) = dimensions {
            if spec.dimensions.is_empty() {
                return Err(GatewayError::invalid_param(
                    "dimensions",
                    format!(
                        "`{model}` does not support `dimensions`: it always returns {}-dimensional embeddings; omit the parameter",
                        spec.native
                    ),
                ));
            }
            if !spec.dimensions.contains(&d) {
                return Err(GatewayError::invalid_param(
                    "dimensions",
                    format!(
                        "Invalid 'dimensions': {d}. `{model}` supports only these values: {}",
                        join(spec.dimensions)
                    ),
                ));
            }
        }
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
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(GatewayError::invalid_param(
                    "normalize",
                    "normalize must be a boolean",
                ))
            }
        };
        let embedding_type = embedding_type(model, spec.types, extra.get("embedding_types"))?;
        Ok(Options {
            family,
            dimensions,
            input_type: string("input_type")?.unwrap_or_else(|| "search_document".to_owned()),
            truncate: string("truncate")?,
            normalize,
            embedding_type,
        })
    }

    /// Texts per InvokeModel call and calls in flight at once.
    pub fn batching(&self) -> (usize, usize) {
        self.family.batching()
    }

    /// The InvokeModel body for one call: one text for Titan, a batch for Cohere.
    pub fn body(&self, texts: &[String]) -> Result<Vec<u8>, GatewayError> {
        let encoded = if self.family.is_titan() {
            let text = texts.first().map_or("", String::as_str);
            serde_json::to_vec(&self.titan_request(text))
        } else {
            serde_json::to_vec(&self.cohere_request(texts))
        };
        encoded.map_err(|e| GatewayError::internal(format!("encoding embedding request: {e}")))
    }

    fn titan_request<'a>(&'a self, text: &'a str) -> TitanEmbedRequest<'a> {
        let v2 = self.family == Family::TitanTextV2;
        TitanEmbedRequest {
            input_text: text,
            dimensions: self.dimensions.filter(|_| v2),
            // Sent explicitly so the answer does not depend on Bedrock's default.
            normalize: v2.then_some(self.normalize),
            // Only asked for when it changes the answer: plain requests stay minimal.
            embedding_types: (v2 && self.embedding_type != "float")
                .then_some([self.embedding_type.as_str()]),
            embedding_config: match self.family {
                Family::TitanMultimodal => self.dimensions.map(|d| TitanEmbeddingConfig {
                    output_embedding_length: d,
                }),
                _ => None,
            },
        }
    }

    fn cohere_request<'a>(&'a self, texts: &'a [String]) -> CohereEmbedRequest<'a> {
        CohereEmbedRequest {
            texts,
            input_type: &self.input_type,
            truncate: self.truncate.as_deref(),
            // Always explicit: v3 then answers `embeddings_by_type` like v4, and a quantised
            // type is computed by Cohere instead of being derived here.
            embedding_types: [self.embedding_type.as_str()],
            output_dimension: match self.family {
                Family::CohereV4 => self.dimensions,
                _ => None,
            },
        }
    }

    /// One call's answer: `expected` vectors in input order and the input tokens (the body's
    /// count when the model reports one, else the `X-Amzn-Bedrock-Input-Token-Count` header).
    pub fn parse(
        &self,
        body: &[u8],
        expected: usize,
        header_tokens: Option<u64>,
    ) -> Result<(Vec<Vector>, u64), GatewayError> {
        let (vectors, body_tokens) = if self.family.is_titan() {
            let (v, n) = parse_titan(body, &self.embedding_type)?;
            (vec![v], n)
        } else {
            parse_cohere(body, &self.embedding_type)?
        };
        if vectors.len() != expected {
            return Err(crate::errors::bad_upstream(format!(
                "Bedrock returned {} embeddings for {expected} texts",
                vectors.len()
            )));
        }
        Ok((vectors, body_tokens.or(header_tokens).unwrap_or(0)))
    }
}

/// `embedding_types`: one type, as a string or a one-element array.
fn embedding_type(
    model: &str,
    allowed: &[&str],
    value: Option<&Value>,
) -> Result<String, GatewayError> {
    let kind = match value {
        None | Some(Value::Null) => return Ok("float".to_owned()),
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(items)) if items.len() == 1 => items.first().and_then(Value::as_str),
        Some(_) => None,
    };
    match kind {
        Some(k) if allowed.contains(&k) => Ok(k.to_owned()),
        _ => Err(GatewayError::invalid_param(
            "embedding_types",
            format!(
                "embedding_types must name exactly one type (one vector per input); `{model}` supports: {}",
                join(allowed)
            ),
        )),
    }
}

/// One Titan answer: the vector of type `kind` and the token count.
pub fn parse_titan(body: &[u8], kind: &str) -> Result<(Vector, Option<u64>), GatewayError> {
    let r: TitanEmbedResponse = serde_json::from_slice(body).map_err(|e| {
        crate::errors::bad_upstream(format!("could not decode the Titan embedding answer: {e}"))
    })?;
    let vector = match (kind, r.embedding, r.embeddings_by_type) {
        ("float", Some(v), _) => Some(v),
        (_, _, Some(mut by_type)) => by_type.remove(kind),
        _ => None,
    };
    let vector = vector.ok_or_else(|| {
        crate::errors::bad_upstream(format!("the Titan embedding answer has no `{kind}` vector"))
    })?;
    Ok((to_vector(vector, "Titan")?, r.input_text_token_count))
}

/// One Cohere answer: its vectors of type `kind` and the billed input tokens, if reported.
pub fn parse_cohere(body: &[u8], kind: &str) -> Result<(Vec<Vector>, Option<u64>), GatewayError> {
    let r: CohereEmbedResponse = serde_json::from_slice(body).map_err(|e| {
        crate::errors::bad_upstream(format!("could not decode the Cohere embedding answer: {e}"))
    })?;
    let tokens = r.billed_input_tokens();
    let vectors = r.embeddings.into_type(kind).ok_or_else(|| {
        crate::errors::bad_upstream(format!(
            "the Cohere embedding answer has no `{kind}` vectors"
        ))
    })?;
    let vectors = vectors
        .into_iter()
        .map(|v| to_vector(v, "Cohere"))
        .collect::<Result<_, _>>()?;
    Ok((vectors, tokens))
}

/// A vector from the answer's JSON, refused unless it is an array of numbers.
fn to_vector(raw: &serde_json::value::RawValue, family: &str) -> Result<Vector, GatewayError> {
    Vector::from_json(raw).ok_or_else(|| {
        crate::errors::bad_upstream(format!(
            "the {family} embedding answer holds a vector that is not an array of numbers"
        ))
    })
}

/// Runs `call(0..n)` with at most `limit` calls in flight, in whatever order they finish, and
/// returns the results in index order. The first error is returned as soon as it arrives (not
/// after the calls before it finish, as an ordered buffer would); returning drops the calls
/// still in flight, which cancels their HTTP requests.
pub async fn fan_out<T, F, Fut>(n: usize, limit: usize, call: F) -> Result<Vec<T>, GatewayError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, GatewayError>>,
{
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(n).collect();
    let mut pending = futures::stream::iter(0..n)
        .map(|i| {
            let fut = call(i);
            async move { (i, fut.await) }
        })
        .buffer_unordered(limit.max(1));
    while let Some((i, result)) = pending.next().await {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(result?);
        }
    }
    slots
        .into_iter()
        .map(|slot| {
            slot.ok_or_else(|| {
                GatewayError::internal("an embedding sub-request produced no result")
            })
        })
        .collect()
}

/// Joins per-call results (in input order) into one answer.
pub fn merge(calls: Vec<(Vec<Vector>, u64)>) -> EmbedResponse {
    let input_tokens = calls.iter().map(|(_, n)| n).sum();
    EmbedResponse {
        embeddings: calls.into_iter().flat_map(|(v, _)| v).collect(),
        input_tokens,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn extra(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

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
        let texts = vec!["a".to_owned(), "b".to_owned()];
        let cases: Vec<(&str, Option<u32>, Value, Value)> = vec![
            (
                "amazon.titan-embed-text-v1",
                None,
                json!({}),
                json!({"inputText": "a"}),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                None,
                json!({}),
                json!({"inputText": "a", "normalize": true}),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                Some(256),
                json!({"normalize": false, "embedding_types": ["binary"]}),
                json!({"inputText": "a", "dimensions": 256, "normalize": false, "embeddingTypes": ["binary"]}),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                Some(512),
                json!({"embedding_types": "float"}),
                json!({"inputText": "a", "dimensions": 512, "normalize": true}),
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
                "cohere.embed-multilingual-v3",
                None,
                json!({"embedding_types": ["int8"], "truncate": "NONE"}),
                json!({"texts": ["a", "b"], "input_type": "search_document", "truncate": "NONE", "embedding_types": ["int8"]}),
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
            let body = o.body(&texts).unwrap();
            let got: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(got, want, "{model}");
        }
    }

    #[test]
    fn bad_options_name_the_param() {
        let cases: Vec<(&str, Option<u32>, Value, &str, &str)> = vec![
            (
                "amazon.titan-embed-text-v1",
                Some(1536),
                json!({}),
                "dimensions",
                "does not support `dimensions`",
            ),
            (
                "amazon.titan-embed-text-v2:0",
                Some(300),
                json!({}),
                "dimensions",
                "only these values: 256, 512, 1024",
            ),
            (
                "cohere.embed-v4:0",
                Some(768),
                json!({}),
                "dimensions",
                "256, 512, 1024, 1536",
            ),
            (
                "cohere.embed-english-v3",
                Some(1024),
                json!({}),
                "dimensions",
                "1024-dimensional",
            ),
            (
                "cohere.embed-v4:0",
                None,
                json!({"input_type": 3}),
                "input_type",
                "must be a string",
            ),
            (
                "amazon.titan-embed-text-v2:0",
                None,
                json!({"normalize": "yes"}),
                "normalize",
                "boolean",
            ),
            (
                "amazon.titan-embed-text-v2:0",
                None,
                json!({"input_type": "search_query"}),
                "input_type",
                "normalize, embedding_types",
            ),
            (
                "amazon.titan-embed-text-v1",
                None,
                json!({"normalize": true}),
                "normalize",
                "accepts: none",
            ),
            (
                "cohere.embed-english-v3",
                None,
                json!({"embedding_types": ["float", "int8"]}),
                "embedding_types",
                "exactly one",
            ),
            (
                "amazon.titan-embed-text-v2:0",
                None,
                json!({"embedding_types": "int8"}),
                "embedding_types",
                "float, binary",
            ),
            (
                "meta.llama3-8b-instruct-v1:0",
                None,
                json!({}),
                "model",
                "not supported",
            ),
        ];
        for (model, dims, ex, param, fragment) in cases {
            let err = Options::new(model, dims, &extra(ex)).unwrap_err();
            assert_eq!(err.status(), 400, "{model}");
            assert_eq!(err.param.as_deref(), Some(param), "{model}");
            assert!(err.message.contains(fragment), "{model}: {}", err.message);
        }
    }

    #[test]
    fn parses_answers() {
        type Case = (
            &'static str,
            Value,
            &'static [u8],
            Option<u64>,
            Result<(Vec<Vec<f32>>, u64), u16>,
        );
        let cases: Vec<Case> =
            vec![
            (
                "amazon.titan-embed-text-v2:0",
                json!({}),
                br#"{"embedding":[0.1,0.2],"inputTextTokenCount":3}"#,
                Some(9),
                Ok((vec![vec![0.1, 0.2]], 3)),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                json!({"embedding_types": ["binary"]}),
                br#"{"embeddingsByType":{"binary":[1,0]},"inputTextTokenCount":2}"#,
                None,
                Ok((vec![vec![1.0, 0.0]], 2)),
            ),
            (
                "amazon.titan-embed-text-v2:0",
                json!({"embedding_types": ["binary"]}),
                br#"{"embedding":[0.5]}"#,
                None,
                Err(502),
            ),
            ("amazon.titan-embed-text-v1", json!({}), b"nope", None, Err(502)),
            (
                "cohere.embed-english-v3",
                json!({}),
                br#"{"embeddings":{"float":[[1.0],[2.0]]},"response_type":"embeddings_by_type"}"#,
                Some(4),
                Ok((vec![vec![1.0], vec![2.0]], 4)),
            ),
            (
                "cohere.embed-english-v3",
                json!({}),
                br#"{"embeddings":[[1.0],[2.0]],"response_type":"embeddings_floats"}"#,
                None,
                Ok((vec![vec![1.0], vec![2.0]], 0)),
            ),
            (
                "cohere.embed-v4:0",
                json!({"embedding_types": "int8"}),
                br#"{"embeddings":{"int8":[[-5],[7]]},"meta":{"billed_units":{"input_tokens":6}}}"#,
                Some(1),
                Ok((vec![vec![-5.0], vec![7.0]], 6)),
            ),
            (
                "cohere.embed-english-v3",
                json!({}),
                br#"{"embeddings":[[1.0]]}"#,
                None,
                Err(502),
            ),
            // Vectors are forwarded as text, so one that is not all numbers is refused here.
            (
                "amazon.titan-embed-text-v2:0",
                json!({}),
                br#"{"embedding":[0.1,"0.2"],"inputTextTokenCount":3}"#,
                None,
                Err(502),
            ),
            (
                "cohere.embed-english-v3",
                json!({}),
                br#"{"embeddings":[[1.0],[null]]}"#,
                None,
                Err(502),
            ),
            (
                "cohere.embed-english-v3",
                json!({}),
                br#"{"embeddings":{"float":{"a":[1.0]}}}"#,
                None,
                Err(502),
            ),
        ];
        for (model, ex, body, header, want) in cases {
            let o = Options::new(model, None, &extra(ex)).unwrap();
            let expected = if o.family.is_titan() { 1 } else { 2 };
            let got = o
                .parse(body, expected, header)
                .map(|(v, n)| (v.iter().map(Vector::to_f32).collect(), n))
                .map_err(|e| e.status());
            assert_eq!(got, want, "{model} {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn vectors_keep_the_upstream_text() {
        let o = Options::new("cohere.embed-english-v3", None, &Map::new()).unwrap();
        let body = br#"{"embeddings":{"float":[[0.0123456789012, -1e-7],[ 2 ]]}}"#;
        let (v, _) = o.parse(body, 2, None).unwrap();
        let texts: Vec<&str> = v.iter().map(|v| v.as_json().get()).collect();
        assert_eq!(texts, ["[0.0123456789012, -1e-7]", "[ 2 ]"]);
    }

    #[tokio::test(start_paused = true)]
    async fn fan_out_keeps_order_bounds_concurrency_and_fails_fast() {
        // Later indices finish first; results still come back in index order.
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let got = fan_out(10, 3, |i| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100 - 10 * i as u64)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(i)
            }
        })
        .await
        .unwrap();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);

        // Call 0 never finishes: the error of call 1 must still end the whole fan-out.
        let started = tokio::time::Instant::now();
        let err = fan_out(4, 4, |i| async move {
            if i == 0 {
                futures::future::pending::<()>().await;
            }
            if i == 1 {
                return Err(GatewayError::invalid_param("input", "boom"));
            }
            Ok(i)
        })
        .await
        .unwrap_err();
        assert_eq!(err.message, "boom");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(
            fan_out(0, 4, |i| async move { Ok(i) }).await.unwrap(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn merge_concatenates_in_order_and_sums_tokens() {
        let v = |x: f32| Vector::from_floats(&[x]);
        let r = merge(vec![(vec![v(1.0), v(2.0)], 3), (vec![v(3.0)], 4)]);
        assert_eq!(r.embeddings, vec![v(1.0), v(2.0), v(3.0)]);
        assert_eq!(r.input_tokens, 7);
    }
}
