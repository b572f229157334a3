//! `POST /v1/chat/completions`, streamed and not.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::OpenAiJson;
use crate::handlers::unix_now;
use crate::sse;
use crate::telemetry::{RequestId, ServedModel};
use crate::usage::{StreamRecorded, StreamUsage, UsageCtx, UsageInfo};
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
use std::time::Instant;

pub async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    usage: Option<Extension<UsageCtx>>,
    OpenAiJson(req): OpenAiJson<ChatCompletionRequest>,
) -> Response {
    let model = req.model.clone();
    let request_id = request_id
        .map(|Extension(r)| r.as_str().to_owned())
        .unwrap_or_default();
    let user = req.user.clone().or_else(|| req.safety_identifier.clone());
    let mut info = UsageInfo::new(req.is_stream(), user, req.metadata.clone());
    let ctx = usage.map(|Extension(c)| c);
    let mut resp = match complete(&state, req, request_id, &mut info, ctx).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp.extensions_mut().insert(info);
    resp
}

async fn complete(
    state: &AppState,
    req: ChatCompletionRequest,
    request_id: String,
    info: &mut UsageInfo,
    ctx: Option<UsageCtx>,
) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = state.registry.resolve(&requested)?;
    info.set_route(&route);
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

    let upstream_start = Instant::now();
    if !stream {
        let answer = route.provider.chat(neutral).await;
        info.upstream = Some(upstream_start.elapsed());
        let answer = answer?;
        info.usage = Some(answer.usage);
        check_stop(&answer.stop_reason)?;
        return Ok(Json(from_neutral(answer, &id, &requested, created)).into_response());
    }

    let events = route.provider.chat_stream(neutral).await;
    info.upstream = Some(upstream_start.elapsed());
    let mut events = events?;
    // Wait for the first event before committing to 200: an upstream error that arrives as the
    // first item still becomes a normal HTTP error the client's SDK can raise and retry. Converse
    // sends `messageStart` as soon as the model accepts the request, so this costs no latency.
    let first = match events.next().await {
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(ev)) => Some(ev),
        None => None,
    };
    let tracker = StreamUsage::new(
        state.usage.clone(),
        ctx,
        requested.clone(),
        std::mem::take(info),
    );
    let recorded = tracker.is_some();
    let encoder = ChunkEncoder::new(id, requested, created, include_usage);
    let mut resp = sse::response(first, events, encoder, request_id, tracker);
    if recorded {
        resp.extensions_mut().insert(StreamRecorded);
    }
    Ok(resp)
}
