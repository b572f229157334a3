//! `GET /v1/models`: the registry's current snapshot, in provider order.
//! `GET /v1/models/{model}`: one model, resolved as a chat request's `model` is.

use crate::app::AppState;
use crate::error::AppError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use gomodel_core::GatewayError;
use gomodel_openai::models::{list_response, model, ListModelsResponse, Model};
use std::sync::Arc;

pub async fn list(State(state): State<Arc<AppState>>) -> Json<ListModelsResponse> {
    Json(list_response(
        state.registry.list().into_iter().map(|m| m.info),
    ))
}

/// The id is the rest of the path (`/v1/models/{*model}`), percent-decoded: model ids contain
/// `:` and `.`, and ARNs `/`, which the OpenAI SDKs send as `%2F` (older ones send it raw).
/// Known to the registry (listed, `provider/`-prefixed, or an ARN/profile a provider accepts):
/// its `Model`, the same object the listing has for it. Otherwise the chat path's 404
/// `model_not_found`.
pub async fn retrieve(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Model>, AppError> {
    let Path(requested) = path.map_err(|e| {
        GatewayError::invalid_param("model", format!("Invalid model id in the URL: {e}"))
    })?;
    Ok(Json(model(state.registry.describe(&requested)?.info)))
}
