//! Serde types for the Bedrock wire format, modelled on the AWS service models in `spec/`
//! (`bedrock-runtime-2023-09-30.service-2.json`, `bedrock-2023-04-20.service-2.json`).
//!
//! Conventions of the `rest-json` protocol:
//! - members are camelCase; absent optionals are omitted (`skip_serializing_if`);
//! - a *union* is a JSON object with exactly one key — here an enum built by [`wire_union!`], which
//!   serializes that one key and deserializes unknown members into `Unknown` instead of failing,
//!   because AWS adds union members over time;
//! - blobs travel as base64 strings ([`Blob`]);
//! - structures ignore unknown fields (serde's default), e.g. the `p` padding in stream events.

pub mod control;
pub mod converse;
pub mod error;
pub mod invoke;

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A Smithy `blob`: raw bytes on our side, a base64 string in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Bytes);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `collect_str` lets serde_json write the base64 text straight into the output buffer,
        // so an image is not first encoded into a temporary String.
        s.collect_str(&Base64Display::new(&self.0, &STANDARD))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl Visitor<'_> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Blob, E> {
                STANDARD
                    .decode(v)
                    .map(|b| Blob(Bytes::from(b)))
                    .map_err(|e| E::custom(format!("invalid base64 blob: {e}")))
            }
        }
        d.deserialize_str(BlobVisitor)
    }
}

/// An empty structure such as `AutoToolChoice`: serializes as `{}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty {}

/// The result of matching a union member name against the known ones.
#[doc(hidden)]
pub enum KeyMatch {
    Known(&'static str),
    Other(String),
}

/// Matches a map key against a static list without allocating for known keys.
#[doc(hidden)]
pub struct KeySeed(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = KeyMatch;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<KeyMatch, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = KeyMatch;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a union member name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyMatch, E> {
        Ok(match self.0.iter().find(|k| **k == v) {
            Some(k) => KeyMatch::Known(k),
            None => KeyMatch::Other(v.to_owned()),
        })
    }
}

/// Declares a Smithy union as an enum with one variant per member plus `Unknown(name)`.
///
/// Serialization writes `{"member": value}`; deserialization takes the first known member and
/// skips unknown ones (recording the first unknown name), so a new AWS member never breaks
/// decoding of the rest of a response.
macro_rules! wire_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $key:literal => $variant:ident($ty:ty) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )+
            /// A member this gateway does not model (its name), skipped when decoding.
            Unknown(String),
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = s.serialize_map(Some(1))?;
                match self {
                    $( $name::$variant(v) => map.serialize_entry($key, v)?, )+
                    $name::Unknown(member) => {
                        return Err(serde::ser::Error::custom(format_args!(
                            "cannot serialize unknown {} member `{member}`",
                            stringify!($name)
                        )))
                    }
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const KEYS: &[&str] = &[$($key),+];
                struct UnionVisitor;
                impl<'de> serde::de::Visitor<'de> for UnionVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " union object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut found: Option<$name> = None;
                        let mut unknown: Option<String> = None;
                        while let Some(key) = map.next_key_seed($crate::wire::KeySeed(KEYS))? {
                            match key {
                                $(
                                    $crate::wire::KeyMatch::Known($key) if found.is_none() => {
                                        found = Some($name::$variant(map.next_value()?));
                                    }
                                )+
                                $crate::wire::KeyMatch::Other(name) => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                    unknown.get_or_insert(name);
                                }
                                $crate::wire::KeyMatch::Known(_) => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(found.unwrap_or_else(|| $name::Unknown(unknown.unwrap_or_default())))
                    }
                }
                d.deserialize_map(UnionVisitor)
            }
        }
    };
}
pub(crate) use wire_union;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    wire_union! {
        pub enum Sample {
            "text" => Text(String),
            "num" => Num(u32),
        }
    }

    #[test]
    fn union_round_trips_and_tolerates_unknown_members() {
        let cases: [(&str, Sample); 5] = [
            (r#"{"text":"hi"}"#, Sample::Text("hi".into())),
            (r#"{"num":3}"#, Sample::Num(3)),
            (
                r#"{"future":{"a":[1,2]}}"#,
                Sample::Unknown("future".into()),
            ),
            (r#"{"future":1,"text":"x"}"#, Sample::Text("x".into())),
            (r#"{}"#, Sample::Unknown(String::new())),
        ];
        for (json, want) in cases {
            let got: Sample = serde_json::from_str(json).unwrap();
            assert_eq!(got, want, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Sample::Text("hi".into())).unwrap(),
            r#"{"text":"hi"}"#
        );
        assert!(serde_json::to_string(&Sample::Unknown("x".into())).is_err());
    }

    #[test]
    fn blob_is_base64() {
        let b = Blob(Bytes::from_static(b"\x00\x01hello"));
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, r#""AAFoZWxsbw==""#);
        let back: Blob = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert!(serde_json::from_str::<Blob>(r#""not base64!""#).is_err());
    }
}
