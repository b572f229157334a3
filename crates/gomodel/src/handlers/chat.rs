//! `POST /v1/chat/completions`, streamed and not.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::OpenAiJson;
use crate::handlers::{self, unix_now};
use crate::telemetry::RequestId;
use crate::usage::{UsageCtx, UsageInfo};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gomodel_openai::chat::{from_neutral, to_neutral, ChatCompletionRequest, ChunkEncoder};
use std::sync::Arc;

pub async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    usage: Option<Extension<UsageCtx>>,
    OpenAiJson(req): OpenAiJson<ChatCompletionRequest>,
) -> Response {
    let model = req.model.clone();
    let user = req.user.clone().or_else(|| req.safety_identifier.clone());
    let mut info = UsageInfo::new(req.is_stream(), user, req.metadata.clone());
    let ctx = usage.map(|Extension(c)| c);
    let result = complete(&state, req, &model, request_id, &mut info, ctx).await;
    handlers::tagged(result, model, info)
}

async fn complete(
    state: &AppState,
    req: ChatCompletionRequest,
    requested: &str,
    request_id: Option<Extension<RequestId>>,
    info: &mut UsageInfo,
    ctx: Option<UsageCtx>,
) -> Result<Response, AppError> {
    let route = handlers::chat_route(state, requested, info, "chat completions")?;
    let stream = req.is_stream();
    let include_usage = req.include_usage();
    let neutral = to_neutral(req, route.model)?;
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();

    if !stream {
        let answer = handlers::answer(route.provider.as_ref(), neutral, info).await?;
        return Ok(Json(from_neutral(answer, &id, requested, created)).into_response());
    }
    let encoder = ChunkEncoder::new(id, requested.to_owned(), created, include_usage);
    handlers::stream(
        state,
        route.provider.as_ref(),
        neutral,
        info,
        ctx,
        requested.to_owned(),
        handlers::request_id(request_id),
        encoder,
        None,
    )
    .await
}
