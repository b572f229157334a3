//! The model list: ListFoundationModels + ListInferenceProfiles (SYSTEM_DEFINED) merged with the
//! configured models according to [`ModelsMode`].
//!
//! - foundation models whose output includes `TEXT` and that support `ON_DEMAND` (or are routed
//!   to an inference profile, see `profiles`) → chat;
//!   `EMBEDDING` output + `ON_DEMAND` → embedding (models usable only through a profile or
//!   provisioned throughput are left out: calling them by base id fails);
//! - active system inference profiles (`us.anthropic...`) → chat, or embedding when the profile's
//!   model is an embedding model; profiles of image-only models are left out;
//! - `owned_by` is the vendor in the id (`vendor_of`), else the provider name, else `bedrock`.
//!
//! `Fallback` uses the configured list only when the listing fails or is empty; `Allowlist`
//! returns only the configured models and never calls upstream.

use crate::client::Upstream;
use crate::profiles::{self, ProfileRouting};
use crate::wire::control::{
    FoundationModelSummary, InferenceProfileSummary, ListFoundationModelsResponse,
    ListInferenceProfilesResponse,
};
use gomodel_core::model::{vendor_of, ModelInfo, ModelKind, ModelsMode};
use gomodel_core::GatewayError;
use percent_encoding::utf8_percent_encode;
use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Page size for ListInferenceProfiles (the service maximum).
const PROFILE_PAGE_SIZE: u32 = 1000;
/// A bound on paging, so a server repeating its `nextToken` cannot loop us forever.
const MAX_PROFILE_PAGES: usize = 50;

/// Seconds since the epoch, used as `created` for everything listed in one load.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The models to expose, per `mode`.
pub async fn list(
    up: &Upstream,
    configured: &[String],
    mode: ModelsMode,
) -> Result<Vec<ModelInfo>, GatewayError> {
    let created = now_unix();
    if mode == ModelsMode::Allowlist {
        return Ok(configured_models(configured, created));
    }
    match fetch(up, created).await {
        Ok(models) if !models.is_empty() => Ok(models),
        Ok(_) if !configured.is_empty() => {
            tracing::warn!(
                provider = up.name(),
                "Bedrock listed no usable models; using the configured models"
            );
            Ok(configured_models(configured, created))
        }
        Ok(models) => Ok(models),
        Err(err) if !configured.is_empty() => {
            tracing::warn!(provider = up.name(), error = %err, "listing Bedrock models failed; using the configured models");
            Ok(configured_models(configured, created))
        }
        Err(err) => Err(err),
    }
}

/// Lists foundation models and system inference profiles. A failing profile listing (e.g. an
/// IAM policy without `bedrock:ListInferenceProfiles`) only loses the profiles.
pub async fn fetch(up: &Upstream, created: u64) -> Result<Vec<ModelInfo>, GatewayError> {
    let (models, profiles) = futures::join!(fetch_foundation_models(up), fetch_profiles(up));
    let models = models?;
    let profiles = profiles.unwrap_or_else(|err| {
        tracing::warn!(provider = up.name(), error = %err, "listing Bedrock inference profiles failed; listing foundation models only");
        Vec::new()
    });
    // Routes are rebuilt with every listing, so a profile AWS adds or retires is picked up by
    // the registry refresh.
    let routes = match up.routing() {
        ProfileRouting::Auto => {
            profiles::routes(&models.model_summaries, &profiles, &up.endpoints().region)
        }
        ProfileRouting::Off => HashMap::new(),
    };
    let out = from_listings(models, profiles, created, &routes);
    up.set_routes(routes);
    Ok(out)
}

async fn fetch_foundation_models(
    up: &Upstream,
) -> Result<ListFoundationModelsResponse, GatewayError> {
    let url = format!("{}/foundation-models", up.control_base());
    up.get_json(&url, "ListFoundationModels").await
}

pub async fn fetch_profiles(up: &Upstream) -> Result<Vec<InferenceProfileSummary>, GatewayError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PROFILE_PAGES {
        // The service model names the filter member `typeEquals`; on the wire it is `type`.
        let mut url = format!(
            "{}/inference-profiles?maxResults={PROFILE_PAGE_SIZE}&type=SYSTEM_DEFINED",
            up.control_base()
        );
        if let Some(t) = &token {
            url.push_str("&nextToken=");
            url.extend(utf8_percent_encode(t, crate::client::UNRESERVED_ONLY));
        }
        let page: ListInferenceProfilesResponse =
            up.get_json(&url, "ListInferenceProfiles").await?;
        all.extend(page.inference_profile_summaries);
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
            _ => return Ok(all),
        }
    }
    tracing::warn!(
        provider = up.name(),
        pages = MAX_PROFILE_PAGES,
        "stopped paging Bedrock inference profiles"
    );
    Ok(all)
}

