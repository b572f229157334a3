//! Server-sent events for streamed chat completions and responses.
//!
//! Each provider event is encoded and handed to hyper as its own frame right away: nothing is
//! buffered beyond the event at hand. One `BytesMut` is reused; `split().freeze()` hands out the
//! written bytes without copying. When the client disconnects hyper drops the body, which drops
//! the provider stream and with it the upstream request.

use crate::handlers::stored_responses::{self, Storing};
use crate::usage::StreamUsage;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use gomodel_core::chat::StreamEvent;
use gomodel_core::{EventStream, GatewayError};
use gomodel_openai::chat::ChunkEncoder;
use gomodel_openai::responses::ResponseEventEncoder;
use std::convert::Infallible;

/// Turns neutral stream events into SSE bytes (chat chunks, Responses events).
pub trait SseEncoder: Send + 'static {
    /// Writes what goes before the first event (nothing by default).
    fn start(&mut self, _out: &mut BytesMut) {}
    fn on_event(&mut self, ev: StreamEvent, out: &mut BytesMut);
    fn finish(&mut self, out: &mut BytesMut);
    fn fail(&mut self, err: &GatewayError, out: &mut BytesMut);
}

impl SseEncoder for ChunkEncoder {
    fn on_event(&mut self, ev: StreamEvent, out: &mut BytesMut) {
        ChunkEncoder::on_event(self, ev, out)
    }
    fn finish(&mut self, out: &mut BytesMut) {
        ChunkEncoder::finish(self, out)
    }
    fn fail(&mut self, err: &GatewayError, out: &mut BytesMut) {
        ChunkEncoder::fail(self, err, out)
    }
}

impl SseEncoder for ResponseEventEncoder {
    fn start(&mut self, out: &mut BytesMut) {
        ResponseEventEncoder::start(self, out)
    }
    fn on_event(&mut self, ev: StreamEvent, out: &mut BytesMut) {
        ResponseEventEncoder::on_event(self, ev, out)
    }
    fn finish(&mut self, out: &mut BytesMut) {
        ResponseEventEncoder::finish(self, out)
    }
    fn fail(&mut self, err: &GatewayError, out: &mut BytesMut) {
        ResponseEventEncoder::fail(self, err, out)
    }
}

struct Pump<E> {
    events: EventStream,
    /// The event read before the response was committed (see [`open`]).
    pending: Option<StreamEvent>,
    encoder: E,
    buf: BytesMut,
    done: bool,
    request_id: String,
    /// Records the stream's usage when it ends, fails or is dropped (client gone).
    usage: Option<StreamUsage>,
    /// Responses with `store`: the terminal event's `Response` is stored before that event is
    /// sent, so a client that continues right away finds it.
    storing: Option<Storing>,
}

/// Waits for the first event before the handler commits to 200: an upstream error that arrives
/// as the first item still becomes a normal HTTP error the client's SDK can raise and retry.
/// Converse sends `messageStart` as soon as the model accepts the request, so this costs no
/// latency.
pub async fn open(
    mut events: EventStream,
) -> Result<(Option<StreamEvent>, EventStream), GatewayError> {
    let first = match events.next().await {
        Some(Err(e)) => return Err(e),
        Some(Ok(ev)) => Some(ev),
        None => None,
    };
    Ok((first, events))
}

/// A `200 text/event-stream` response driven by `events`, starting with `first`.
pub fn response<E: SseEncoder>(
    first: Option<StreamEvent>,
    events: EventStream,
    mut encoder: E,
    request_id: String,
    usage: Option<StreamUsage>,
    storing: Option<Storing>,
) -> Response {
    let mut buf = BytesMut::with_capacity(4096);
    encoder.start(&mut buf);
    let pump = Pump {
        events,
        pending: first,
        encoder,
        buf,
        done: false,
        request_id,
        usage,
        storing,
    };
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

async fn next_frame<E: SseEncoder>(mut p: Pump<E>) -> Option<(Result<Bytes, Infallible>, Pump<E>)> {
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

impl<E> Pump<E> {
    /// Releases the upstream stream (and its connection) as soon as the answer is complete,
    /// not when hyper gets round to polling the body once more.
    fn finish(&mut self) {
        self.done = true;
        self.events = futures::stream::empty().boxed();
        // Records now (dropping the tracker), with the latency up to the last event.
        self.usage = None;
    }
}
