//! `POST /v1/embeddings`.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::OpenAiJson;
use crate::telemetry::ServedModel;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gomodel_core::model::ModelKind;
use gomodel_core::GatewayError;
use gomodel_openai::embeddings::{from_neutral, to_neutral, CreateEmbeddingRequest};
use std::sync::Arc;

pub async fn create(
    State(state): State<Arc<AppState>>,
    OpenAiJson(req): OpenAiJson<CreateEmbeddingRequest>,
) -> Response {
    let model = req.model.clone();
    let mut resp = match embed(&state, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp
}

async fn embed(state: &AppState, req: CreateEmbeddingRequest) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = state.registry.resolve(&requested)?;
    if route.kind == Some(ModelKind::Chat) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is a chat model and does not produce embeddings: use an embedding model such as amazon.titan-embed-text-v2:0."),
        )
        .into());
    }
    let base64 = req.wants_base64();
    let neutral = to_neutral(req, route.model)?;
    let answer = route.provider.embed(neutral).await?;
    Ok(Json(from_neutral(answer, &requested, base64)).into_response())
}
