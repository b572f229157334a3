//! Turning the configuration into providers and a filled model registry.

use gomodel_bedrock::guardrail::GuardrailSettings;
use gomodel_bedrock::{BedrockProvider, BedrockSettings, EgressPolicy, ProfileRouting};
use gomodel_config::{Config, ProviderType};
use gomodel_core::registry::{RefreshReport, Registry};
use gomodel_core::Provider;
use std::sync::Arc;
use std::time::Duration;

/// A startup refresh slower than this is finished by the background refresh instead, so a hung
/// control plane cannot keep the gateway from listening.
pub const STARTUP_REFRESH_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP clients every provider shares, each one connection pool reused across requests.
/// No overall request timeout: streams legitimately run for minutes; the connect timeout and
/// TCP keepalive catch dead peers instead.
pub struct HttpClients {
    /// Every call to Bedrock, runtime and control plane (see `gomodel_bedrock::transport`).
    /// Each provider downloads the image URLs of requests on a checked sibling of it, with a
    /// pool of its own (see `gomodel_bedrock::fetch`, `gomodel_bedrock::egress`).
    pub bedrock: gomodel_bedrock::HttpClient,
}

pub fn http_clients() -> Result<HttpClients, String> {
    let bedrock = gomodel_bedrock::HttpClient::new(CONNECT_TIMEOUT).map_err(|e| e.message)?;
    Ok(HttpClients { bedrock })
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Bedrock settings of one configured provider: unset tuning keeps the provider defaults.
/// The gateway-wide settings that reach the provider (`models`, `image_fetch`) come from `config`.
pub fn bedrock_settings(p: &gomodel_config::ProviderConfig, config: &Config) -> BedrockSettings {
    let defaults = BedrockSettings::default();
    let mut timeouts = defaults.timeouts;
    timeouts.connect = p.connect_timeout.unwrap_or(timeouts.connect);
    timeouts.request = p.request_timeout.unwrap_or(timeouts.request);
    timeouts.stream_idle = p.stream_idle_timeout.unwrap_or(timeouts.stream_idle);
    let mut retry = defaults.retry;
    retry.max_retries = p.max_retries.unwrap_or(retry.max_retries);
    BedrockSettings {
        name: p.name.clone(),
        base_url: p.base_url.clone(),
        region_fallback: p.region_fallback.clone(),
        models: p.models.clone(),
        models_mode: config.models.mode,
        timeouts,
        retry,
        api_key: p.api_key.clone().map(gomodel_bedrock::client::ApiKey),
        inference_profiles: match p.inference_profiles {
            gomodel_config::InferenceProfiles::Auto => ProfileRouting::Auto,
            gomodel_config::InferenceProfiles::Off => ProfileRouting::Off,
        },
        guardrail: p.guardrail.clone().map(|g| GuardrailSettings {
            identifier: g.identifier,
            version: g.version,
            trace: g.trace,
            stream_processing_mode: g.stream_processing_mode,
        }),
        image_fetch: EgressPolicy {
            allow_private: config.image_fetch.allow_private,
            ..EgressPolicy::default()
        },
    }
}

/// Builds one provider per configured entry. A configured provider that cannot be set up is a
/// startup error (the message says which one); the implicit default `bedrock` is only a warning,
/// so a gateway with no AWS setup at all still starts and reports what is missing.
pub async fn build_providers(
    config: &Config,
    http: &HttpClients,
) -> Result<Vec<Arc<dyn Provider>>, String> {
    let mut providers: Vec<Arc<dyn Provider>> = Vec::with_capacity(config.providers.len());
    for p in &config.providers {
        match p.kind {
            ProviderType::Bedrock => {
                let settings = bedrock_settings(p, config);
                // A provider with its own connect timeout needs its own pool; the others share.
                let client = match p.connect_timeout {
                    Some(_) => gomodel_bedrock::http_client(&settings.timeouts)
                        .map_err(|e| format!("provider {}: {}", p.name, e.message))?,
                    None => http.bedrock.clone(),
                };
                match BedrockProvider::new(settings, client).await {
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

/// Storage as the running gateway holds it.
pub struct StorageRuntime {
    pub storage: Arc<dyn gomodel_storage::Storage>,
    pub recorder: gomodel_storage::UsageRecorder,
    pub writer: gomodel_storage::RecorderTask,
}

/// How long startup waits for the database before serving anyway.
pub const STORAGE_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens storage (`None` when disabled) and applies migrations. A database that is down at
/// startup does not stop the gateway: it serves, usage records queue, and the writer migrates
/// and writes once the database answers. Only a schema newer than this build is fatal (an
/// older gateway must not write into it).
pub async fn open_storage(
    config: &gomodel_config::StorageConfig,
) -> Result<Option<StorageRuntime>, String> {
    use gomodel_config::StorageBackend;
    if !config.enabled {
        tracing::info!(
            "storage disabled (STORAGE_ENABLED=false): no usage records, no stored responses"
        );
        return Ok(None);
    }
    let (backend, location) = match &config.backend {
        StorageBackend::Sqlite { path } => (
            gomodel_storage::StorageConfig::Sqlite { path: path.clone() },
            path.display().to_string(),
        ),
        StorageBackend::Postgres { url } => (
            gomodel_storage::StorageConfig::Postgres { url: url.clone() },
            gomodel_config::redact_url(url),
        ),
    };
    let storage = gomodel_storage::open(&backend).map_err(|e| format!("storage: {e}"))?;
    match tokio::time::timeout(STORAGE_STARTUP_TIMEOUT, storage.migrate()).await {
        Ok(Ok(())) => {
            tracing::info!(backend = storage.backend(), location = %location, "storage ready")
        }
        Ok(Err(e @ gomodel_storage::StorageError::SchemaTooNew { .. })) => {
            return Err(format!("storage ({location}): {e}"))
        }
        Ok(Err(e)) => tracing::error!(
            backend = storage.backend(), location = %location, error = %e,
            "storage unavailable at startup: serving anyway; usage records are queued and written once it is reachable"
        ),
        Err(_) => tracing::error!(
            backend = storage.backend(), location = %location,
            timeout_secs = STORAGE_STARTUP_TIMEOUT.as_secs(),
            "storage did not answer at startup: serving anyway; usage records are queued and written once it is reachable"
        ),
    }
    let (recorder, writer) = gomodel_storage::UsageRecorder::spawn(
        storage.clone(),
        gomodel_storage::RecorderOptions::default(),
    );
    Ok(Some(StorageRuntime {
        storage,
        recorder,
        writer,
    }))
}
