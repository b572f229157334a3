//! Logging setup and request ids (the log line itself is written by the front door).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::io::IsTerminal;
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
            "{level},hyper=warn,hyper_util=warn,h2=warn,rustls=warn,aws_config=warn,aws_smithy_runtime=warn,aws_sigv4=warn,tower=warn,sqlx=warn"
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
        Self::str_of(&self.0)
    }

    /// The id as text ("" if it were not ASCII, which [`request_id_of`] rules out).
    pub fn str_of(value: &HeaderValue) -> &str {
        value.to_str().unwrap_or("")
    }
}

/// The model a handler served, put in the response extensions for the log line.
#[derive(Debug, Clone)]
pub struct ServedModel(pub String);

/// The client's `x-request-id` when it is short printable ASCII (it ends up in logs, so anything
/// else is replaced), otherwise a generated one.
pub fn request_id_of(headers: &HeaderMap) -> HeaderValue {
    headers
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
        })
}
