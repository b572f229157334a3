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
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvLayer {
    pub port: Option<FromVar<String>>,
    pub host: Option<FromVar<String>>,
    pub master_key: Option<String>,
    pub models_mode: Option<FromVar<String>>,
    /// Provider name (`bedrock`, `bedrock-us`, …) → settings, sorted by name with `bedrock` first.
    pub providers: Vec<(String, EnvProvider)>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region_fallback: Option<String>,
    /// `GOMODEL_CONFIG`.
    pub config_path: Option<String>,
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
        }
    }
    let mut providers: Vec<(String, EnvProvider)> = providers.into_iter().collect();
    // The unsuffixed provider first: with the same model listed twice it is the natural default.
    providers.sort_by_key(|(name, _)| name != "bedrock");
    EnvLayer {
        port: get("PORT"),
        host: get("GOMODEL_HOST"),
        master_key: get("GOMODEL_MASTER_KEY").map(|v| v.value),
        models_mode: get("CONFIGURED_PROVIDER_MODELS_MODE"),
        providers,
        region_fallback: get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .map(|v| v.value),
        config_path: get("GOMODEL_CONFIG").map(|v| v.value),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    BaseUrl,
    Models,
}

/// `BEDROCK_BASE_URL` → (`bedrock`, BaseUrl); `BEDROCK_US_EAST_MODELS` → (`bedrock-us-east`, Models).
fn provider_var(var: &str) -> Option<(String, Field)> {
    let rest = var.strip_prefix("BEDROCK_")?;
    match rest {
        "BASE_URL" => return Some(("bedrock".to_owned(), Field::BaseUrl)),
        "MODELS" => return Some(("bedrock".to_owned(), Field::Models)),
        _ => {}
    }
    let (suffix, field) = if let Some(s) = rest.strip_suffix("_BASE_URL") {
        (s, Field::BaseUrl)
    } else if let Some(s) = rest.strip_suffix("_MODELS") {
        (s, Field::Models)
    } else {
        return None;
    };
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
