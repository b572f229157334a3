//! Prometheus metrics (`GET /metrics`), through the `metrics` facade: handlers and the usage
//! writer update counters and histograms lock-free; the exporter renders on scrape.
//!
//! Label sets are kept small and bounded: `model` is the upstream id the registry resolved
//! (empty when the request failed before resolving, so a client cannot mint series with random
//! model names), `provider` is a configured provider name, `status` an HTTP status.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use gomodel_storage::metric as storage_metric;
use metrics::{
    describe_counter, describe_gauge, describe_histogram, Counter, Histogram, SharedString, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

pub const REQUESTS: &str = "gomodel_requests_total";
pub const REQUEST_DURATION: &str = "gomodel_request_duration_seconds";
pub const TTFT: &str = "gomodel_time_to_first_token_seconds";
pub const UPSTREAM_DURATION: &str = "gomodel_upstream_duration_seconds";
pub const TOKENS: &str = "gomodel_tokens_total";
pub const UPSTREAM_ERRORS: &str = "gomodel_upstream_errors_total";
pub const STREAMS_IN_FLIGHT: &str = "gomodel_streams_in_flight";
pub const STORED_RESPONSE_ERRORS: &str = "gomodel_stored_response_errors_total";

/// Latency buckets (seconds): 5 ms to 5 min, the range between a cached embedding and a long
/// reasoning stream.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (later calls return the same handle; tests build
/// many routers in one process). `None` if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed: /metrics will be empty");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    describe_counter!(
        REQUESTS,
        "Requests by endpoint, provider, upstream model and HTTP status"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Request latency (streams: until the last byte)"
    );
    describe_histogram!(
        TTFT,
        Unit::Seconds,
        "Streams: time from the request to the first content event"
    );
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Provider call latency (streams: until the stream opened)"
    );
    describe_counter!(
        TOKENS,
        "Tokens by provider, upstream model and type (input, output, cached, reasoning)"
    );
    describe_counter!(
        UPSTREAM_ERRORS,
        "Provider errors by provider and error code (the Bedrock exception name)"
    );
    describe_gauge!(STREAMS_IN_FLIGHT, "Streamed answers being sent right now");
    describe_counter!(
        STORED_RESPONSE_ERRORS,
        "Responses that could not be stored (the answer was still returned)"
    );
    describe_gauge!(
        storage_metric::QUEUE_DEPTH,
        "Usage records waiting to be written"
    );
    describe_counter!(
        storage_metric::DROPPED,
        "Usage records lost (buffer full, or unwritten at shutdown)"
    );
    describe_counter!(storage_metric::WRITTEN, "Usage records written");
    describe_counter!(
        storage_metric::WRITE_ERRORS,
        "Failed usage batch writes (each is retried)"
    );
}

/// How often histogram samples are drained into their buckets. Until drained, every sample sits
/// in a queue of its own (≈ 8 bytes each): at 10,000 req/s a 5 s period held ≈ 0.8 MB, a sawtooth
/// that showed in the soak's RSS. A quarter second holds ≈ 40 KB; the draining work is the same
/// per sample either way.
const UPKEEP_PERIOD: Duration = Duration::from_millis(250);

/// Drains histogram samples into their buckets so memory stays flat between scrapes
/// (`install_recorder` leaves this to the caller).
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_PERIOD);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

/// `GET /metrics`: Prometheus text format, version 0.0.4.
pub fn render(handle: Option<&PrometheusHandle>) -> Response {
    let body = handle.map(PrometheusHandle::render).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The status as a label without allocating for the common ones.
pub fn status_label(status: u16) -> metrics::SharedString {
    let s: &'static str = match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        422 => "422",
        429 => "429",
        499 => "499",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return metrics::SharedString::from(other.to_string()),
    };
    metrics::SharedString::const_str(s)
}

/// The token kinds of [`TOKENS`], in the order of [`Series::tokens`].
pub const TOKEN_KINDS: [&str; 4] = ["input", "output", "cached", "reasoning"];

/// The handles of one request series: endpoint, provider, upstream model and status.
pub struct Series {
    pub requests: Counter,
    pub duration: Histogram,
    pub ttft: Histogram,
    pub upstream: Histogram,
    /// By [`TOKEN_KINDS`].
    pub tokens: [Counter; 4],
}

impl Series {
    fn register(endpoint: &'static str, provider: &str, model: &str, status: u16) -> Self {
        let endpoint = SharedString::const_str(endpoint);
        let provider = SharedString::from(Arc::<str>::from(provider));
        let model = SharedString::from(Arc::<str>::from(model));
        let timing = |name: &'static str| {
            metrics::histogram!(name, "endpoint" => endpoint.clone(),
                "provider" => provider.clone(), "model" => model.clone())
        };
        Series {
            requests: metrics::counter!(REQUESTS, "endpoint" => endpoint.clone(),
                "provider" => provider.clone(), "model" => model.clone(),
                "status" => status_label(status)),
            duration: timing(REQUEST_DURATION),
            ttft: timing(TTFT),
            upstream: timing(UPSTREAM_DURATION),
            tokens: TOKEN_KINDS.map(|kind| {
                metrics::counter!(TOKENS, "provider" => provider.clone(),
                    "model" => model.clone(), "type" => kind)
            }),
        }
    }
}

/// Series handles by label set. The `metrics` macros build a label key and look the series up
/// on every call (about five heap allocations per request); a request here finds its handles
/// with one map look-up and no allocation. Label values come from configuration (providers,
/// resolved models) and a fixed set of statuses, so the map stays small; the cap only guards
/// against the unexpected (past it, handles are registered per request as before).
#[derive(Default)]
pub struct SeriesCache {
    map: RwLock<HashMap<Box<str>, Arc<Series>>>,
}

impl SeriesCache {
    const MAX_SERIES: usize = 4096;

    pub fn get(
        &self,
        endpoint: &'static str,
        provider: &str,
        model: &str,
        status: u16,
    ) -> Arc<Series> {
        thread_local! {
            // The look-up key, built in a reused buffer.
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        KEY.with_borrow_mut(|key| {
            key.clear();
            // NUL cannot occur in the label values (they are model ids and provider names).
            let _ = write!(key, "{endpoint}\0{provider}\0{model}\0{status}");
            let found = self
                .map
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(key.as_str())
                .cloned();
            found.unwrap_or_else(|| {
                let series = Arc::new(Series::register(endpoint, provider, model, status));
                let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
                if map.len() >= Self::MAX_SERIES {
                    return series;
                }
                map.entry(key.as_str().into()).or_insert(series).clone()
            })
        })
    }
}
