//! Route handlers. Each one parses, resolves the model, calls the provider and translates back;
//! the translations themselves live in `gomodel-openai`.

pub mod admin;
pub mod chat;
pub mod embeddings;
pub mod fallback;
pub mod health;
pub mod models;
pub mod ready;
pub mod responses;
pub mod stored_items;
pub mod stored_responses;

use crate::app::AppState;
use crate::error::AppError;
use crate::handlers::stored_responses::Storing;
use crate::sse::{self, SseEncoder};
use crate::telemetry::{RequestId, ServedModel};
use crate::usage::{StreamRecorded, StreamUsage, UsageCtx, UsageInfo};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gomodel_core::chat::{ChatRequest, ChatResponse};
use gomodel_core::model::ModelKind;
use gomodel_core::registry::Route;
use gomodel_core::{GatewayError, Provider};
use gomodel_openai::chat::check_stop;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix seconds for `created`. A clock before 1970 gives 0 rather than an error.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request id the telemetry layer assigned ("" when there is none).
pub(crate) fn request_id(request_id: Option<Extension<RequestId>>) -> String {
    request_id
        .map(|Extension(r)| r.as_str().to_owned())
        .unwrap_or_default()
}

/// The handler's outcome as a response, tagged with the model the client asked for and the
/// usage information the telemetry layer records.
pub(crate) fn tagged(
    result: Result<Response, AppError>,
    model: String,
    info: UsageInfo,
) -> Response {
    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp.extensions_mut().insert(info);
    resp
}

/// Resolves `requested` for a chat-shaped endpoint (`what`: "chat completions", "responses"),
/// records the route, and refuses embedding models with a pointer to `/v1/embeddings`.
pub(crate) fn chat_route(
    state: &AppState,
    requested: &str,
    info: &mut UsageInfo,
    what: &str,
) -> Result<Route, AppError> {
    let route = state.registry.resolve(requested)?;
    info.set_route(&route);
    if route.kind == Some(ModelKind::Embedding) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is an embedding model and does not support {what}: use POST /v1/embeddings."),
        )
        .into());
    }
    Ok(route)
}

/// One non-streamed provider call: records the upstream time and usage, and refuses an answer
/// whose stop reason is an error.
pub(crate) async fn answer(
    provider: &dyn Provider,
    neutral: ChatRequest,
    info: &mut UsageInfo,
) -> Result<ChatResponse, AppError> {
    let upstream_start = Instant::now();
    let answer = provider.chat(neutral).await;
    info.upstream = Some(upstream_start.elapsed());
    let answer = answer?;
    info.usage = Some(answer.usage);
    check_stop(&answer.stop_reason)?;
    Ok(answer)
}

/// A streamed provider call as a `200 text/event-stream` response, committed only after the
/// first event (see [`sse::open`]); the stream's usage is recorded when it ends.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn stream<E: SseEncoder>(
    state: &AppState,
    provider: &dyn Provider,
    neutral: ChatRequest,
    info: &mut UsageInfo,
    ctx: Option<UsageCtx>,
    requested: String,
    request_id: String,
    encoder: E,
    storing: Option<Storing>,
) -> Result<Response, AppError> {
    let upstream_start = Instant::now();
    let events = provider.chat_stream(neutral).await;
    info.upstream = Some(upstream_start.elapsed());
    let (first, events) = sse::open(events?).await?;
    let tracker = StreamUsage::new(state.usage.clone(), ctx, requested, std::mem::take(info));
    let recorded = tracker.is_some();
    let mut resp = sse::response(first, events, encoder, request_id, tracker, storing);
    if recorded {
        resp.extensions_mut().insert(StreamRecorded);
    }
    Ok(resp)
}
