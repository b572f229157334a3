//! Logging setup, request ids, and the one log line per request.

use crate::error::ErrorSummary;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::io::IsTerminal;
use std::time::Instant;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Log filter: `RUST_LOG` (full directives) wins, else `LOG_LEVEL` (`debug`, `info`, `warn`,
/// `error`; GoModel's variable), else `info`. Dependencies stay at `warn` unless `RUST_LOG` says
/// otherwise: their `info`/`debug` output (connection pools, TLS) drowns the gateway's own.
/// `LOG_FORMAT=json` switches to one JSON object per line.
pub fn init_tracing(rust_log: Option<&str>, log_level: Option<&str>, log_format: Option<&str>) {
    let filter = match rust_log.filter(|s| !s.trim().is_empty()) {
        Some(directives) => EnvFilter::try_new(directives).ok(),
        None => None,
    }
    .unwrap_or_else(|| {
        let level = match log_level.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
            Some(l @ ("trace" | "debug" | "info" | "warn" | "error")) => l.to_owned(),
            Some("warning") => "warn".to_owned(),
            _ => "info".to_owned(),
        };
        EnvFilter::new(format!(
            "{level},hyper=warn,hyper_util=warn,h2=warn,rustls=warn,reqwest=warn,aws_config=warn,aws_smithy_runtime=warn,aws_sigv4=warn,tower=warn,sqlx=warn"
        ))
    });
    let json = log_format.is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
    // Colour only on a terminal: escape codes in files and log collectors break grepping.
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // `try_init`: a second initialisation (tests) keeps the first subscriber instead of panicking.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            // The current span (with the request id) is enough; the full list repeats it.
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The request id, in the request extensions for handlers and the log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("")
    }
}

/// The model a handler served, put in the response extensions for the log line.
#[derive(Debug, Clone)]
pub struct ServedModel(pub String);

/// Middleware: takes the client's `x-request-id` when it is short printable ASCII (it ends up
/// in logs, so anything else is replaced), otherwise generates one; echoes it on the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            // Encoded on the stack: the header value is the only allocation.
            let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
            let id = uuid::Uuid::new_v4().simple().encode_lower(&mut buf);
            HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("unknown"))
        });
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(X_REQUEST_ID.clone(), id);
    resp
}

/// Middleware: one line per request when the response head is ready (for streams that is when
/// streaming starts; the latency is then time-to-first-byte). Never logs headers or bodies.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // Clones share the request's buffers: no copy of the path or the id.
    let uri = req.uri().clone();
    let path = uri.path();
    let id = req.extensions().get::<RequestId>().cloned();
    let span = tracing::info_span!(
        "request",
        request_id = %id.as_ref().map_or("", RequestId::as_str)
    );
    let resp = next.run(req).instrument(span.clone()).await;
    // Two decimals: sub-10µs precision is noise, and long float tails clutter every line.
    let latency_ms = (start.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let status = resp.status().as_u16();
    let model = resp
        .extensions()
        .get::<ServedModel>()
        .map(|m| m.0.as_str())
        .unwrap_or("");
    let _entered = span.enter();
    match resp.extensions().get::<ErrorSummary>() {
        Some(err) if status >= 500 => tracing::warn!(
            %method, %path, status, latency_ms, model,
            error_code = err.code.as_deref().unwrap_or(""), error = %err.message,
            "request failed"
        ),
        Some(err) => tracing::info!(
            %method, %path, status, latency_ms, model,
            error_code = err.code.as_deref().unwrap_or(""), error = %err.message,
            "request"
        ),
        None => tracing::info!(%method, %path, status, latency_ms, model, "request"),
    }
    resp
}
