//! `POST /v1/embeddings` wire types and translation, per `CreateEmbeddingRequest` /
//! `CreateEmbeddingResponse`.

use base64::Engine as _;
use gomodel_core::embed::{EmbedRequest, EmbedResponse, Vector};
use gomodel_core::GatewayError;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// OpenAI's limit on the number of inputs per request.
const MAX_INPUTS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreateEmbeddingRequest {
    pub model: String,
    pub input: EmbeddingInput,
    /// `float` (default) or `base64`.
    pub encoding_format: Option<String>,
    pub dimensions: Option<i64>,
    /// Accepted for compatibility; Bedrock embedding APIs have no end-user field.
    pub user: Option<String>,
    /// Provider-specific fields (Cohere `input_type`, `truncate`, `embedding_types`, …), passed
    /// through to the provider unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CreateEmbeddingRequest {
    /// Whether the client asked for base64-encoded vectors (read before `to_neutral` consumes
    /// the request).
    pub fn wants_base64(&self) -> bool {
        self.encoding_format.as_deref() == Some("base64")
    }
}

/// `input`: a string, an array of strings, or token ids (one array or an array of arrays).
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    /// Token ids are recognized only to refuse them with a clear message.
    Tokens,
}

/// One element of an `input` array.
enum Element {
    Text(String),
    Token,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;

        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = Element;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a token id or an array of token ids")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
                Ok(Element::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Element, E> {
                Ok(Element::Text(v))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
                Ok(Element::Token)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
                Ok(Element::Token)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Token)
            }
        }

        deserializer.deserialize_any(ElementVisitor)
    }
}

impl<'de> Deserialize<'de> for EmbeddingInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InputVisitor;

        impl<'de> Visitor<'de> for InputVisitor {
            type Value = EmbeddingInput;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EmbeddingInput::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(EmbeddingInput::Text(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut texts = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(MAX_INPUTS));
                let mut tokens = false;
                while let Some(el) = seq.next_element::<Element>()? {
                    match el {
                        Element::Text(t) => texts.push(t),
                        Element::Token => tokens = true,
                    }
                }
                match (tokens, texts.is_empty()) {
                    (false, _) => Ok(EmbeddingInput::Texts(texts)),
                    (true, true) => Ok(EmbeddingInput::Tokens),
                    (true, false) => Err(de::Error::custom(
                        "expected an array of strings or an array of token ids, not a mix",
                    )),
                }
            }
        }

        deserializer.deserialize_any(InputVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateEmbeddingResponse {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<Embedding>,
    /// The model string the client asked for.
    pub model: String,
    pub usage: EmbeddingUsage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embedding {
    /// Always `embedding`.
    pub object: &'static str,
    pub index: u32,
    pub embedding: EmbeddingVector,
}

/// A vector as a JSON array of numbers (the provider's text, written verbatim), or (for
/// `encoding_format: base64`) as the base64 of its little-endian `f32` bytes, exactly as OpenAI
/// encodes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    #[serde(serialize_with = "serialize_vector")]
    Float(Vector),
    Base64(String),
}

fn serialize_vector<S: serde::Serializer>(v: &Vector, s: S) -> Result<S::Ok, S::Error> {
    v.as_json().serialize(s)
}

impl CreateEmbeddingResponse {
    /// About how many bytes the JSON encoding takes, so it can be written into one buffer
    /// instead of one grown by doubling (an answer of 16 × 1,024 numbers is ≈ 170 KB).
    pub fn encoded_len_hint(&self) -> usize {
        let vectors: usize = self
            .data
            .iter()
            .map(|d| match &d.embedding {
                EmbeddingVector::Float(v) => v.as_json().get().len(),
                EmbeddingVector::Base64(b) => b.len() + 2,
            })
            .sum();
        // Per item: `{"object":"embedding","index":N,"embedding":}` and a comma; the envelope
        // with the model name and usage.
        vectors + self.data.len() * 48 + self.model.len() + 128
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmbeddingUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

/// Parses an embeddings body with OpenAI-shaped errors naming the field at fault.
pub fn parse_request(body: &[u8]) -> Result<CreateEmbeddingRequest, GatewayError> {
    crate::parse::parse_json(body)
}

/// Validates the request and converts it; `upstream_model` is the provider's id after routing.
pub fn to_neutral(
    req: CreateEmbeddingRequest,
    upstream_model: String,
) -> Result<EmbedRequest, GatewayError> {
    let inputs = match req.input {
        EmbeddingInput::Text(t) => vec![t],
        EmbeddingInput::Texts(v) => v,
        EmbeddingInput::Tokens => {
            return Err(GatewayError::invalid_param(
                "input",
                "Token id input is not supported by Bedrock embedding models; send text.",
            ))
        }
    };
    if inputs.is_empty() {
        return Err(GatewayError::invalid_param(
            "input",
            "Invalid 'input': empty array. Expected an array with minimum length 1.",
        ));
    }
    if inputs.len() > MAX_INPUTS {
        return Err(GatewayError::invalid_param(
            "input",
            format!("Invalid 'input': array too long. Expected an array with maximum length {MAX_INPUTS}, but got an array with length {} instead.", inputs.len()),
        ));
    }
    if let Some(i) = inputs.iter().position(String::is_empty) {
        let message = if inputs.len() == 1 {
            "Invalid 'input': empty string. Expected a non-empty string.".to_owned()
        } else {
            format!("Invalid 'input[{i}]': empty string. Expected a non-empty string.")
        };
        return Err(GatewayError::invalid_param("input", message));
    }
    match req.encoding_format.as_deref() {
        None | Some("float" | "base64") => {}
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "encoding_format",
                format!("Invalid value: '{other}'. Supported values are: 'float' and 'base64'."),
            ))
        }
    }
    let dimensions = match req.dimensions {
        None => None,
        Some(d) => match u32::try_from(d) {
            Ok(d) if d >= 1 => Some(d),
            _ => {
                return Err(GatewayError::invalid_param(
                    "dimensions",
                    "Invalid 'dimensions': expected a positive integer.",
                ))
            }
        },
    };
    Ok(EmbedRequest {
        model: upstream_model,
        inputs,
        dimensions,
        extra: req.extra,
    })
}

