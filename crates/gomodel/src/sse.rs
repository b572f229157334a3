//! Server-sent events for streamed chat completions.
//!
//! Each provider event is encoded and handed to hyper as its own frame right away: nothing is
//! buffered beyond the event at hand. One `BytesMut` is reused; `split().freeze()` hands out the
//! written bytes without copying. When the client disconnects hyper drops the body, which drops
//! the provider stream and with it the upstream request.

use crate::usage::StreamUsage;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use gomodel_core::chat::StreamEvent;
use gomodel_core::EventStream;
use gomodel_openai::chat::ChunkEncoder;
use std::convert::Infallible;

struct Pump {
    events: EventStream,
    /// The event read before the response was committed (see the chat handler).
    pending: Option<StreamEvent>,
    encoder: ChunkEncoder,
    buf: BytesMut,
    done: bool,
    request_id: String,
    /// Records the stream's usage when it ends, fails or is dropped (client gone).
    usage: Option<StreamUsage>,
}

/// A `200 text/event-stream` response driven by `events`, starting with `first`.
pub fn response(
    first: Option<StreamEvent>,
    events: EventStream,
    encoder: ChunkEncoder,
    request_id: String,
    usage: Option<StreamUsage>,
) -> Response {
    let pump = Pump {
        events,
        pending: first,
        encoder,
        buf: BytesMut::with_capacity(4096),
        done: false,
        request_id,
        usage,
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
        return Some((Ok(frame), p));
    }
}

impl Pump {
    /// Releases the upstream stream (and its connection) as soon as the answer is complete,
    /// not when hyper gets round to polling the body once more.
    fn finish(&mut self) {
        self.done = true;
        self.events = futures::stream::empty().boxed();
        // Records now (dropping the tracker), with the latency up to the last event.
        self.usage = None;
    }
}
