//! The router and its middleware stack.

use crate::auth::{self, MasterKey};
use crate::error::AppError;
use crate::extract::{payload_too_large, BodyLimit};
use crate::handlers::{
    admin, chat, embeddings, fallback, health, models, ready, responses, stored_responses,
};
use crate::usage::{self, Tracked, UsageSink};
use crate::{audit, telemetry};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use gomodel_core::registry::Registry;
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use gomodel_storage::Storage;
use metrics_exporter_prometheus::PrometheusHandle;
use std::any::Any;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

/// What handlers share.
pub struct AppState {
    pub registry: Arc<Registry>,
    /// `None` when storage is off (`STORAGE_ENABLED=false`): no usage rows, no stored responses.
    pub storage: Option<Arc<dyn Storage>>,
    /// Where finished requests are recorded (metrics always, usage rows with storage).
    pub usage: UsageSink,
    /// The Prometheus exporter behind `GET /metrics`.
    pub metrics: Option<PrometheusHandle>,
    /// Body logging (off by default).
    pub audit: Option<audit::AuditLog>,
}

impl AppState {
    /// A gateway without storage or audit log; metrics are installed process-wide.
    pub fn new(registry: Arc<Registry>) -> Self {
        AppState {
            registry,
            storage: None,
            usage: UsageSink::default(),
            metrics: crate::metrics::install(),
            audit: None,
        }
    }
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
/// 5. **auth** on `/v1`, `/v1/*` and `/admin/*` (only with a master key): 401
///    `invalid_api_key`. Without a master key the admin API answers 403: it is never open.
///
/// On the usage endpoints (chat completions, embeddings, responses), route layers then record
/// usage and metrics per request (`usage::track`) and, when enabled, log bodies (`audit`).
///
/// Then routing: unknown paths get an OpenAI-shaped 404, known paths with the wrong method 405.
pub fn router(state: Arc<AppState>, opts: RouterOptions) -> Router {
    let limit = opts.body_limit_bytes;
    let tracked = |endpoint: &'static str, route: MethodRouter<Arc<AppState>>| {
        let route = match &state.audit {
            Some(log) => route.route_layer(middleware::from_fn_with_state(
                (log.clone(), limit),
                audit::log_bodies,
            )),
            None => route,
        };
        route.route_layer(middleware::from_fn_with_state(
            Tracked {
                sink: state.usage.clone(),
                endpoint,
            },
            usage::track,
        ))
    };
    let admin_routes = Router::new()
        .route("/admin/usage", get(admin::usage))
        .route("/admin/requests", get(admin::requests));
    let admin_routes = if opts.master_key.is_some() {
        admin_routes
    } else {
        admin_routes.route_layer(middleware::from_fn(admin_needs_key))
    };
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/health/ready", get(ready::ready))
        .route("/metrics", get(metrics_endpoint))
        .route("/v1/models", get(models::list))
        .route(
            "/v1/chat/completions",
            tracked("chat.completions", post(chat::completions)),
        )
        .route(
            "/v1/embeddings",
            tracked("embeddings", post(embeddings::create)),
        )
        .route(
            "/v1/responses",
            tracked("responses", post(responses::create)),
        )
        .route(
            "/v1/responses/{id}",
            get(stored_responses::get).delete(stored_responses::delete),
        )
        .route(
            "/v1/responses/{id}/input_items",
            get(stored_responses::input_items),
        )
        .merge(admin_routes)
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

async fn metrics_endpoint(State(state): State<Arc<AppState>>) -> Response {
    crate::metrics::render(state.metrics.as_ref())
}

/// Without a master key the gateway is open, but usage data still must not be.
async fn admin_needs_key(_req: Request, _next: Next) -> Response {
    AppError(
        GatewayError::new(
            ErrorKind::PermissionDenied,
            ErrorSource::Downstream,
            "The admin API requires GOMODEL_MASTER_KEY to be set; it is disabled on an open gateway.",
        )
        .with_code("admin_disabled"),
    )
    .into_response()
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
