//! `POST /v1/chat/completions`, streamed and not.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::OpenAiJson;
use crate::handlers::unix_now;
use crate::sse;
use crate::telemetry::{RequestId, ServedModel};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::StreamExt;
use gomodel_core::model::ModelKind;
use gomodel_core::GatewayError;
use gomodel_openai::chat::{
    check_stop, from_neutral, to_neutral, ChatCompletionRequest, ChunkEncoder,
};
use std::sync::Arc;

pub async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    OpenAiJson(req): OpenAiJson<ChatCompletionRequest>,
) -> Response {
    let model = req.model.clone();
    let request_id = request_id
        .map(|Extension(r)| r.as_str().to_owned())
        .unwrap_or_default();
    let mut resp = match complete(&state, req, request_id).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp
}

async fn complete(
    state: &AppState,
    req: ChatCompletionRequest,
    request_id: String,
) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = state.registry.resolve(&requested)?;
    if route.kind == Some(ModelKind::Embedding) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is an embedding model and does not support chat completions: use POST /v1/embeddings."),
        )
        .into());
    }
    let stream = req.is_stream();
    let include_usage = req.include_usage();
    let neutral = to_neutral(req, route.model)?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();

    if !stream {
        let answer = route.provider.chat(neutral).await?;
        check_stop(&answer.stop_reason)?;
        return Ok(Json(from_neutral(answer, &id, &requested, created)).into_response());
    }

    let mut events = route.provider.chat_stream(neutral).await?;
    // Wait for the first event before committing to 200: an upstream error that arrives as the
    // first item still becomes a normal HTTP error the client's SDK can raise and retry. Converse
    // sends `messageStart` as soon as the model accepts the request, so this costs no latency.
    let first = match events.next().await {
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(ev)) => Some(ev),
        None => None,
    };
    let encoder = ChunkEncoder::new(id, requested, created, include_usage);
    Ok(sse::response(first, events, encoder, request_id))
}