fn has(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == value)
}

fn owned_by(id: &str, provider_name: Option<&str>) -> String {
    if let Some(v) = vendor_of(id) {
        return v.to_owned();
    }
    match provider_name.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => p.to_lowercase().replace(' ', "-"),
        None => "bedrock".to_owned(),
    }
}

fn foundation_kind(m: &FoundationModelSummary) -> Option<ModelKind> {
    if has(&m.output_modalities, "EMBEDDING") {
        Some(ModelKind::Embedding)
    } else if has(&m.output_modalities, "TEXT") {
        Some(ModelKind::Chat)
    } else {
        None
    }
}

/// Merges the two listings into the exposed models (foundation models first, then profiles,
/// each in listing order, without duplicates).
pub fn from_listings(
    models: ListFoundationModelsResponse,
    profiles: Vec<InferenceProfileSummary>,
    created: u64,
    routes: &HashMap<String, String>,
) -> Vec<ModelInfo> {
    // Kinds of all listed models, including profile-only ones, to classify profiles.
    let kinds: HashMap<&str, Option<ModelKind>> = models
        .model_summaries
        .iter()
        .map(|m| (m.model_id.as_str(), foundation_kind(m)))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in &models.model_summaries {
        let Some(kind) = foundation_kind(m) else {
            continue;
        };
        // A profile-only base id is callable when it is routed to a profile.
        let callable =
            has(&m.inference_types_supported, "ON_DEMAND") || routes.contains_key(&m.model_id);
        if !callable || !seen.insert(m.model_id.clone()) {
            continue;
        }
        out.push(ModelInfo {
            id: m.model_id.clone(),
            owned_by: owned_by(&m.model_id, m.provider_name.as_deref()),
            created,
            kind,
        });
    }
    for p in profiles {
        if p.status.as_deref().is_some_and(|s| s != "ACTIVE") {
            continue;
        }
        let base = profiles::profile_base(&p);
        let kind = match base.and_then(|b| kinds.get(b)) {
            Some(Some(kind)) => *kind,
            // The profile's model outputs images only: nothing to chat or embed with.
            Some(None) => continue,
            None => guess_kind(&p.inference_profile_id),
        };
        if !seen.insert(p.inference_profile_id.clone()) {
            continue;
        }
        let owned_by = vendor_of(&p.inference_profile_id)
            .or_else(|| base.and_then(vendor_of))
            .unwrap_or("bedrock")
            .to_owned();
        out.push(ModelInfo {
            id: p.inference_profile_id,
            owned_by,
            created,
            kind,
        });
    }
    out
}

/// Configured ids (`BEDROCK_MODELS`) as models: vendor from the id (ARNs: the resource part),
/// else `bedrock`.
pub fn configured_models(ids: &[String], created: u64) -> Vec<ModelInfo> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(|id| id.trim())
        .filter(|id| !id.is_empty() && seen.insert(*id))
        .map(|id| ModelInfo {
            id: id.to_owned(),
            owned_by: vendor_of(id).unwrap_or("bedrock").to_owned(),
            created,
            kind: guess_kind(id),
        })
        .collect()
}

