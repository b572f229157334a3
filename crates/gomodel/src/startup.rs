//! Turning the configuration into providers and a filled model registry.

use gomodel_bedrock::{BedrockProvider, BedrockSettings};
use gomodel_config::{Config, ProviderType};
use gomodel_core::model::ModelsMode;
use gomodel_core::registry::{RefreshReport, Registry};
use gomodel_core::Provider;
use std::sync::Arc;
use std::time::Duration;

/// A startup refresh slower than this is finished by the background refresh instead, so a hung
/// control plane cannot keep the gateway from listening.
pub const STARTUP_REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The one HTTP client every provider shares: one connection pool, reused across requests.
/// No overall request timeout: streams legitimately run for minutes; the connect timeout and
/// TCP keepalive catch dead peers instead.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("gomodel/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn models_mode(mode: gomodel_config::ModelsMode) -> ModelsMode {
    match mode {
        gomodel_config::ModelsMode::Fallback => ModelsMode::Fallback,
        gomodel_config::ModelsMode::Allowlist => ModelsMode::Allowlist,
    }
}

/// Builds one provider per configured entry. A configured provider that cannot be set up is a
/// startup error (the message says which one); the implicit default `bedrock` is only a warning,
/// so a gateway with no AWS setup at all still starts and reports what is missing.
pub async fn build_providers(
    config: &Config,
    http: &reqwest::Client,
) -> Result<Vec<Arc<dyn Provider>>, String> {
    let mut providers: Vec<Arc<dyn Provider>> = Vec::with_capacity(config.providers.len());
    for p in &config.providers {
        match p.kind {
            ProviderType::Bedrock => {
                let settings = BedrockSettings {
                    name: p.name.clone(),
                    base_url: p.base_url.clone(),
                    region_fallback: p.region_fallback.clone(),
                    models: p.models.clone(),
                    models_mode: models_mode(config.models.mode),
                    // The provider's own timeouts (request, stream idle, listing) are tuned there.
                    ..BedrockSettings::default()
                };
                match BedrockProvider::new(settings, http.clone()).await {
                    Ok(provider) => {
                        tracing::info!(
                            provider = %p.name,
                            base_url = p.base_url.as_deref().unwrap_or(""),
                            region_fallback = p.region_fallback.as_deref().unwrap_or(""),
                            configured_models = p.models.len(),
                            "provider ready"
                        );
                        providers.push(Arc::new(provider));
                    }
                    Err(e) if p.implicit => {
                        tracing::warn!(
                            provider = %p.name, error = %e.message,
                            "default Bedrock provider not available: set BEDROCK_BASE_URL (or AWS_REGION) and AWS credentials"
                        );
                    }
                    Err(e) => return Err(format!("provider {}: {}", p.name, e.message)),
                }
            }
        }
    }
    Ok(providers)
}

/// The first registry fill, bounded by [`STARTUP_REFRESH_TIMEOUT`]; logs the diagnosis when it
/// ends up empty.
pub async fn initial_refresh(registry: &Registry) {
    match tokio::time::timeout(STARTUP_REFRESH_TIMEOUT, registry.refresh()).await {
        Ok(report) => log_report(&report, registry),
        Err(_) => tracing::warn!(
            timeout_secs = STARTUP_REFRESH_TIMEOUT.as_secs(),
            "model listing is taking too long: starting anyway, the background refresh will fill the registry"
        ),
    }
}

fn log_report(report: &RefreshReport, registry: &Registry) {
    if registry.is_empty() {
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|(name, e)| format!("{name}: {}", e.message))
            .collect();
        tracing::error!(
            providers = registry.providers().len(),
            listing_failures = %failures.join("; "),
            "model registry has no models: the region has no on-demand text models, or the control-plane call failed. \
             Fix: set BEDROCK_MODELS (or BEDROCK_<SUFFIX>_MODELS / providers.<name>.models) to the model or inference-profile ids to serve, \
             or check the IAM permissions (bedrock:ListFoundationModels, bedrock:ListInferenceProfiles) and the region (BEDROCK_BASE_URL / AWS_REGION)"
        );
    } else {
        tracing::info!(
            models = report.models,
            failures = report.failures.len(),
            "model registry loaded"
        );
    }
}

/// Rebuilds the registry every `every` (not at all when zero). A failed listing keeps that
/// provider's previous models (see `Registry::refresh`).
pub fn spawn_refresh(
    registry: Arc<Registry>,
    every: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        // After a stall, one refresh is enough; a burst of catch-up refreshes helps nobody.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let report = registry.refresh().await;
            tracing::debug!(
                models = report.models,
                failures = report.failures.len(),
                "model registry refreshed"
            );
        }
    }))
}
