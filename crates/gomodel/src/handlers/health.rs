//! `GET /health`: liveness only (no auth, no upstream call), for load balancers and probes.

use axum::http::header;
use axum::response::IntoResponse;

pub async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}
