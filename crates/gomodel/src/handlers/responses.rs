//! `POST /v1/responses` (the Responses API), streamed and not.
//!
//! Same lifecycle as chat completions: the request becomes the same neutral `ChatRequest`, so
//! routing, provider calls and error mapping are shared; only the wire shapes differ.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{OpenAiBody, OpenAiJsonWithBody};
use crate::handlers::stored_responses::{self, Storing};
use crate::handlers::unix_now;
use crate::telemetry::{RequestId, ServedModel};
use crate::usage::{StreamRecorded, StreamUsage, UsageCtx, UsageInfo};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use gomodel_core::chat::StreamEvent;
use gomodel_core::model::ModelKind;
use gomodel_core::{EventStream, GatewayError};
use gomodel_openai::responses::{
    check_stop, from_neutral, parse_request, to_neutral, CreateResponseRequest, RequestEcho,
    ResponseEventEncoder,
};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

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
    let request_id = request_id
        .map(|Extension(r)| r.as_str().to_owned())
        .unwrap_or_default();
    let user = req.user.clone().or_else(|| req.safety_identifier.clone());
    let mut info = UsageInfo::new(req.is_stream(), user, req.metadata.clone());
    let ctx = usage.map(|Extension(c)| c);
    let mut resp = match respond(&state, req, request_id, &body, &mut info, ctx).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp.extensions_mut().insert(info);
    resp
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
    let route = state.registry.resolve(&requested)?;
    info.set_route(&route);
    if route.kind == Some(ModelKind::Embedding) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is an embedding model and does not support responses: use POST /v1/embeddings."),
        )
        .into());
    }
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

    let upstream_start = Instant::now();
    if !stream {
        let answer = route.provider.chat(neutral).await;
        info.upstream = Some(upstream_start.elapsed());
        let answer = answer?;
        info.usage = Some(answer.usage);
        check_stop(&answer.stop_reason)?;
        let body = from_neutral(answer, &id, &requested, created, &echo);
        let Some(storing) = storing else {
            return Ok(Json(body).into_response());
        };
        let value = serde_json::to_value(&body)
            .map_err(|e| GatewayError::internal(format!("cannot serialize the response: {e}")))?;
        storing.save(value.clone()).await;
        return Ok(Json(value).into_response());
    }

    let events = route.provider.chat_stream(neutral).await;
    info.upstream = Some(upstream_start.elapsed());
    let mut events = events?;
    // As in chat: wait for the first event before committing to 200, so an upstream error that
    // arrives first is a normal HTTP error the client's SDK can raise and retry.
    let first = match events.next().await {
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(ev)) => Some(ev),
        None => None,
    };
    let usage = StreamUsage::new(
        state.usage.clone(),
        ctx,
        requested.clone(),
        std::mem::take(info),
    );
    let recorded = usage.is_some();
    let mut encoder = ResponseEventEncoder::new(id, requested, created, echo);
    let mut buf = BytesMut::with_capacity(4096);
    encoder.start(&mut buf);
    let mut resp = sse_response(Pump {
        events,
        pending: first,
        encoder,
        buf,
        done: false,
        request_id,
        usage,
        storing,
    });
    if recorded {
        resp.extensions_mut().insert(StreamRecorded);
    }
    Ok(resp)
}

/// The SSE body. It follows `crate::sse` (which is typed to chat's chunk encoder): each provider
/// event is encoded and handed to hyper right away, one `BytesMut` is reused, and dropping the
/// body (client gone) drops the provider stream and the upstream request with it.
struct Pump {
    events: EventStream,
    /// The event read before the response was committed.
    pending: Option<StreamEvent>,
    encoder: ResponseEventEncoder,
    buf: BytesMut,
    done: bool,
    request_id: String,
    /// Records the stream's usage when it ends, fails or is dropped (client gone).
    usage: Option<StreamUsage>,
    /// With `store`: the terminal event's `Response` is stored before that event is sent, so
    /// a client that continues right away finds it.
    storing: Option<Storing>,
}

fn sse_response(pump: Pump) -> Response {
    let body = futures::stream::unfold(pump, next_frame);
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

async fn next_frame(mut p: Pump) -> Option<(Result<Bytes, Infallible>, Pump)> {
    if p.done {
        return None;
    }
    loop {
        let item = match p.pending.take() {
            Some(ev) => Some(Ok(ev)),
            None => p.events.next().await,
        };
        // Only these can produce the terminal event (worth scanning for when storing).
        let may_end = !matches!(
            item,
            Some(Ok(
                StreamEvent::BlockDelta { .. } | StreamEvent::BlockStart { .. }
            ))
        );
        match item {
            Some(Ok(ev)) => {
                if let Some(u) = &mut p.usage {
                    u.on_event(&ev);
                }
                p.encoder.on_event(ev, &mut p.buf);
                // Some events (block stops, usage held for the end) write nothing yet.
                if p.buf.is_empty() {
                    continue;
                }
            }
            Some(Err(e)) => {
                tracing::warn!(request_id = %p.request_id, error = %e, "stream failed after it started");
                if let Some(u) = &mut p.usage {
                    u.on_error(&e);
                }
                p.encoder.fail(&e, &mut p.buf);
                p.finish();
            }
            None => {
                if let Some(u) = &mut p.usage {
                    u.on_finish();
                }
                p.encoder.finish(&mut p.buf);
                p.finish();
            }
        }
        let frame = p.buf.split().freeze();
        if frame.is_empty() {
            return None;
        }
        if may_end && p.storing.is_some() {
            if let Some(response) = stored_responses::terminal_response(&frame) {
                if let Some(storing) = p.storing.take() {
                    storing.save(response).await;
                }
            }
        }
        return Some((Ok(frame), p));
    }
}

impl Pump {
    /// Releases the upstream stream (and its connection) as soon as the answer is complete.
    fn finish(&mut self) {
        self.done = true;
        self.events = futures::stream::empty().boxed();
        // Records now (dropping the tracker), with the latency up to the last event.
        self.usage = None;
    }
}
