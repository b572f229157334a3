//! InvokeModel for the embedding models: each family's documented request schema (unknown keys
//! rejected the way Bedrock's JSON-schema check words it) and deterministic vectors seeded by a
//! hash of the input text.

use crate::catalog::EmbeddingFamily;
use crate::converse::count_words;
use crate::errors::ApiError;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Largest Titan `inputText` in characters.
const TITAN_MAX_CHARS: usize = 50_000;
/// Most texts in one Cohere request.
const COHERE_MAX_TEXTS: usize = 96;
/// Longest Cohere v3 text in characters.
const COHERE_V3_MAX_CHARS: usize = 2048;
/// Longest Cohere v4 text in characters (its context is far larger than v3's).
const COHERE_V4_MAX_CHARS: usize = 512_000;

/// Type of one request field, JSON-schema style.
#[derive(Debug, Clone, Copy)]
enum FieldType {
    /// A string with length bounds.
    Str { min: usize, max: usize },
    /// A string from a fixed set.
    StrEnum(&'static [&'static str]),
    /// An integer from a fixed set.
    IntEnum(&'static [i64]),
    /// An integer in a range.
    IntRange { min: i64, max: i64 },
    /// A boolean.
    Bool,
    /// An array of strings.
    StrArray {
        min: usize,
        max: usize,
        item_max: usize,
        item_enum: Option<&'static [&'static str]>,
    },
    /// An array of objects (Cohere v4 `inputs`), not inspected further.
    ObjectArray { max: usize },
}

#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    ty: FieldType,
    required: bool,
}

const fn field(name: &'static str, ty: FieldType, required: bool) -> Field {
    Field { name, ty, required }
}

const COHERE_INPUT_TYPES: &[&str] = &[
    "search_document",
    "search_query",
    "classification",
    "clustering",
];
const COHERE_EMBEDDING_TYPES: &[&str] = &["float", "int8", "uint8", "binary", "ubinary"];

const TITAN_V1: &[Field] = &[field(
    "inputText",
    FieldType::Str {
        min: 1,
        max: TITAN_MAX_CHARS,
    },
    true,
)];

const TITAN_V2: &[Field] = &[
    field(
        "inputText",
        FieldType::Str {
            min: 1,
            max: TITAN_MAX_CHARS,
        },
        true,
    ),
    field("dimensions", FieldType::IntEnum(&[256, 512, 1024]), false),
    field("normalize", FieldType::Bool, false),
    field(
        "embeddingTypes",
        FieldType::StrArray {
            min: 1,
            max: 2,
            item_max: 16,
            item_enum: Some(&["float", "binary"]),
        },
        false,
    ),
];

const COHERE_V3: &[Field] = &[
    field(
        "texts",
        FieldType::StrArray {
            min: 0,
            max: COHERE_MAX_TEXTS,
            item_max: COHERE_V3_MAX_CHARS,
            item_enum: None,
        },
        false,
    ),
    field(
        "images",
        FieldType::StrArray {
            min: 1,
            max: 1,
            item_max: 5_000_000,
            item_enum: None,
        },
        false,
    ),
    field("input_type", FieldType::StrEnum(COHERE_INPUT_TYPES), true),
    field(
        "truncate",
        FieldType::StrEnum(&["NONE", "START", "END"]),
        false,
    ),
    field(
        "embedding_types",
        FieldType::StrArray {
            min: 1,
            max: 5,
            item_max: 16,
            item_enum: Some(COHERE_EMBEDDING_TYPES),
        },
        false,
    ),
];

const COHERE_V4: &[Field] = &[
    field(
        "texts",
        FieldType::StrArray {
            min: 0,
            max: COHERE_MAX_TEXTS,
            item_max: COHERE_V4_MAX_CHARS,
            item_enum: None,
        },
        false,
    ),
    field(
        "images",
        FieldType::StrArray {
            min: 0,
            max: COHERE_MAX_TEXTS,
            item_max: 5_000_000,
            item_enum: None,
        },
        false,
    ),
    field(
        "inputs",
        FieldType::ObjectArray {
            max: COHERE_MAX_TEXTS,
        },
        false,
    ),
    field("input_type", FieldType::StrEnum(COHERE_INPUT_TYPES), true),
    field(
        "output_dimension",
        FieldType::IntEnum(&[256, 512, 1024, 1536]),
        false,
    ),
    field(
        "embedding_types",
        FieldType::StrArray {
            min: 1,
            max: 5,
            item_max: 16,
            item_enum: Some(COHERE_EMBEDDING_TYPES),
        },
        false,
    ),
    field(
        "truncate",
        FieldType::StrEnum(&["NONE", "START", "END", "LEFT", "RIGHT"]),
        false,
    ),
    field(
        "max_tokens",
        FieldType::IntRange {
            min: 1,
            max: 128_000,
        },
        false,
    ),
];

