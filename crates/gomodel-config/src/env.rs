//! The environment-variable layer. An empty variable counts as unset (as in GoModel, where
//! `os.Getenv` cannot tell the two apart), so `PORT=` never overrides the file.

use crate::raw::split_csv;
use std::collections::{BTreeMap, HashMap};

/// A value together with the variable it came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FromVar<T> {
    pub var: String,
    pub value: T,
}

/// Settings for one Bedrock provider taken from `BEDROCK[_<SUFFIX>]_BASE_URL` / `_MODELS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EnvProvider {
    pub base_url: Option<FromVar<String>>,
    pub models: Option<FromVar<Vec<String>>>,
    /// `BEDROCK[_<SUFFIX>]_INFERENCE_PROFILES`, `_MAX_RETRIES`, `_CONNECT_TIMEOUT`, ...
    pub tuning: BTreeMap<Tuning, FromVar<String>>,
}

/// Per-provider settings that tune a provider rather than define one (so setting only these
/// does not turn the implicit default provider into a configured one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tuning {
    InferenceProfiles,
    MaxRetries,
    ConnectTimeout,
    RequestTimeout,
    StreamIdleTimeout,
    GuardrailId,
    GuardrailVersion,
    GuardrailTrace,
    GuardrailStreamMode,
}

impl Tuning {
    /// Variable suffix and YAML key, in matching order (no suffix is a suffix of another).
    const ALL: [(Tuning, &'static str, &'static str); 9] = [
        (
            Tuning::InferenceProfiles,
            "INFERENCE_PROFILES",
            "inference_profiles",
        ),
        (Tuning::MaxRetries, "MAX_RETRIES", "max_retries"),
        (Tuning::ConnectTimeout, "CONNECT_TIMEOUT", "connect_timeout"),
        (Tuning::RequestTimeout, "REQUEST_TIMEOUT", "request_timeout"),
        (
            Tuning::StreamIdleTimeout,
            "STREAM_IDLE_TIMEOUT",
            "stream_idle_timeout",
        ),
        (Tuning::GuardrailId, "GUARDRAIL_ID", "guardrail.identifier"),
        (
            Tuning::GuardrailVersion,
            "GUARDRAIL_VERSION",
            "guardrail.version",
        ),
        (Tuning::GuardrailTrace, "GUARDRAIL_TRACE", "guardrail.trace"),
        (
            Tuning::GuardrailStreamMode,
            "GUARDRAIL_STREAM_PROCESSING_MODE",
            "guardrail.stream_processing_mode",
        ),
    ];

    pub fn yaml_key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _, _)| *t == self)
            .map_or("", |(_, _, key)| key)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvLayer {
    pub port: Option<FromVar<String>>,
    pub host: Option<FromVar<String>>,
    pub master_key: Option<String>,
    /// `GOMODEL_BODY_LIMIT_BYTES`.
    pub body_limit: Option<FromVar<String>>,
    pub models_mode: Option<FromVar<String>>,
    /// Provider name (`bedrock`, `bedrock-us`, …) → settings, sorted by name with `bedrock` first.
    pub providers: Vec<(String, EnvProvider)>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region_fallback: Option<String>,
    /// `GOMODEL_CONFIG`.
    pub config_path: Option<String>,
    /// `AWS_BEARER_TOKEN_BEDROCK`: the Bedrock API key of providers without their own.
    pub bearer_token: Option<String>,
    /// `DATABASE_URL`, `STORAGE_TYPE`, `SQLITE_PATH`, `STORAGE_ENABLED`, `AUDIT_LOG_ENABLED`.
    pub storage: crate::storage::EnvStorage,
    /// `IMAGE_FETCH_ALLOW_PRIVATE`.
    pub image_fetch_allow_private: Option<FromVar<String>>,
}