/// Without a listing, embedding models are recognisable by name (`amazon.titan-embed-...`,
/// `cohere.embed-...`).
pub fn guess_kind(id: &str) -> ModelKind {
    let base = id.rsplit('/').next().unwrap_or(id);
    if base.contains(".embed-") || base.contains("titan-embed") || base.contains("-embed") {
        ModelKind::Embedding
    } else {
        ModelKind::Chat
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::control::InferenceProfileModel;

    fn fm(id: &str, provider: &str, outputs: &[&str], types: &[&str]) -> FoundationModelSummary {
        FoundationModelSummary {
            model_arn: format!("arn:aws:bedrock:us-east-1::foundation-model/{id}"),
            model_id: id.into(),
            provider_name: Some(provider.into()),
            output_modalities: outputs.iter().map(|s| (*s).to_owned()).collect(),
            inference_types_supported: types.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn profile(id: &str, model: &str, status: &str) -> InferenceProfileSummary {
        InferenceProfileSummary {
            inference_profile_id: id.into(),
            models: vec![InferenceProfileModel {
                model_arn: Some(format!(
                    "arn:aws:bedrock:us-west-2::foundation-model/{model}"
                )),
            }],
            status: Some(status.into()),
            kind: Some("SYSTEM_DEFINED".into()),
            ..Default::default()
        }
    }

    #[test]
    fn listings_become_models() {
        let models = ListFoundationModelsResponse {
            model_summaries: vec![
                fm(
                    "anthropic.claude-3-5-haiku-20241022-v1:0",
                    "Anthropic",
                    &["TEXT"],
                    &["ON_DEMAND"],
                ),
                fm(
                    "anthropic.claude-3-7-sonnet-20250219-v1:0",
                    "Anthropic",
                    &["TEXT"],
                    &["INFERENCE_PROFILE"],
                ),
                fm(
                    "amazon.nova-lite-v1:0",
                    "Amazon",
                    &["TEXT"],
                    &["ON_DEMAND", "PROVISIONED"],
                ),
                fm(
                    "amazon.titan-embed-text-v2:0",
                    "Amazon",
                    &["EMBEDDING"],
                    &["ON_DEMAND"],
                ),
                fm(
                    "amazon.titan-embed-text-v1:2:8k",
                    "Amazon",
                    &["EMBEDDING"],
                    &["PROVISIONED"],
                ),
                fm(
                    "stability.sd3-large-v1:0",
                    "Stability AI",
                    &["IMAGE"],
                    &["ON_DEMAND"],
                ),
                fm("weird", "Some Vendor", &["TEXT"], &["ON_DEMAND"]),
                fm("amazon.nova-lite-v1:0", "Amazon", &["TEXT"], &["ON_DEMAND"]),
                fm(
                    "cohere.embed-v4:0",
                    "Cohere",
                    &["EMBEDDING"],
                    &["INFERENCE_PROFILE"],
                ),
            ],
        };
        let profiles = vec![
            profile(
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "anthropic.claude-3-7-sonnet-20250219-v1:0",
                "ACTIVE",
            ),
            profile(
                "us.stability.sd3-large-v1:0",
                "stability.sd3-large-v1:0",
                "ACTIVE",
            ),
            profile("us.cohere.embed-v4:0", "cohere.embed-v4:0", "ACTIVE"),
            profile(
                "eu.meta.llama3-2-1b-instruct-v1:0",
                "meta.llama3-2-1b-instruct-v1:0",
                "ACTIVE",
            ),
            profile(
                "us.amazon.nova-pro-v1:0",
                "amazon.nova-pro-v1:0",
                "INACTIVE",
            ),
        ];
        let got: Vec<(String, String, ModelKind)> =
            from_listings(models, profiles, 7, &HashMap::new())
                .into_iter()
                .map(|m| {
                    assert_eq!(m.created, 7);
                    (m.id, m.owned_by, m.kind)
                })
                .collect();
        let want = [
            (
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "anthropic",
                ModelKind::Chat,
            ),
            ("amazon.nova-lite-v1:0", "amazon", ModelKind::Chat),
            (
                "amazon.titan-embed-text-v2:0",
                "amazon",
                ModelKind::Embedding,
            ),
            ("weird", "some-vendor", ModelKind::Chat),
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "anthropic",
                ModelKind::Chat,
            ),
            ("us.cohere.embed-v4:0", "cohere", ModelKind::Embedding),
            ("eu.meta.llama3-2-1b-instruct-v1:0", "meta", ModelKind::Chat),
        ];
        let want: Vec<(String, String, ModelKind)> = want
            .iter()
            .map(|(a, b, k)| ((*a).to_owned(), (*b).to_owned(), *k))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn configured_models_get_vendor_and_kind() {
        let ids: Vec<String> = [
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456",
            "amazon.titan-embed-text-v2:0",
            " ",
            "amazon.titan-embed-text-v2:0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let got: Vec<(String, String, ModelKind)> = configured_models(&ids, 1)
            .into_iter()
            .map(|m| (m.id, m.owned_by, m.kind))
            .collect();
        let want = [
            ("anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic", ModelKind::Chat),
            ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic", ModelKind::Chat),
            ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0", "meta", ModelKind::Chat),
            ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456", "bedrock", ModelKind::Chat),
            ("amazon.titan-embed-text-v2:0", "amazon", ModelKind::Embedding),
        ];
        let want: Vec<(String, String, ModelKind)> = want
            .iter()
            .map(|(a, b, k)| ((*a).to_owned(), (*b).to_owned(), *k))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn kind_guesses() {
        let cases = [
            ("cohere.embed-english-v3", ModelKind::Embedding),
            ("us.cohere.embed-v4:0", ModelKind::Embedding),
            ("amazon.titan-embed-image-v1", ModelKind::Embedding),
            ("amazon.nova-lite-v1:0", ModelKind::Chat),
            ("meta.llama3-8b-instruct-v1:0", ModelKind::Chat),
        ];
        for (id, kind) in cases {
            assert_eq!(guess_kind(id), kind, "{id}");
        }
    }
}
