//! `POST /v1/embeddings`.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::OpenAiJson;
use crate::telemetry::ServedModel;
use crate::usage::UsageInfo;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use gomodel_core::chat::Usage;
use gomodel_core::model::ModelKind;
use gomodel_core::GatewayError;
use gomodel_openai::embeddings::{
    from_neutral, to_neutral, CreateEmbeddingRequest, CreateEmbeddingResponse,
};
use std::sync::Arc;
use std::time::Instant;

pub async fn create(
    State(state): State<Arc<AppState>>,
    OpenAiJson(req): OpenAiJson<CreateEmbeddingRequest>,
) -> Response {
    let model = req.model.clone();
    let mut info = UsageInfo::new(false, req.user.clone(), None);
    let mut resp = match embed(&state, req, &mut info).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp.extensions_mut().insert(info);
    resp
}

async fn embed(
    state: &AppState,
    req: CreateEmbeddingRequest,
    info: &mut UsageInfo,
) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = state.registry.resolve(&requested)?;
    info.set_route(&route);
    if route.kind == Some(ModelKind::Chat) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is a chat model and does not produce embeddings: use an embedding model such as amazon.titan-embed-text-v2:0."),
        )
        .into());
    }
    let base64 = req.wants_base64();
    let neutral = to_neutral(req, route.model)?;
    let upstream_start = Instant::now();
    let answer = route.provider.embed(neutral).await;
    info.upstream = Some(upstream_start.elapsed());
    let answer = answer?;
    info.usage = Some(Usage {
        input_tokens: answer.input_tokens,
        total_tokens: answer.input_tokens,
        ..Usage::default()
    });
    Ok(json_response(&from_neutral(answer, &requested, base64)))
}

/// The answer as `200 application/json`, encoded into a buffer sized up front: axum's `Json`
/// starts at 128 bytes and doubles, copying a large answer about eight times.
fn json_response(answer: &CreateEmbeddingResponse) -> Response {
    let mut body = Vec::with_capacity(answer.encoded_len_hint());
    match serde_json::to_writer(&mut body, answer) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => AppError::from(GatewayError::internal(format!("encoding the answer: {e}")))
            .into_response(),
    }
}