pub(crate) fn read(env: &HashMap<String, String>) -> EnvLayer {
    let get = |var: &str| {
        env.get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| FromVar {
                var: var.to_owned(),
                value: v.to_owned(),
            })
    };
    let mut providers: BTreeMap<String, EnvProvider> = BTreeMap::new();
    for (var, value) in env {
        let Some((name, field)) = provider_var(var) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let entry = providers.entry(name).or_default();
        match field {
            Field::BaseUrl => {
                entry.base_url = Some(FromVar {
                    var: var.clone(),
                    value: value.to_owned(),
                })
            }
            Field::Models => {
                entry.models = Some(FromVar {
                    var: var.clone(),
                    value: split_csv(value),
                })
            }
            Field::Tuning(t) => {
                entry.tuning.insert(
                    t,
                    FromVar {
                        var: var.clone(),
                        value: value.to_owned(),
                    },
                );
            }
        }
    }
    let mut providers: Vec<(String, EnvProvider)> = providers.into_iter().collect();
    // The unsuffixed provider first: with the same model listed twice it is the natural default.
    providers.sort_by_key(|(name, _)| name != "bedrock");
    EnvLayer {
        port: get("PORT"),
        host: get("GOMODEL_HOST"),
        master_key: get("GOMODEL_MASTER_KEY").map(|v| v.value),
        body_limit: get("GOMODEL_BODY_LIMIT_BYTES"),
        models_mode: get("CONFIGURED_PROVIDER_MODELS_MODE"),
        providers,
        region_fallback: get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .map(|v| v.value),
        config_path: get("GOMODEL_CONFIG").map(|v| v.value),
        bearer_token: get("AWS_BEARER_TOKEN_BEDROCK").map(|v| v.value),
        storage: crate::storage::read_env(env),
        image_fetch_allow_private: get("IMAGE_FETCH_ALLOW_PRIVATE"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    BaseUrl,
    Models,
    Tuning(Tuning),
}

/// `BEDROCK_BASE_URL` → (`bedrock`, BaseUrl); `BEDROCK_US_EAST_MODELS` → (`bedrock-us-east`, Models).
fn provider_var(var: &str) -> Option<(String, Field)> {
    let rest = var.strip_prefix("BEDROCK_")?;
    match rest {
        "BASE_URL" => return Some(("bedrock".to_owned(), Field::BaseUrl)),
        "MODELS" => return Some(("bedrock".to_owned(), Field::Models)),
        _ => {}
    }
    if let Some((t, _, _)) = Tuning::ALL.iter().find(|(_, v, _)| *v == rest) {
        return Some(("bedrock".to_owned(), Field::Tuning(*t)));
    }
    let tuning = Tuning::ALL
        .iter()
        .map(|(t, v, _)| (Field::Tuning(*t), *v))
        .chain([(Field::BaseUrl, "BASE_URL"), (Field::Models, "MODELS")]);
    let (suffix, field) = tuning.into_iter().find_map(|(field, name)| {
        rest.strip_suffix(name)
            .and_then(|s| s.strip_suffix('_'))
            .map(|s| (s, field))
    })?;
    // Only plain suffixes: `BEDROCK__BASE_URL` or lowercase/odd characters are not provider
    // definitions (and would make odd registry names such as `bedrock--x`).
    let plain = suffix
        .split('_')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !plain {
        return None;
    }
    Some((
        format!("bedrock-{}", suffix.to_ascii_lowercase().replace('_', "-")),
        field,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_providers_from_suffixes() {
        let cases = [
            ("BEDROCK_BASE_URL", Some(("bedrock", Field::BaseUrl))),
            ("BEDROCK_MODELS", Some(("bedrock", Field::Models))),
            ("BEDROCK_US_BASE_URL", Some(("bedrock-us", Field::BaseUrl))),
            ("BEDROCK_EU_MODELS", Some(("bedrock-eu", Field::Models))),
            (
                "BEDROCK_US_EAST_BASE_URL",
                Some(("bedrock-us-east", Field::BaseUrl)),
            ),
            (
                "BEDROCK_PROD2_MODELS",
                Some(("bedrock-prod2", Field::Models)),
            ),
            ("BEDROCK__BASE_URL", None),
            ("BEDROCK_US__BASE_URL", None),
            ("BEDROCK_US_REGION", None),
            ("BEDROCK_API_KEY", None),
            (
                "BEDROCK_INFERENCE_PROFILES",
                Some(("bedrock", Field::Tuning(Tuning::InferenceProfiles))),
            ),
            (
                "BEDROCK_EU_STREAM_IDLE_TIMEOUT",
                Some(("bedrock-eu", Field::Tuning(Tuning::StreamIdleTimeout))),
            ),
            (
                "BEDROCK_US_EAST_MAX_RETRIES",
                Some(("bedrock-us-east", Field::Tuning(Tuning::MaxRetries))),
            ),
            (
                "BEDROCK_GUARDRAIL_ID",
                Some(("bedrock", Field::Tuning(Tuning::GuardrailId))),
            ),
            (
                "BEDROCK_EU_GUARDRAIL_VERSION",
                Some(("bedrock-eu", Field::Tuning(Tuning::GuardrailVersion))),
            ),
            ("AWS_BEDROCK_BASE_URL", None),
            ("BEDROCKUS_BASE_URL", None),
        ];
        for (var, want) in cases {
            let got = provider_var(var);
            assert_eq!(got.as_ref().map(|(n, f)| (n.as_str(), *f)), want, "{var}");
        }
    }

    #[test]
    fn reads_providers_in_order_and_skips_empty_values() {
        let env: HashMap<String, String> = [
            ("BEDROCK_US_BASE_URL", "us-east-1"),
            ("BEDROCK_US_MODELS", " a , ,b,"),
            ("BEDROCK_EU_BASE_URL", "eu-west-1"),
            ("BEDROCK_MODELS", "m1"),
            ("BEDROCK_XX_BASE_URL", "  "),
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("PORT", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let layer = read(&env);
        let names: Vec<_> = layer.providers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bedrock", "bedrock-eu", "bedrock-us"]);
        let us = &layer.providers[2].1;
        assert_eq!(us.models.as_ref().unwrap().value, ["a", "b"]);
        assert_eq!(us.base_url.as_ref().unwrap().var, "BEDROCK_US_BASE_URL");
        assert_eq!(layer.region_fallback.as_deref(), Some("us-west-2"));
        assert_eq!(layer.port, None);
    }

    #[test]
    fn aws_region_beats_aws_default_region() {
        let env: HashMap<String, String> = [
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(read(&env).region_fallback.as_deref(), Some("eu-central-1"));
    }
}
