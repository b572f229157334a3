//! The front door: one tower service around the whole router that does, in one future per
//! request, what every request needs before and after routing.
//!
//! These steps used to be six stacked `axum::middleware` layers. axum boxes each layer once per
//! route and clones the boxes for every request, so the stack cost about 25 heap allocations per
//! request (measured with allocation probes; see `docs/benchmarks.md`). Here they cost one boxed
//! future. In order, each step seeing what the later ones produce:
//!
//! 1. **request id**: accept `x-request-id` or generate one; echo it on every response, errors
//!    and panics included.
//! 2. **request log**: one line per request (method, path, status, latency, model), inside a span
//!    carrying the request id.
//! 3. **catch-panic**: a panicking handler becomes a 500 OpenAI error, never a dead connection or
//!    process; the 500 is still logged and carries the request id.
//! 4. **body limit**: a declared `Content-Length` over the limit is refused with an OpenAI-shaped
//!    413 before anything reads the body; the limit goes into the request extensions so the JSON
//!    extractor refuses chunked bodies over it the same way.
//! 5. **auth** on `/v1`, `/v1/*` and `/admin/*` (only with a master key): 401 `invalid_api_key`.
//! 6. **usage**: on the usage endpoints (chat completions, embeddings, responses) one usage record
//!    and one set of metric updates per request (see `usage`).

use crate::auth::{self, MasterKey};
use crate::error::{AppError, ErrorSummary};
use crate::extract::{payload_too_large, BodyLimit};
use crate::telemetry::{self, RequestId, ServedModel};
use crate::usage::{self, UsageSink};
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use futures::FutureExt;
use gomodel_core::GatewayError;
use std::any::Any;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Service, ServiceExt};
use tracing::Instrument;

/// What the front door needs to know.
pub struct FrontConfig {
    /// `None`: no authentication (the gateway is open).
    pub master_key: Option<MasterKey>,
    pub body_limit: usize,
    /// Where the usage endpoints' requests are recorded.
    pub usage: UsageSink,
}

/// The service that wraps the router (see the module docs).
#[derive(Clone)]
pub struct FrontDoor<S> {
    inner: S,
    config: Arc<FrontConfig>,
}

impl<S> FrontDoor<S> {
    pub fn new(inner: S, config: FrontConfig) -> Self {
        FrontDoor {
            inner,
            config: Arc::new(config),
        }
    }
}

impl<S> Service<Request> for FrontDoor<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready; readiness is checked again by `oneshot` per request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let inner = self.inner.clone();
        let config = self.config.clone();
        Box::pin(async move { Ok(handle(inner, &config, req).await) })
    }
}

async fn handle<S>(inner: S, config: &FrontConfig, mut req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let start = Instant::now();
    let id = telemetry::request_id_of(req.headers());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %RequestId::str_of(&id));
    let method = req.method().clone();
    // Clones share the request's buffers: no copy of the path.
    let uri = req.uri().clone();
    let mut resp = gate_and_route(inner, config, req, &id)
        .instrument(span.clone())
        .await;
    let _entered = span.enter();
    log_line(&method, uri.path(), &resp, start);
    resp.headers_mut()
        .insert(telemetry::X_REQUEST_ID.clone(), id);
    resp
}

/// Steps 3–6: refuse what must be refused, else route (recording usage where it applies).
async fn gate_and_route<S>(
    inner: S,
    config: &FrontConfig,
    mut req: Request,
    id: &axum::http::HeaderValue,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    if let Err(e) = check_declared_length(req.headers(), config.body_limit) {
        return AppError(e).into_response();
    }
    req.extensions_mut().insert(BodyLimit(config.body_limit));
    if let Some(key) = &config.master_key {
        if auth::is_protected(req.uri().path()) {
            if let Err(e) = auth::check(key, req.headers()) {
                return AppError(e).into_response();
            }
        }
    }
    let tracked = usage_endpoint(req.method(), req.uri().path())
        .map(|endpoint| usage::UsageCtx::begin(endpoint, req.headers(), id));
    if let Some(ctx) = &tracked {
        req.extensions_mut().insert(ctx.clone());
    }
    let routed = AssertUnwindSafe(inner.oneshot(req)).catch_unwind().await;
    let mut resp = match routed {
        Ok(Ok(resp)) => resp,
        Ok(Err(never)) => match never {},
        Err(panic) => panic_response(panic),
    };
    if let Some(ctx) = tracked {
        config.usage.finish_response(&ctx, &mut resp);
    }
    resp
}

/// The usage endpoint a request is for: only the routed method counts (a 405 is not usage).
fn usage_endpoint(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::POST {
        return None;
    }
    match path {
        "/v1/chat/completions" => Some("chat.completions"),
        "/v1/embeddings" => Some("embeddings"),
        "/v1/responses" => Some("responses"),
        _ => None,
    }
}

/// Refuses a declared body over the limit up front (no point reading 1 GiB to reject it).
fn check_declared_length(
    headers: &axum::http::HeaderMap,
    limit: usize,
) -> Result<(), GatewayError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(payload_too_large(Some(limit)));
    }
    Ok(())
}

/// One line per request when the response head is ready (for streams that is when streaming
/// starts; the latency is then time-to-first-byte). Never logs headers or bodies.
fn log_line(method: &Method, path: &str, resp: &Response, start: Instant) {
    // Two decimals: sub-10µs precision is noise, and long float tails clutter every line.
    let latency_ms = (start.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let status = resp.status().as_u16();
    let model = resp
        .extensions()
        .get::<ServedModel>()
        .map(|m| m.0.as_str())
        .unwrap_or("");
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
}

fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %detail, "handler panicked");
    AppError(GatewayError::internal(
        "The server had an error while processing your request.",
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn usage_endpoints() {
        let cases = [
            (
                Method::POST,
                "/v1/chat/completions",
                Some("chat.completions"),
            ),
            (Method::POST, "/v1/embeddings", Some("embeddings")),
            (Method::POST, "/v1/responses", Some("responses")),
            (Method::GET, "/v1/chat/completions", None),
            (Method::POST, "/v1/responses/resp_1", None),
            (Method::POST, "/v1/models", None),
            // Model retrieval is not a usage endpoint: no usage row, and no metric labelled with
            // the (client-chosen) id in the path.
            (Method::GET, "/v1/models/vendor.chat", None),
            (Method::POST, "/v1/models/vendor.chat", None),
        ];
        for (method, path, want) in cases {
            assert_eq!(usage_endpoint(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn declared_length() {
        let status = |declared: Option<&'static str>| {
            let mut headers = axum::http::HeaderMap::new();
            if let Some(n) = declared {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static(n));
            }
            check_declared_length(&headers, 10).map_err(|e| e.status())
        };
        assert_eq!(status(None), Ok(()));
        assert_eq!(status(Some("10")), Ok(()));
        assert_eq!(status(Some("11")), Err(413));
        // Not a number: left to the HTTP layer, not refused here.
        assert_eq!(status(Some("ten")), Ok(()));
    }
}