/// Builds the client's response; `model` is the string the client sent.
pub fn from_neutral(resp: EmbedResponse, model: &str, base64: bool) -> CreateEmbeddingResponse {
    let data = resp
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(i, v)| Embedding {
            object: "embedding",
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                EmbeddingVector::Base64(encode_base64(&v.to_f32()))
            } else {
                EmbeddingVector::Float(v)
            },
        })
        .collect();
    CreateEmbeddingResponse {
        object: "list",
        data,
        model: model.to_owned(),
        usage: EmbeddingUsage {
            prompt_tokens: resp.input_tokens,
            total_tokens: resp.input_tokens,
        },
    }
}

/// Little-endian `f32` bytes in standard, padded base64: what OpenAI returns and what the
/// official SDKs decode with `np.frombuffer(..., dtype="float32")`.
pub fn encode_base64(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 4);
    for x in vector {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::spec_check::assert_matches;
    use gomodel_core::ErrorKind;
    use serde_json::json;

    fn convert(body: Value) -> Result<EmbedRequest, GatewayError> {
        to_neutral(parse_request(body.to_string().as_bytes())?, "up".to_owned())
    }

    #[test]
    fn inputs_and_options_map() {
        let cases: Vec<(Value, Vec<&str>, Option<u32>, Value)> = vec![
            (
                json!({"model": "m", "input": "hello"}),
                vec!["hello"],
                None,
                json!({}),
            ),
            (
                json!({"model": "m", "input": ["a", "b"], "dimensions": 256, "encoding_format": "float", "user": "u"}),
                vec!["a", "b"],
                Some(256),
                json!({}),
            ),
            (
                json!({"model": "m", "input": ["q"], "input_type": "search_query", "truncate": "END", "embedding_types": ["float"], "encoding_format": "base64"}),
                vec!["q"],
                None,
                json!({"input_type": "search_query", "truncate": "END", "embedding_types": ["float"]}),
            ),
        ];
        for (body, inputs, dimensions, extra) in cases {
            let r = convert(body.clone()).unwrap();
            assert_eq!(r.model, "up");
            assert_eq!(r.inputs, inputs, "{body}");
            assert_eq!(r.dimensions, dimensions, "{body}");
            assert_eq!(Value::Object(r.extra), extra, "{body}");
        }
    }

    #[test]
    fn refused_inputs_name_their_param() {
        let many: Vec<String> = (0..2049).map(|i| i.to_string()).collect();
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                json!({"model": "m", "input": [1, 2, 3]}),
                "input",
                "Token id input is not supported",
            ),
            (
                json!({"model": "m", "input": [[1, 2], [3]]}),
                "input",
                "Token id input is not supported",
            ),
            (json!({"model": "m", "input": ""}), "input", "empty string"),
            (json!({"model": "m", "input": []}), "input", "empty array"),
            (
                json!({"model": "m", "input": ["a", ""]}),
                "input",
                "'input[1]'",
            ),
            (
                json!({"model": "m", "input": many}),
                "input",
                "maximum length 2048",
            ),
            (
                json!({"model": "m", "input": "x", "encoding_format": "int8"}),
                "encoding_format",
                "'int8'",
            ),
            (
                json!({"model": "m", "input": "x", "dimensions": 0}),
                "dimensions",
                "positive",
            ),
            (
                json!({"model": "m", "input": ["a", 1]}),
                "input",
                "not a mix",
            ),
            (
                json!({"model": "m", "input": 5}),
                "input",
                "a string or an array of strings",
            ),
            (
                json!({"model": "m"}),
                "input",
                "Missing required parameter: 'input'.",
            ),
            (
                json!({"input": "x"}),
                "model",
                "Missing required parameter: 'model'.",
            ),
        ];
        for (body, param, fragment) in cases {
            let err = convert(body.clone())
                .err()
                .unwrap_or_else(|| panic!("{body} accepted"));
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{body}");
            assert_eq!(err.param.as_deref(), Some(param), "{body}: {}", err.message);
            assert!(err.message.contains(fragment), "{body}: {:?}", err.message);
        }
    }

    #[test]
    fn wants_base64_reads_encoding_format() {
        for (format, want) in [
            (json!(null), false),
            (json!("float"), false),
            (json!("base64"), true),
        ] {
            let req = parse_request(
                json!({"model": "m", "input": "x", "encoding_format": format})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            assert_eq!(req.wants_base64(), want, "{format}");
        }
    }

    #[test]
    fn float_response_matches_spec() {
        let raw = |t: &str| {
            Vector::from_json(&serde_json::value::RawValue::from_string(t.to_owned()).unwrap())
                .unwrap()
        };
        let resp = EmbedResponse {
            embeddings: vec![raw("[0.5, -1.25]"), raw("[3.0]")],
            input_tokens: 9,
        };
        let out = from_neutral(resp, "client-model", false);
        // The provider's text goes out as it came (no re-printing of the numbers).
        let text = serde_json::to_string(&out).unwrap();
        assert!(text.contains(r#""embedding":[0.5, -1.25]}"#), "{text}");
        assert!(out.encoded_len_hint() >= text.len(), "{text}");
        let v = serde_json::to_value(out).unwrap();
        assert_matches("CreateEmbeddingResponse", &v);
        assert_eq!(
            v,
            json!({
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.5, -1.25]},
                    {"object": "embedding", "index": 1, "embedding": [3.0]}
                ],
                "model": "client-model",
                "usage": {"prompt_tokens": 9, "total_tokens": 9}
            })
        );
    }

    #[test]
    fn base64_is_little_endian_f32_and_round_trips() {
        // Known value: 1.0f32 = 0x3F800000 → LE bytes 00 00 80 3F.
        assert_eq!(encode_base64(&[1.0]), "AACAPw==");
        assert_eq!(encode_base64(&[]), "");
        let vectors = [
            gomodel_core::embed::AWKWARD_FLOATS.to_vec(),
            (0..1024).map(|i| (i as f32).sin()).collect(),
        ];
        for v in vectors {
            let encoded = encode_base64(&v);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&encoded)
                .unwrap();
            let back: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            assert_eq!(
                back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
        let resp = EmbedResponse {
            embeddings: vec![Vector::from_floats(&[1.0])],
            input_tokens: 1,
        };
        let v = serde_json::to_value(from_neutral(resp, "m", true)).unwrap();
        assert_eq!(v["data"][0]["embedding"], "AACAPw==");
    }
}
