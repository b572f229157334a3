//! `GET /health/ready`: readiness for load balancers (no auth). Ready when the model registry
//! has models and, with storage on, the database answers; otherwise 503 naming what is missing.
//! `/health` stays pure liveness.

use crate::app::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A load balancer probes often; a database that takes longer than this counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let registry = !state.registry.is_empty();
    let storage = match &state.storage {
        None => "disabled",
        Some(s) => match tokio::time::timeout(PING_TIMEOUT, s.ping()).await {
            Ok(Ok(())) => "ok",
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "readiness: storage ping failed");
                "unreachable"
            }
            Err(_) => "unreachable",
        },
    };
    let ok = registry && storage != "unreachable";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "checks": {
            "registry": if registry { "ok" } else { "empty" },
            "storage": storage,
        },
    });
    (status, Json(body)).into_response()
}
