//! The router and its middleware stack.

use crate::auth::{self, MasterKey};
use crate::error::AppError;
use crate::extract::{payload_too_large, BodyLimit};
use crate::handlers::{chat, embeddings, fallback, health, models};
use crate::telemetry;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gomodel_core::registry::Registry;
use gomodel_core::GatewayError;
use std::any::Any;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

/// What handlers share.
pub struct AppState {
    pub registry: Arc<Registry>,
}

/// Settings of the HTTP surface itself.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// `None`: no authentication (the gateway is open).
    pub master_key: Option<MasterKey>,
    pub body_limit_bytes: usize,
}

/// Builds the router.
///
/// Middleware order, outermost first (each sees what the ones after it produce):
/// 1. **request id**: accept `x-request-id` or generate one; echo it on every response, errors
///    and panics included.
/// 2. **request log**: one line per request (method, path, status, latency, model), inside
///    a span carrying the request id.
/// 3. **catch-panic**: a panicking handler becomes a 500 OpenAI error, never a dead connection
///    or process; being inside 1–2, the 500 is still logged and carries the request id.
/// 4. **body limit**: a declared `Content-Length` over the limit is refused with an
///    OpenAI-shaped 413 before anything reads the body; `DefaultBodyLimit` makes the JSON
///    extractor refuse chunked bodies over the limit the same way.
/// 5. **auth** on `/v1` and `/v1/*` (only with a master key): 401 `invalid_api_key`.
///
/// Then routing: unknown paths get an OpenAI-shaped 404, known paths with the wrong method 405.
pub fn router(state: Arc<AppState>, opts: RouterOptions) -> Router {
    let limit = opts.body_limit_bytes;
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/v1/models", get(models::list))
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/embeddings", post(embeddings::create))
        .route("/v1/responses", post(crate::handlers::responses::create))
        // After the routes: it applies to the routes registered so far.
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .fallback(fallback::not_found)
        .with_state(state);
    let routes = match opts.master_key {
        Some(key) => routes.layer(middleware::from_fn_with_state(key, auth::require_key)),
        None => routes,
    };
    routes.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(telemetry::request_id))
            .layer(middleware::from_fn(telemetry::log_request))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(middleware::from_fn_with_state(limit, body_limit))
            .layer(DefaultBodyLimit::max(limit)),
    )
}

/// Refuses a declared body over the limit up front (no point reading 1 GiB to reject it).
async fn body_limit(State(limit): State<usize>, mut req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError(payload_too_large(Some(limit))).into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    next.run(req).await
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
