//! Automatic inference-profile routing.
//!
//! Newer models (Claude 3.7+/4.x, Llama 3.2+, Nova Premier, DeepSeek ...) refuse on-demand calls
//! by base id. Their foundation-model summary lists `inferenceTypesSupported: [INFERENCE_PROFILE]`
//! without `ON_DEMAND`, and ListInferenceProfiles lists system profiles (`us.`, `eu.`, `apac.`,
//! `global.` ...) that contain them. With routing on, a request for such a base id goes to the
//! system profile that fits the provider's region best, so clients can keep using the id they
//! know; `/v1/models` lists both ids.

use crate::wire::control::{FoundationModelSummary, InferenceProfileSummary};
use gomodel_core::model::is_geo_prefix;
use std::collections::HashMap;

/// Whether base ids of profile-only models are routed to a system inference profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileRouting {
    /// Route profile-only base ids (and retry an on-demand refusal once via a profile).
    #[default]
    Auto,
    /// Send ids as given; a profile-only base id gets Bedrock's refusal with advice.
    Off,
}

/// Profile id prefixes usable from `region`, best first: the region's own geography (the
/// narrowest first where AWS offers a country profile), then `global.`. A profile outside the
/// region's geography is not offered in that region, so it is never a candidate.
pub fn preferred_prefixes(region: &str) -> &'static [&'static str] {
    const TABLE: &[(&str, &[&str])] = &[
        ("us-gov-", &["us-gov", "global"]),
        ("us-", &["us", "global"]),
        ("ca-", &["ca", "us", "global"]),
        ("eu-", &["eu", "global"]),
        ("ap-northeast-1", &["jp", "apac", "global"]),
        ("ap-northeast-3", &["jp", "apac", "global"]),
        ("ap-southeast-2", &["au", "apac", "global"]),
        ("ap-southeast-4", &["au", "apac", "global"]),
        ("ap-", &["apac", "global"]),
    ];
    TABLE
        .iter()
        .find(|(start, _)| region.starts_with(start))
        .map_or(&["global"], |(_, prefixes)| prefixes)
}

/// The base model id a system profile serves: the `foundation-model/` ARN of its models, else
/// the id without its geography prefix.
pub fn profile_base(p: &InferenceProfileSummary) -> Option<&str> {
    let from_arn = p
        .models
        .iter()
        .filter_map(|m| m.model_arn.as_deref())
        .filter_map(|arn| arn.rsplit_once("foundation-model/").map(|(_, id)| id))
        .next();
    from_arn.or_else(|| {
        let (prefix, rest) = p.inference_profile_id.split_once('.')?;
        is_geo_prefix(prefix).then_some(rest)
    })
}

/// The best active system profile in `profiles` for `base` from `region`, if any.
pub fn best_profile<'a>(
    profiles: &'a [InferenceProfileSummary],
    base: &str,
    region: &str,
) -> Option<&'a str> {
    let prefs = preferred_prefixes(region);
    profiles
        .iter()
        .filter(|p| p.status.as_deref().is_none_or(|s| s == "ACTIVE"))
        .filter(|p| profile_base(p) == Some(base))
        .filter_map(|p| {
            let (prefix, _) = p.inference_profile_id.split_once('.')?;
            let rank = prefs.iter().position(|x| *x == prefix)?;
            Some((rank, p.inference_profile_id.as_str()))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, id)| id)
}

/// Whether a listed foundation model can only be called through an inference profile.
pub fn is_profile_only(m: &FoundationModelSummary) -> bool {
    let has = |t: &str| m.inference_types_supported.iter().any(|x| x == t);
    !has("ON_DEMAND") && has("INFERENCE_PROFILE")
}

/// Base id → profile id for every profile-only model that has a fitting profile.
pub fn routes(
    models: &[FoundationModelSummary],
    profiles: &[InferenceProfileSummary],
    region: &str,
) -> HashMap<String, String> {
    models
        .iter()
        .filter(|m| is_profile_only(m))
        .filter_map(|m| {
            best_profile(profiles, &m.model_id, region).map(|p| (m.model_id.clone(), p.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::control::InferenceProfileModel;

    fn profile(id: &str, status: &str) -> InferenceProfileSummary {
        let base = id.split_once('.').map_or(id, |(_, b)| b);
        InferenceProfileSummary {
            inference_profile_id: id.into(),
            models: vec![InferenceProfileModel {
                model_arn: Some(format!(
                    "arn:aws:bedrock:us-east-1::foundation-model/{base}"
                )),
            }],
            status: Some(status.into()),
            ..Default::default()
        }
    }

    fn fm(id: &str, types: &[&str]) -> FoundationModelSummary {
        FoundationModelSummary {
            model_id: id.into(),
            inference_types_supported: types.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    const SONNET4: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

    #[test]
    fn picks_the_regions_geography_then_global() {
        let all = [
            profile(&format!("global.{SONNET4}"), "ACTIVE"),
            profile(&format!("us.{SONNET4}"), "ACTIVE"),
            profile(&format!("eu.{SONNET4}"), "ACTIVE"),
            profile(&format!("apac.{SONNET4}"), "ACTIVE"),
            profile(&format!("jp.{SONNET4}"), "ACTIVE"),
        ];
        let global_only = [profile(&format!("global.{SONNET4}"), "ACTIVE")];
        let inactive_us = [profile(&format!("us.{SONNET4}"), "LEGACY")];
        let cases: [(&[InferenceProfileSummary], &str, Option<&str>); 9] = [
            (&all, "us-east-1", Some("us.")),
            (&all, "us-west-2", Some("us.")),
            (&all, "eu-west-1", Some("eu.")),
            (&all, "ap-southeast-1", Some("apac.")),
            (&all, "ap-northeast-1", Some("jp.")),
            (&all, "sa-east-1", Some("global.")),
            (&global_only, "eu-central-1", Some("global.")),
            (&inactive_us, "us-east-1", None),
            (&all[2..3], "us-east-1", None),
        ];
        for (profiles, region, want) in cases {
            let got = best_profile(profiles, SONNET4, region);
            assert_eq!(got.map(|id| id.trim_end_matches(SONNET4)), want, "{region}");
        }
    }

    #[test]
    fn routes_only_profile_only_models() {
        let models = [
            fm(SONNET4, &["INFERENCE_PROFILE"]),
            fm("amazon.nova-lite-v1:0", &["ON_DEMAND", "INFERENCE_PROFILE"]),
            fm("deepseek.r1-v1:0", &["INFERENCE_PROFILE"]),
        ];
        let profiles = [
            profile(&format!("us.{SONNET4}"), "ACTIVE"),
            profile("us.amazon.nova-lite-v1:0", "ACTIVE"),
        ];
        let got = routes(&models, &profiles, "us-east-1");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got.get(SONNET4).map(String::as_str),
            Some(&*format!("us.{SONNET4}"))
        );
    }

    #[test]
    fn base_from_arn_or_id() {
        let mut p = profile("us.meta.llama3-2-11b-instruct-v1:0", "ACTIVE");
        assert_eq!(profile_base(&p), Some("meta.llama3-2-11b-instruct-v1:0"));
        p.models.clear();
        assert_eq!(profile_base(&p), Some("meta.llama3-2-11b-instruct-v1:0"));
        p.inference_profile_id = "custom-id".into();
        assert_eq!(profile_base(&p), None);
    }
}
