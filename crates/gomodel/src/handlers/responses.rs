//! `POST /v1/responses` (the Responses API), streamed and not.
//!
//! Same lifecycle as chat completions: the request becomes the same neutral `ChatRequest`, so
//! routing, provider calls and error mapping are shared; only the wire shapes differ.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{OpenAiBody, OpenAiJsonWithBody};
use crate::handlers::stored_responses;
use crate::handlers::{self, unix_now};
use crate::telemetry::RequestId;
use crate::usage::{UsageCtx, UsageInfo};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gomodel_core::GatewayError;
use gomodel_openai::responses::{
    from_neutral, parse_request, to_neutral, CreateResponseRequest, RequestEcho,
    ResponseEventEncoder,
};
use std::sync::Arc;

impl OpenAiBody for CreateResponseRequest {
    fn parse(body: &[u8]) -> Result<Self, GatewayError> {
        parse_request(body)
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    usage: Option<Extension<UsageCtx>>,
    OpenAiJsonWithBody(req, body): OpenAiJsonWithBody<CreateResponseRequest>,
) -> Response {
    let model = req.model.clone();
    let request_id = handlers::request_id(request_id);
    let user = req.user.clone().or_else(|| req.safety_identifier.clone());
    let mut info = UsageInfo::new(req.is_stream(), user, req.metadata.clone());
    let ctx = usage.map(|Extension(c)| c);
    let result = respond(&state, req, request_id, &body, &mut info, ctx).await;
    handlers::tagged(result, model, info)
}

async fn respond(
    state: &AppState,
    mut req: CreateResponseRequest,
    request_id: String,
    body: &[u8],
    info: &mut UsageInfo,
    ctx: Option<UsageCtx>,
) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = handlers::chat_route(state, &requested, info, "responses")?;
    // `store` (default true) and `previous_response_id` (the stored conversation goes in front
    // of `input`), before the request is translated.
    let key_hash = ctx.as_ref().and_then(UsageCtx::key_hash);
    let (store, previous, storing) =
        stored_responses::prepare(state, &mut req, body, key_hash).await?;
    let stream = req.is_stream();
    let mut echo = RequestEcho::new(&req);
    echo.store = store;
    echo.previous_response_id = previous;
    let neutral = to_neutral(req, route.model)?;
    let id = format!("resp_{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();

    if !stream {
        let answer = handlers::answer(route.provider.as_ref(), neutral, info).await?;
        let body = from_neutral(answer, &id, &requested, created, &echo);
        let Some(storing) = storing else {
            return Ok(Json(body).into_response());
        };
        let value = serde_json::to_value(&body)
            .map_err(|e| GatewayError::internal(format!("cannot serialize the response: {e}")))?;
        storing.save(value.clone()).await;
        return Ok(Json(value).into_response());
    }
    // With `store`, the pump stores the terminal event's `Response` before sending that event,
    // so a client that continues right away finds it.
    let encoder = ResponseEventEncoder::new(id, requested.clone(), created, echo);
    handlers::stream(
        state,
        route.provider.as_ref(),
        neutral,
        info,
        ctx,
        requested,
        request_id,
        encoder,
        storing,
    )
    .await
}
