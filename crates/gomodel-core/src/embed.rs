//! Provider-neutral embedding types.

use serde_json::value::RawValue;
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
    pub embeddings: Vec<Vector>,
    pub input_tokens: u64,
}

/// One embedding vector: a JSON array of numbers, kept as the provider's text.
///
/// An answer of 16 vectors of 1,024 dimensions holds 16,384 numbers; parsing them into floats
/// and printing them again was four fifths of the gateway's CPU per embeddings request. The
/// text is checked once (an array of numbers and nothing else) and then written out verbatim;
/// only `encoding_format: base64` needs the floats ([`Vector::to_f32`]).
#[derive(Debug, Clone)]
pub struct Vector(Box<RawValue>);

impl Vector {
    /// `raw` as a vector, if it is a JSON array whose items are all numbers (or empty).
    pub fn from_json(raw: &RawValue) -> Option<Vector> {
        is_number_array(raw.get()).then(|| Vector(raw.to_owned()))
    }

    /// A vector from floats (providers that hand over parsed numbers, tests).
    pub fn from_floats(values: &[f32]) -> Vector {
        // JSON has no NaN or infinity (serde_json would print `null`, which is not a number).
        let finite: Vec<f32> = values
            .iter()
            .map(|x| if x.is_finite() { *x } else { 0.0 })
            .collect();
        // An array of finite numbers always encodes; the empty vector is the fallback of an
        // impossible case rather than a panic.
        serde_json::value::to_raw_value(&finite)
            .map(Vector)
            .unwrap_or_else(|_| Vector::empty())
    }

    fn empty() -> Vector {
        Vector(RawValue::from_string("[]".to_owned()).unwrap_or_default())
    }

    /// The JSON text, e.g. `[0.25,-1.5]`.
    pub fn as_json(&self) -> &RawValue {
        &self.0
    }

    /// The numbers as `f32`, as OpenAI's base64 encoding carries them.
    pub fn to_f32(&self) -> Vec<f32> {
        // Checked at construction to be an array of numbers, which always decodes (numbers
        // beyond f32's range become infinities, as a cast would make them).
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// How many numbers the vector holds.
    pub fn len(&self) -> usize {
        match array_items(self.0.get()) {
            Some(items) if !items.trim_matches(is_json_space).is_empty() => {
                items.bytes().filter(|&b| b == b',').count() + 1
            }
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The same text, or the same numbers once read as `f32` (so `1.0` equals `1`).
impl PartialEq for Vector {
    fn eq(&self, other: &Vector) -> bool {
        self.0.get() == other.0.get() || self.to_f32() == other.to_f32()
    }
}

/// Whether already-valid JSON `text` is an array of numbers. Every JSON value that is not a
/// number starts with one of `" [ { t f n` (string, array, object, true, false, null), and no
/// number holds any of those bytes; so inside the outer brackets their absence is the whole
/// check, done with vectorised searches rather than a look at every byte.
fn is_number_array(text: &str) -> bool {
    let Some(items) = array_items(text) else {
        return false;
    };
    let items = items.as_bytes();
    memchr::memchr3(b'"', b'[', b'{', items).is_none()
        && memchr::memchr3(b't', b'f', b'n', items).is_none()
}

/// The text between a JSON array's outer brackets, or `None` if `text` is not an array.
fn array_items(text: &str) -> Option<&str> {
    text.trim_matches(is_json_space)
        .strip_prefix('[')?
        .strip_suffix(']')
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Floats that trip encoders up (signed zero, the smallest normal, the largest, one with no exact
/// binary form), for the tests of every crate that encodes vectors.
#[doc(hidden)]
pub const AWKWARD_FLOATS: [f32; 8] = [
    0.0,
    -0.0,
    1.5,
    -2.75,
    f32::MIN_POSITIVE,
    f32::MAX,
    1e-30,
    0.1,
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn only_arrays_of_numbers_are_vectors() {
        let cases: &[(&str, Option<&[f32]>)] = &[
            ("[0.5,-1.25,3e2]", Some(&[0.5, -1.25, 300.0])),
            (" [ 1 , 2\n, -3E-1 ] ", Some(&[1.0, 2.0, -0.3])),
            ("[]", Some(&[])),
            ("[ ]", Some(&[])),
            ("[127,-128,0]", Some(&[127.0, -128.0, 0.0])),
            ("[1,\"2\"]", None),
            ("[1,null]", None),
            ("[true]", None),
            ("[[1,2]]", None),
            ("[{\"a\":1}]", None),
            ("{\"float\":[1]}", None),
            ("\"[1,2]\"", None),
            ("12", None),
            ("null", None),
        ];
        for (text, want) in cases {
            let got = Vector::from_json(&raw(text));
            assert_eq!(got.as_ref().map(Vector::to_f32).as_deref(), *want, "{text}");
            if let (Some(v), Some(want)) = (got, want) {
                assert_eq!(v.len(), want.len(), "{text}");
                assert_eq!(v.is_empty(), want.is_empty(), "{text}");
            }
        }
    }

    #[test]
    fn provider_text_is_kept_verbatim() {
        let text = "[0.0123456789012,-1.000000,5e-7]";
        let v = Vector::from_json(&raw(text)).unwrap();
        assert_eq!(v.as_json().get(), text);
        assert_eq!(serde_json::to_string(v.as_json()).unwrap(), text);
    }

    #[test]
    fn floats_round_trip_through_text() {
        let values = AWKWARD_FLOATS;
        let v = Vector::from_floats(&values);
        assert_eq!(
            v.to_f32().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(v.len(), values.len());
        assert_eq!(Vector::from_floats(&[]).as_json().get(), "[]");
        assert_eq!(
            Vector::from_floats(&[f32::NAN, 1.0]).to_f32(),
            vec![0.0, 1.0]
        );
    }

    #[test]
    fn equality_is_by_number() {
        let a = Vector::from_json(&raw("[1.0,2]")).unwrap();
        assert_eq!(a, Vector::from_floats(&[1.0, 2.0]));
        assert_ne!(a, Vector::from_floats(&[1.0, 2.5]));
    }
}