fn schema(family: EmbeddingFamily) -> &'static [Field] {
    match family {
        EmbeddingFamily::TitanV1 => TITAN_V1,
        EmbeddingFamily::TitanV2 => TITAN_V2,
        EmbeddingFamily::CohereV3 => COHERE_V3,
        EmbeddingFamily::CohereV4 => COHERE_V4,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn check_field(f: &Field, v: &Value, out: &mut Vec<String>) {
    let at = format!("#/{}", f.name);
    let wrong = |expected: &str, out: &mut Vec<String>| {
        out.push(format!(
            "{at}: expected type: {expected}, found: {}",
            json_type(v)
        ));
    };
    match f.ty {
        FieldType::Str { min, max } => {
            let Some(s) = v.as_str() else {
                return wrong("String", out);
            };
            let n = s.chars().count();
            if n < min {
                out.push(format!("{at}: expected minLength: {min}, actual: {n}"));
            }
            if n > max {
                out.push(format!("{at}: expected maxLength: {max}, actual: {n}"));
            }
        }
        FieldType::StrEnum(allowed) => {
            let Some(s) = v.as_str() else {
                return wrong("String", out);
            };
            if !allowed.contains(&s) {
                out.push(format!("{at}: {s} is not a valid enum value"));
            }
        }
        FieldType::IntEnum(allowed) => {
            let Some(i) = v.as_i64() else {
                return wrong("Integer", out);
            };
            if !allowed.contains(&i) {
                out.push(format!("{at}: {i} is not a valid enum value"));
            }
        }
        FieldType::IntRange { min, max } => {
            let Some(i) = v.as_i64() else {
                return wrong("Integer", out);
            };
            if i < min {
                out.push(format!("{at}: {i} is not greater or equal to {min}"));
            }
            if i > max {
                out.push(format!("{at}: {i} is not less or equal to {max}"));
            }
        }
        FieldType::Bool => {
            if !v.is_boolean() {
                wrong("Boolean", out);
            }
        }
        FieldType::StrArray {
            min,
            max,
            item_max,
            item_enum,
        } => {
            let Some(items) = v.as_array() else {
                return wrong("JSONArray", out);
            };
            if items.len() < min {
                out.push(format!(
                    "{at}: expected minimum item count: {min}, found: {}",
                    items.len()
                ));
            }
            if items.len() > max {
                out.push(format!(
                    "{at}: expected maximum item count: {max}, found: {}",
                    items.len()
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else {
                    out.push(format!(
                        "{at}/{i}: expected type: String, found: {}",
                        json_type(item)
                    ));
                    continue;
                };
                if let Some(allowed) = item_enum {
                    if !allowed.contains(&s) {
                        out.push(format!("{at}/{i}: {s} is not a valid enum value"));
                    }
                } else if s.chars().count() > item_max {
                    out.push(format!(
                        "{at}/{i}: expected maxLength: {item_max}, actual: {}",
                        s.chars().count()
                    ));
                }
            }
        }
        FieldType::ObjectArray { max } => {
            let Some(items) = v.as_array() else {
                return wrong("JSONArray", out);
            };
            if items.len() > max {
                out.push(format!(
                    "{at}: expected maximum item count: {max}, found: {}",
                    items.len()
                ));
            }
            for (i, item) in items.iter().enumerate() {
                if !item.is_object() {
                    out.push(format!(
                        "{at}/{i}: expected type: JSONObject, found: {}",
                        json_type(item)
                    ));
                }
            }
        }
    }
}

fn malformed(detail: &str) -> ApiError {
    ApiError::validation(format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

/// Validates an InvokeModel body for `family`, answering Bedrock's "Malformed input request"
/// ValidationException on the first problem (or the count, when there are several).
pub fn validate(family: EmbeddingFamily, body: &Value) -> Result<(), ApiError> {
    let Value::Object(map) = body else {
        return Err(malformed(&format!(
            "#: expected type: JSONObject, found: {}",
            json_type(body)
        )));
    };
    let fields = schema(family);
    let mut violations = Vec::new();
    for key in map.keys() {
        if !fields.iter().any(|f| f.name == key) {
            violations.push(format!("#: extraneous key [{key}] is not permitted"));
        }
    }
    for f in fields {
        match map.get(f.name) {
            None | Some(Value::Null) if f.required => {
                violations.push(format!("#: required key [{}] not found", f.name));
            }
            None => {}
            Some(v) => check_field(f, v, &mut violations),
        }
    }
    if matches!(
        family,
        EmbeddingFamily::CohereV3 | EmbeddingFamily::CohereV4
    ) {
        let present = |k: &str| {
            map.get(k)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        if !present("texts") && !present("images") && !present("inputs") {
            violations.push("#: required key [texts] not found".into());
        }
    }
    match violations.len() {
        0 => Ok(()),
        1 => Err(malformed(&violations[0])),
        n => Err(malformed(&format!("#: {n} schema violations found"))),
    }
}

/// The text that carries directives: Titan's `inputText`, else the first Cohere text that
/// holds one (so a directive anywhere in a batch applies to the call carrying it, which lets
/// tests fail one batch of a split request).
pub fn directive_text(body: &Value) -> &str {
    if let Some(text) = body.get("inputText").and_then(Value::as_str) {
        return text;
    }
    let texts = body
        .get("texts")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    texts
        .iter()
        .find(|t| t.contains("[[emu:"))
        .or(texts.first())
        .copied()
        .unwrap_or_default()
}

/// splitmix64: a tiny, well-distributed generator, so vectors need no RNG dependency and are
/// identical across platforms.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A deterministic vector for `text`: same text and dimension → same vector. Components have
/// at most 9 decimals, like Bedrock's answers (`0.038232811`); an `f32` widened to `f64` would
/// print 17 digits and make every answer half again as long as the real service's.
pub fn vector(text: &str, dims: usize, normalize: bool) -> Vec<f64> {
    let digest = Sha256::digest(text.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let mut rng = SplitMix64(u64::from_le_bytes(seed));
    let mut v: Vec<f32> = (0..dims).map(|_| rng.unit()).collect();
    if normalize {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut v {
                *x /= norm;
            }
        }
    }
    v.into_iter()
        .map(|x| (f64::from(x) * 1e9).round() / 1e9)
        .collect()
}

/// Cohere's quantised forms of a normalised vector.
fn cohere_typed(v: &[f64], kind: &str) -> Value {
    // Normalised components are small; scale so quantised values use their range.
    let scale = (v.len() as f64).sqrt();
    match kind {
        "int8" => json!(v
            .iter()
            .map(|x| (x * scale * 127.0).round().clamp(-128.0, 127.0) as i64)
            .collect::<Vec<_>>()),
        "uint8" => json!(v
            .iter()
            .map(|x| (((x * scale).clamp(-1.0, 1.0) + 1.0) / 2.0 * 255.0).round() as i64)
            .collect::<Vec<_>>()),
        "binary" | "ubinary" => {
            let packed: Vec<i64> = v
                .chunks(8)
                .map(|chunk| {
                    let byte = chunk.iter().enumerate().fold(0u8, |acc, (i, x)| {
                        if *x > 0.0 {
                            acc | (0x80 >> i)
                        } else {
                            acc
                        }
                    });
                    if kind == "binary" {
                        i64::from(byte as i8)
                    } else {
                        i64::from(byte)
                    }
                })
                .collect();
            json!(packed)
        }
        _ => json!(v),
    }
}

/// The model's answer and its input token count.
pub fn embed(family: EmbeddingFamily, body: &Value) -> (Value, u64) {
    match family {
        EmbeddingFamily::TitanV1 => {
            let text = body
                .get("inputText")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let tokens = count_words(text).max(1);
            let v = vector(text, 1536, false);
            (
                json!({"embedding": v, "inputTextTokenCount": tokens}),
                tokens,
            )
        }
        EmbeddingFamily::TitanV2 => {
            let text = body
                .get("inputText")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let tokens = count_words(text).max(1);
            let dims = body
                .get("dimensions")
                .and_then(Value::as_u64)
                .map_or(1024, |d| d as usize);
            let normalize = body
                .get("normalize")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let v = vector(text, dims, normalize);
            let types: Option<Vec<&str>> = body
                .get("embeddingTypes")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect());
            let mut out = Map::new();
            match types {
                None => {
                    out.insert("embedding".into(), json!(v));
                }
                Some(types) => {
                    let mut by_type = Map::new();
                    if types.contains(&"float") {
                        out.insert("embedding".into(), json!(v));
                        by_type.insert("float".into(), json!(v));
                    }
                    if types.contains(&"binary") {
                        let bits: Vec<u8> = v.iter().map(|x| u8::from(*x > 0.0)).collect();
                        by_type.insert("binary".into(), json!(bits));
                    }
                    out.insert("embeddingsByType".into(), Value::Object(by_type));
                }
            }
            out.insert("inputTextTokenCount".into(), json!(tokens));
            (Value::Object(out), tokens)
        }
        EmbeddingFamily::CohereV3 | EmbeddingFamily::CohereV4 => {
            let dims = if family == EmbeddingFamily::CohereV3 {
                1024
            } else {
                body.get("output_dimension")
                    .and_then(Value::as_u64)
                    .map_or(1536, |d| d as usize)
            };
            let texts: Vec<&str> = body
                .get("texts")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            // Images and mixed inputs are embedded from their serialised form, which keeps them
            // deterministic without decoding anything.
            let mut inputs: Vec<String> = texts.iter().map(|t| (*t).to_string()).collect();
            for key in ["images", "inputs"] {
                if let Some(items) = body.get(key).and_then(Value::as_array) {
                    inputs.extend(items.iter().map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }));
                }
            }
            let tokens: u64 = texts.iter().map(|t| count_words(t).max(1)).sum::<u64>()
                + (inputs.len() - texts.len()) as u64;
            let vectors: Vec<Vec<f64>> = inputs.iter().map(|t| vector(t, dims, true)).collect();
            let requested: Option<Vec<&str>> = body
                .get("embedding_types")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).collect());
            let by_type = match (family, requested) {
                (EmbeddingFamily::CohereV3, None) => None,
                (_, None) => Some(vec!["float"]),
                (_, Some(types)) => Some(types),
            };
            let id = uuid::Uuid::new_v4().to_string();
            let answer = match by_type {
                None => json!({
                    "id": id,
                    "embeddings": vectors,
                    "texts": texts,
                    "response_type": "embeddings_floats",
                }),
                Some(types) => {
                    let mut map = Map::new();
                    for t in types {
                        map.insert(
                            t.to_string(),
                            Value::Array(vectors.iter().map(|v| cohere_typed(v, t)).collect()),
                        );
                    }
                    json!({
                        "id": id,
                        "embeddings": map,
                        "texts": texts,
                        "response_type": "embeddings_by_type",
                    })
                }
            };
            (answer, tokens)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        use EmbeddingFamily::*;
        let long = "a".repeat(50_001);
        let cases: Vec<(EmbeddingFamily, Value, Option<&str>)> = vec![
            (TitanV2, json!({"inputText": "hi"}), None),
            (TitanV2, json!({"inputText": "hi", "dimensions": 256, "normalize": false, "embeddingTypes": ["float", "binary"]}), None),
            (TitanV2, json!({"inputText": "hi", "foo": 1}), Some("Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.")),
            (TitanV2, json!({}), Some("#: required key [inputText] not found")),
            (TitanV2, json!({"inputText": "hi", "dimensions": 100}), Some("#/dimensions: 100 is not a valid enum value")),
            (TitanV2, json!({"inputText": 5}), Some("#/inputText: expected type: String, found: Integer")),
            (TitanV2, json!({"inputText": long}), Some("#/inputText: expected maxLength: 50000, actual: 50001")),
            (TitanV2, json!({"inputText": ""}), Some("#/inputText: expected minLength: 1, actual: 0")),
            (TitanV2, json!({"inputText": "x", "embeddingTypes": ["int8"]}), Some("#/embeddingTypes/0: int8 is not a valid enum value")),
            (TitanV2, json!({"foo": 1, "bar": 2}), Some("#: 3 schema violations found")),
            (TitanV1, json!({"inputText": "hi", "dimensions": 256}), Some("extraneous key [dimensions]")),
            (TitanV2, json!([1]), Some("#: expected type: JSONObject, found: JSONArray")),
            (CohereV3, json!({"texts": ["a"], "input_type": "search_document"}), None),
            (CohereV3, json!({"texts": ["a"]}), Some("#: required key [input_type] not found")),
            (CohereV3, json!({"texts": ["a"], "input_type": "search_doc"}), Some("#/input_type: search_doc is not a valid enum value")),
            (CohereV3, json!({"texts": vec!["a"; 97], "input_type": "clustering"}), Some("#/texts: expected maximum item count: 96, found: 97")),
            (CohereV3, json!({"texts": ["a".repeat(2049)], "input_type": "clustering"}), Some("#/texts/0: expected maxLength: 2048, actual: 2049")),
            (CohereV3, json!({"texts": ["a"], "input_type": "clustering", "truncate": "LEFT"}), Some("#/truncate: LEFT is not a valid enum value")),
            (CohereV3, json!({"input_type": "clustering"}), Some("#: required key [texts] not found")),
            (CohereV4, json!({"texts": ["a"], "input_type": "search_query", "output_dimension": 512, "embedding_types": ["float", "int8"]}), None),
            (CohereV4, json!({"texts": ["a"], "input_type": "search_query", "output_dimension": 768}), Some("#/output_dimension: 768 is not a valid enum value")),
        ];
        for (family, body, expected) in cases {
            match (validate(family, &body), expected) {
                (Ok(()), None) => {}
                (Err(e), Some(fragment)) => {
                    assert!(e.message.contains(fragment), "{body}: {}", e.message);
                    assert_eq!(e.code, "ValidationException");
                }
                (got, want) => panic!("{family:?} {body}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn directive_text_table() {
        let cases = [
            (
                json!({"inputText": "a [[emu:delay=1]]"}),
                "a [[emu:delay=1]]",
            ),
            (json!({"texts": ["a", "b"]}), "a"),
            (
                json!({"texts": ["a", "[[emu:error=ThrottlingException]]"]}),
                "[[emu:error=ThrottlingException]]",
            ),
            (json!({"texts": []}), ""),
            (json!({"images": ["x"]}), ""),
        ];
        for (body, want) in cases {
            assert_eq!(directive_text(&body), want, "{body}");
        }
    }

    #[test]
    fn vectors_are_deterministic_and_normalised() {
        let a = vector("hello", 256, true);
        assert_eq!(a, vector("hello", 256, true));
        assert_ne!(a, vector("hello!", 256, true));
        let norm: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        // Short decimals, as Bedrock prints them.
        let text = serde_json::to_string(&a).unwrap();
        assert!(
            text.split(',')
                .all(|x| x.trim_matches(['[', ']']).len() <= 12),
            "{text}"
        );
        assert!(vector("x", 64, false)
            .iter()
            .all(|x| (-1.0..1.0).contains(x)));
    }

    #[test]
    fn answers_table() {
        use EmbeddingFamily::*;
        let (a, t) = embed(TitanV2, &json!({"inputText": "one two three"}));
        assert_eq!(a["embedding"].as_array().unwrap().len(), 1024);
        assert_eq!((a["inputTextTokenCount"].as_u64(), t), (Some(3), 3));
        assert!(a.get("embeddingsByType").is_none());

        let (a, _) = embed(
            TitanV2,
            &json!({"inputText": "x", "dimensions": 256, "embeddingTypes": ["binary"]}),
        );
        assert!(a.get("embedding").is_none());
        let bits = a["embeddingsByType"]["binary"].as_array().unwrap();
        assert_eq!(bits.len(), 256);
        assert!(bits.iter().all(|b| b == 0 || b == 1));

        let (a, _) = embed(TitanV1, &json!({"inputText": "x"}));
        assert_eq!(a["embedding"].as_array().unwrap().len(), 1536);

        let (a, t) = embed(
            CohereV3,
            &json!({"texts": ["a b", "c"], "input_type": "search_document"}),
        );
        assert_eq!(a["response_type"], "embeddings_floats");
        assert_eq!(a["embeddings"].as_array().unwrap().len(), 2);
        assert_eq!(a["embeddings"][0].as_array().unwrap().len(), 1024);
        assert_eq!(a["texts"], json!(["a b", "c"]));
        assert_eq!(t, 3);

        let (a, _) = embed(
            CohereV3,
            &json!({"texts": ["a"], "input_type": "search_document", "embedding_types": ["int8", "ubinary"]}),
        );
        assert_eq!(a["response_type"], "embeddings_by_type");
        assert_eq!(a["embeddings"]["int8"][0].as_array().unwrap().len(), 1024);
        assert_eq!(a["embeddings"]["ubinary"][0].as_array().unwrap().len(), 128);

        let (a, _) = embed(
            CohereV4,
            &json!({"texts": ["a"], "input_type": "search_query"}),
        );
        assert_eq!(a["response_type"], "embeddings_by_type");
        assert_eq!(a["embeddings"]["float"][0].as_array().unwrap().len(), 1536);
        let (a, _) = embed(
            CohereV4,
            &json!({"texts": ["a"], "input_type": "search_query", "output_dimension": 256}),
        );
        assert_eq!(a["embeddings"]["float"][0].as_array().unwrap().len(), 256);
    }
}
