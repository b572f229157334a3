//! `GET /v1/models`: the registry's current snapshot, in provider order.

use crate::app::AppState;
use axum::extract::State;
use axum::Json;
use gomodel_openai::models::{list_response, ListModelsResponse};
use std::sync::Arc;

pub async fn list(State(state): State<Arc<AppState>>) -> Json<ListModelsResponse> {
    Json(list_response(
        state
            .registry
            .list()
            .into_iter()
            .map(|m| (m.info.id, m.info.owned_by, m.info.created)),
    ))
}
