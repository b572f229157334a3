//! The config file as written: every field optional (so an expansion to nothing means "not set"),
//! unknown keys rejected, scalars kept as text so validation can quote them back in errors.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub server: Option<RawServer>,
    pub models: Option<RawModels>,
    pub providers: Option<Ordered<RawProvider>>,
    pub storage: Option<crate::storage::RawStorage>,
    pub image_fetch: Option<RawImageFetch>,
}

/// `image_fetch:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImageFetch {
    pub allow_private: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub port: Option<Scalar>,
    pub host: Option<Scalar>,
    pub master_key: Option<Scalar>,
    pub body_limit_bytes: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModels {
    pub configured_provider_models_mode: Option<Scalar>,
    pub refresh_interval: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    #[serde(rename = "type")]
    pub kind: Option<Scalar>,
    pub base_url: Option<Scalar>,
    pub models: Option<ModelList>,
    /// A Bedrock API key (`Authorization: Bearer`), instead of SigV4 with AWS credentials.
    pub api_key: Option<Scalar>,
    pub inference_profiles: Option<Scalar>,
    pub max_retries: Option<Scalar>,
    pub connect_timeout: Option<Scalar>,
    pub request_timeout: Option<Scalar>,
    pub stream_idle_timeout: Option<Scalar>,
    pub guardrail: Option<RawGuardrail>,
}

/// `providers.<name>.guardrail`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGuardrail {
    pub identifier: Option<Scalar>,
    pub version: Option<Scalar>,
    pub trace: Option<Scalar>,
    pub stream_processing_mode: Option<Scalar>,
}

impl RawProvider {
    /// The tuning settings as written, keyed like the environment variables' fields.
    pub fn tuning(&self) -> Vec<(crate::env::Tuning, &Scalar)> {
        use crate::env::Tuning;
        [
            (Tuning::InferenceProfiles, &self.inference_profiles),
            (Tuning::MaxRetries, &self.max_retries),
            (Tuning::ConnectTimeout, &self.connect_timeout),
            (Tuning::RequestTimeout, &self.request_timeout),
            (Tuning::StreamIdleTimeout, &self.stream_idle_timeout),
        ]
        .into_iter()
        .chain(self.guardrail.iter().flat_map(|g| {
            [
                (Tuning::GuardrailId, &g.identifier),
                (Tuning::GuardrailVersion, &g.version),
                (Tuning::GuardrailTrace, &g.trace),
                (Tuning::GuardrailStreamMode, &g.stream_processing_mode),
            ]
        }))
        .filter_map(|(t, v)| v.as_ref().map(|v| (t, v)))
        .collect()
    }
}

/// Any YAML scalar (string, number, bool) as its text, so `port: 8080` and `port: "8080"` both
/// work and a bad value can be quoted back verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

impl Scalar {
    /// The trimmed text, or `None` when it is empty (an expansion to nothing means "not set").
    pub fn non_empty(&self) -> Option<&str> {
        let t = self.0.trim();
        (!t.is_empty()).then_some(t)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a single value (text or number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        // `deserialize_string` rather than `_any`: YAML plain scalars are then taken as written
        // (`1e3` stays "1e3", `0x10` stays "0x10") instead of being reinterpreted as numbers.
        d.deserialize_string(V)
    }
}

/// A model list: a YAML sequence, or one comma-separated string (what `models: ${BEDROCK_MODELS}`
/// expands to). Items are trimmed and empty ones dropped either way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModelList(pub Vec<String>);

impl<'de> Deserialize<'de> for ModelList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of model ids or a comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ModelList, E> {
                Ok(ModelList(split_csv(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ModelList, E> {
                Ok(ModelList::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<ModelList, E> {
                Ok(ModelList::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ModelList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Option<Scalar>>()? {
                    if let Some(id) = item.as_ref().and_then(Scalar::non_empty) {
                        out.push(id.to_owned());
                    }
                }
                Ok(ModelList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits a comma-separated list, trimming items and dropping empty ones.
pub(crate) fn split_csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A mapping that keeps the file's order (provider order decides which provider serves a model
/// id listed by several) and rejects duplicate keys.
#[derive(Debug)]
pub(crate) struct Ordered<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of provider names to provider settings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Ordered<V>, E> {
                Ok(Ordered(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<Scalar>()? {
                    if out.iter().any(|(k, _)| *k == key.0) {
                        return Err(de::Error::custom(format_args!(
                            "provider \"{}\" is defined twice: keep one",
                            key.0
                        )));
                    }
                    // `bedrock:` with nothing under it is almost always an indentation slip.
                    let value: Option<V> = map.next_value()?;
                    match value {
                        Some(v) => out.push((key.0, v)),
                        None => {
                            return Err(de::Error::custom(format_args!(
                                "provider \"{}\" has no settings: add at least \"type: bedrock\"",
                                key.0
                            )))
                        }
                    }
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}
