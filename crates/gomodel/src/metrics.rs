//! Prometheus metrics (`GET /metrics`), through the `metrics` facade: handlers and the usage
//! writer update counters and histograms lock-free; the exporter renders on scrape.
//!
//! Label sets are kept small and bounded: `model` is the upstream id the registry resolved
//! (empty when the request failed before resolving, so a client cannot mint series with random
//! model names), `provider` is a configured provider name, `status` an HTTP status.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use gomodel_storage::metric as storage_metric;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
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

/// Drains histogram samples into their buckets every few seconds so memory stays flat between
/// scrapes (`install_recorder` leaves this to the caller).
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
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
