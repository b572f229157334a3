//! The router and its middleware stack.

use crate::audit;
use crate::auth::MasterKey;
use crate::error::AppError;
use crate::front::{FrontConfig, FrontDoor};
use crate::handlers::{
    admin, chat, embeddings, fallback, health, models, ready, responses, stored_responses,
};
use crate::usage::UsageSink;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use gomodel_core::registry::Registry;
use gomodel_core::{ErrorKind, ErrorSource, GatewayError};
use gomodel_storage::Storage;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

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

/// The gateway as served: the router behind its front door.
pub type App = FrontDoor<Router>;

/// Builds the gateway: the routes, behind the front door (request id, request log,
/// catch-panic, body limit, auth and usage recording; see `front`).
///
/// With the audit log on, a route layer logs the usage endpoints' bodies. Without a master key
/// the admin API answers 403: it is never open.
///
/// Then routing: unknown paths get an OpenAI-shaped 404, known paths with the wrong method 405.
pub fn router(state: Arc<AppState>, opts: RouterOptions) -> App {
    let limit = opts.body_limit_bytes;
    let audited = |route: MethodRouter<Arc<AppState>>| match &state.audit {
        Some(log) => route.route_layer(middleware::from_fn_with_state(
            (log.clone(), limit),
            audit::log_bodies,
        )),
        None => route,
    };
    let admin_routes = Router::new()
        .route("/admin/usage", get(admin::usage))
        .route("/admin/requests", get(admin::requests));
    let admin_routes = if opts.master_key.is_some() {
        admin_routes
    } else {
        admin_routes.route_layer(middleware::from_fn(admin_needs_key))
    };
    let usage = state.usage.clone();
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/health/ready", get(ready::ready))
        .route("/metrics", get(metrics_endpoint))
        .route("/v1/models", get(models::list))
        // A wildcard: model ids (ARNs) may contain `/`.
        .route("/v1/models/{*model}", get(models::retrieve))
        .route("/v1/chat/completions", audited(post(chat::completions)))
        .route("/v1/embeddings", audited(post(embeddings::create)))
        .route("/v1/responses", audited(post(responses::create)))
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
    FrontDoor::new(
        routes,
        FrontConfig {
            master_key: opts.master_key,
            body_limit: limit,
            usage,
        },
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
