//! `POST /v1/responses` (the Responses API), streamed and not.
//!
//! Same lifecycle as chat completions: the request becomes the same neutral `ChatRequest`, so
//! routing, provider calls and error mapping are shared; only the wire shapes differ.

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::{OpenAiBody, OpenAiJson};
use crate::handlers::unix_now;
use crate::telemetry::{RequestId, ServedModel};
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

impl OpenAiBody for CreateResponseRequest {
    fn parse(body: &[u8]) -> Result<Self, GatewayError> {
        parse_request(body)
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    request_id: Option<Extension<RequestId>>,
    OpenAiJson(req): OpenAiJson<CreateResponseRequest>,
) -> Response {
    let model = req.model.clone();
    let request_id = request_id
        .map(|Extension(r)| r.as_str().to_owned())
        .unwrap_or_default();
    let mut resp = match respond(&state, req, request_id).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.extensions_mut().insert(ServedModel(model));
    resp
}

async fn respond(
    state: &AppState,
    req: CreateResponseRequest,
    request_id: String,
) -> Result<Response, AppError> {
    let requested = req.model.clone();
    let route = state.registry.resolve(&requested)?;
    if route.kind == Some(ModelKind::Embedding) {
        return Err(GatewayError::invalid_param(
            "model",
            format!("`{requested}` is an embedding model and does not support responses: use POST /v1/embeddings."),
        )
        .into());
    }
    let stream = req.is_stream();
    let echo = RequestEcho::new(&req);
    let neutral = to_neutral(req, route.model)?;
    let id = format!("resp_{}", uuid::Uuid::new_v4().simple());
    let created = unix_now();

    if !stream {
        let answer = route.provider.chat(neutral).await?;
        check_stop(&answer.stop_reason)?;
        let body = from_neutral(answer, &id, &requested, created, &echo);
        return Ok(Json(body).into_response());
    }

    let mut events = route.provider.chat_stream(neutral).await?;
    // As in chat: wait for the first event before committing to 200, so an upstream error that
    // arrives first is a normal HTTP error the client's SDK can raise and retry.
    let first = match events.next().await {
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(ev)) => Some(ev),
        None => None,
    };
    let mut encoder = ResponseEventEncoder::new(id, requested, created, echo);
    let mut buf = BytesMut::with_capacity(4096);
    encoder.start(&mut buf);
    Ok(sse_response(Pump {
        events,
        pending: first,
        encoder,
        buf,
        done: false,
        request_id,
    }))
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
        match item {
            Some(Ok(ev)) => {
                p.encoder.on_event(ev, &mut p.buf);
                // Some events (block stops, usage held for the end) write nothing yet.
                if p.buf.is_empty() {
                    continue;
                }
            }
            Some(Err(e)) => {
                tracing::warn!(request_id = %p.request_id, error = %e, "stream failed after it started");
                p.encoder.fail(&e, &mut p.buf);
                p.finish();
            }
            None => {
                p.encoder.finish(&mut p.buf);
                p.finish();
            }
        }
        let frame = p.buf.split().freeze();
        if frame.is_empty() {
            return None;
        }
        return Some((Ok(frame), p));
    }
}

impl Pump {
    /// Releases the upstream stream (and its connection) as soon as the answer is complete.
    fn finish(&mut self) {
        self.done = true;
        self.events = futures::stream::empty().boxed();
    }
}
