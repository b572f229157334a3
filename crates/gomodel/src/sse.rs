//! Server-sent events for streamed chat completions and responses.
//!
//! Provider events are encoded as they arrive; the events that are ready together go to hyper as
//! one body frame (see [`Pump::poll_next`]), and an event that is not ready never holds back what
//! is. The first content delta is the exception: it goes out at once, alone with what came
//! before it, since time to first token is the latency users see. One `BytesMut` is reused; `split().freeze()` hands out the written bytes without copying. When the client disconnects hyper drops the body, which drops
//! the provider stream and with it the upstream request.

use crate::handlers::stored_responses::{self, Storing};
use crate::usage::StreamUsage;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures::{ready, Stream, StreamExt};
use gomodel_core::chat::StreamEvent;
use gomodel_core::{EventStream, GatewayError};
use gomodel_openai::chat::ChunkEncoder;
use gomodel_openai::responses::ResponseEventEncoder;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Turns neutral stream events into SSE bytes (chat chunks, Responses events).
pub trait SseEncoder: Send + Unpin + 'static {
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

/// The most bytes one body frame gathers before it is handed to hyper regardless.
const MAX_FRAME: usize = 16 * 1024;

/// How many times in a row the pump gives way to other tasks, with bytes in hand and nothing
/// new arriving, before it sends. The upstream connection task needs two scheduler rounds to
/// hand over its next buffered chunk (measured: one round never brought one, two always did).
const IDLE_ROUNDS: u8 = 2;

/// Drives the provider stream and hands hyper coalesced SSE frames (see [`Pump::poll_next`]).
struct Pump<E> {
    events: EventStream,
    /// The event read before the response was committed (see [`open`]).
    pending: Option<StreamEvent>,
    encoder: E,
    /// SSE bytes written but not yet handed to hyper.
    buf: BytesMut,
    /// The provider stream ended or failed: what is in `buf` is the last frame.
    done: bool,
    /// `buf` is complete (limit reached, or the stream is done): hand it over before reading on.
    flush: bool,
    /// Rounds given way in a row, with bytes in hand, in which no event arrived.
    idle: u8,
    /// The first content delta went out. Until then nothing is gathered behind it: the first
    /// token is the latency a user sees (time to first token), so it is sent on its own.
    first_delta_sent: bool,
    request_id: String,
    /// Records the stream's usage when it ends, fails or is dropped (client gone).
    usage: Option<StreamUsage>,
    /// Responses with `store`: the terminal event's `Response` is stored before that event is
    /// sent, so a client that continues right away finds it.
    storing: Option<Storing>,
    /// The store of the terminal `Response` in progress; `buf` is sent once it is done.
    saving: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
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
    encoder: E,
    request_id: String,
    usage: Option<StreamUsage>,
    storing: Option<Storing>,
) -> Response {
    let pump = Pump::new(first, events, encoder, request_id, usage, storing);
    let mut resp = Response::new(Body::from_stream(pump));
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

impl<E: SseEncoder> Stream for Pump<E> {
    type Item = Result<Bytes, Infallible>;

    /// The next body frame: every provider event that is ready, encoded back to back.
    ///
    /// Never waits for an event that is not ready: no timer, no waiting on the network. When
    /// the provider stream is pending with bytes in hand, the pump gives way to the tasks that
    /// are already runnable (self-wake) for up to `IDLE_ROUNDS` rounds: the upstream connection
    /// task hands over one body chunk at a time (hyper's body channel holds one), so events that
    /// already sit in the gateway's socket buffer arrive a task switch or two apart. It keeps
    /// gathering while the rounds bring more, and sends as soon as they bring nothing (the
    /// upstream is waiting on the network) or `MAX_FRAME` is reached. One frame, one `writev`,
    /// instead of one per event.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let p = self.get_mut();
        if let Some(saving) = &mut p.saving {
            ready!(saving.as_mut().poll(cx));
            p.saving = None;
            return Poll::Ready(p.take_frame());
        }
        loop {
            if p.flush || p.done {
                return Poll::Ready(p.take_frame());
            }
            let item = match p.pending.take() {
                Some(ev) => Poll::Ready(Some(Ok(ev))),
                None => p.events.poll_next_unpin(cx),
            };
            let Poll::Ready(item) = item else {
                if p.buf.is_empty() {
                    return Poll::Pending;
                }
                if p.idle < IDLE_ROUNDS {
                    p.idle += 1;
                    // Woken while running, the task goes to the back of the worker's run
                    // queue: the tasks already runnable (the upstream connection) go first.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                return Poll::Ready(p.take_frame());
            };
            p.idle = 0;
            let start = p.buf.len();
            // Only these can produce the terminal event (worth scanning for when storing).
            let may_end = !matches!(
                item,
                Some(Ok(
                    StreamEvent::BlockDelta { .. } | StreamEvent::BlockStart { .. }
                ))
            );
            if !p.first_delta_sent && matches!(item, Some(Ok(StreamEvent::BlockDelta { .. }))) {
                p.first_delta_sent = true;
                p.flush = true;
            }
            match item {
                Some(Ok(ev)) => {
                    if let Some(u) = &mut p.usage {
                        u.on_event(&ev);
                    }
                    p.encoder.on_event(ev, &mut p.buf);
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
            if p.buf.len() >= MAX_FRAME {
                p.flush = true;
            }
            if may_end && p.storing.is_some() {
                if let Some(response) = stored_responses::terminal_response(&p.buf[start..]) {
                    if let Some(storing) = p.storing.take() {
                        // Nothing after the terminal event goes out before it is stored.
                        p.flush = true;
                        let mut saving = Box::pin(storing.save(response));
                        if saving.as_mut().poll(cx).is_pending() {
                            p.saving = Some(saving);
                            return Poll::Pending;
                        }
                    }
                }
            }
        }
    }
}

impl<E: SseEncoder> Pump<E> {
    fn new(
        first: Option<StreamEvent>,
        events: EventStream,
        mut encoder: E,
        request_id: String,
        usage: Option<StreamUsage>,
        storing: Option<Storing>,
    ) -> Self {
        let mut buf = BytesMut::with_capacity(4096);
        encoder.start(&mut buf);
        Pump {
            events,
            pending: first,
            encoder,
            buf,
            done: false,
            flush: false,
            idle: 0,
            first_delta_sent: false,
            request_id,
            usage,
            storing,
            saving: None,
        }
    }
}

impl<E> Pump<E> {
    /// Hands over what `buf` holds; `None` (end of body) once the stream is done and all is sent.
    fn take_frame(&mut self) -> Option<Result<Bytes, Infallible>> {
        self.flush = false;
        self.idle = 0;
        if self.buf.is_empty() {
            return None;
        }
        Some(Ok(self.buf.split().freeze()))
    }

    /// Releases the upstream stream (and its connection) as soon as the answer is complete,
    /// not when hyper gets round to polling the body once more.
    fn finish(&mut self) {
        self.done = true;
        self.events = futures::stream::empty().boxed();
        // Records now (dropping the tracker), with the latency up to the last event.
        self.usage = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use futures::task::{waker, ArcWake};
    use gomodel_core::chat::{BlockDelta, StopReason};
    use gomodel_core::ErrorKind;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    type Tx = mpsc::UnboundedSender<Result<StreamEvent, GatewayError>>;

    fn pump() -> (Tx, Pump<ChunkEncoder>) {
        let (tx, rx) = mpsc::unbounded();
        let encoder = ChunkEncoder::new("chatcmpl-1".into(), "m".into(), 1, false);
        let pump = Pump::new(None, rx.boxed(), encoder, String::new(), None, None);
        (tx, pump)
    }

    fn text(t: &str) -> Result<StreamEvent, GatewayError> {
        Ok(StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::Text(t.into()),
        })
    }

    fn chunks(frame: &[u8]) -> usize {
        frame.windows(6).filter(|w| w == b"data: ").count()
    }

    #[derive(Default)]
    struct Wakes(AtomicUsize);
    impl ArcWake for Wakes {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn events_ready_together_go_out_in_one_frame() {
        let (tx, mut pump) = pump();
        tx.unbounded_send(Ok(StreamEvent::MessageStart)).unwrap();
        for w in ["a", " b", " c", " d"] {
            tx.unbounded_send(text(w)).unwrap();
        }
        // The first token goes out at once, with the role chunk before it and nothing after.
        let first = pump.next().await.unwrap().unwrap();
        assert_eq!(chunks(&first), 2, "{first:?}");
        assert!(std::str::from_utf8(&first).unwrap().contains("\"a\""));
        // The channel stays open: the frame must not wait for more.
        let frame = pump.next().await.unwrap().unwrap();
        assert_eq!(chunks(&frame), 3, "{frame:?}");
        tx.unbounded_send(Ok(StreamEvent::MessageStop {
            stop_reason: StopReason::EndTurn,
        }))
        .unwrap();
        drop(tx);
        let last = pump.next().await.unwrap().unwrap();
        assert!(last.ends_with(b"data: [DONE]\n\n"));
        assert_eq!(chunks(&last), 2);
        assert!(pump.next().await.is_none());
    }

    /// Polls `pump` as an executor would after each self-wake; returns the frame and the number
    /// of rounds it gave way first.
    fn poll_until_frame(pump: &mut Pump<ChunkEncoder>, wakes: &Arc<Wakes>) -> (Bytes, usize) {
        let w = waker(wakes.clone());
        let mut cx = Context::from_waker(&w);
        let before = wakes.0.load(Ordering::SeqCst);
        for _ in 0..10 {
            match Pin::new(&mut *pump).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    return (frame, wakes.0.load(Ordering::SeqCst) - before);
                }
                Poll::Ready(None) => panic!("stream ended"),
                // Pending without a self-wake would leave the ready bytes stuck.
                Poll::Pending => assert!(wakes.0.load(Ordering::SeqCst) > before),
            }
        }
        panic!("the ready bytes were held back");
    }

    #[test]
    fn a_pending_event_does_not_hold_back_ready_bytes() {
        let (tx, mut pump) = pump();
        let wakes = Arc::new(Wakes::default());
        tx.unbounded_send(text("first")).unwrap();
        let (frame, rounds) = poll_until_frame(&mut pump, &wakes);
        assert_eq!((chunks(&frame), rounds), (2, 0)); // role + the first token, at once
        tx.unbounded_send(text("a")).unwrap();
        let (frame, rounds) = poll_until_frame(&mut pump, &wakes);
        assert_eq!(chunks(&frame), 1);
        assert_eq!(rounds, usize::from(IDLE_ROUNDS));
        // Nothing ready, nothing in hand: plain pending, no self-wake.
        let w = waker(wakes.clone());
        let mut cx = Context::from_waker(&w);
        assert!(Pin::new(&mut pump).poll_next(&mut cx).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), usize::from(IDLE_ROUNDS));
        drop(tx);
    }

    #[test]
    fn gathering_goes_on_while_the_rounds_bring_more() {
        let (tx, mut pump) = pump();
        let wakes = Arc::new(Wakes::default());
        let w = waker(wakes.clone());
        let mut cx = Context::from_waker(&w);
        // The first token is sent alone; gathering starts after it.
        tx.unbounded_send(text("first")).unwrap();
        let (frame, rounds) = poll_until_frame(&mut pump, &wakes);
        assert_eq!((chunks(&frame), rounds), (2, 0));
        tx.unbounded_send(text("a")).unwrap();
        assert!(Pin::new(&mut pump).poll_next(&mut cx).is_pending());
        assert!(Pin::new(&mut pump).poll_next(&mut cx).is_pending());
        // Another event arrived while the pump gave way: it joins the same frame, and the
        // pump gives way afresh.
        tx.unbounded_send(text(" b")).unwrap();
        let (frame, rounds) = poll_until_frame(&mut pump, &wakes);
        assert_eq!(chunks(&frame), 2);
        assert_eq!(rounds, usize::from(IDLE_ROUNDS));
    }

    #[tokio::test]
    async fn an_error_after_coalesced_events_is_still_sent() {
        let (tx, mut pump) = pump();
        for t in ["first", "a", " b"] {
            tx.unbounded_send(text(t)).unwrap();
        }
        tx.unbounded_send(Err(GatewayError::upstream(
            ErrorKind::UpstreamError,
            "boom",
        )))
        .unwrap();
        assert_eq!(chunks(&pump.next().await.unwrap().unwrap()), 2);
        let frame = pump.next().await.unwrap().unwrap();
        let text = std::str::from_utf8(&frame).unwrap();
        assert_eq!(chunks(&frame), 3, "{text}");
        assert!(text.contains("data: {\"error\""), "{text}");
        assert!(!text.contains("[DONE]"));
        assert!(pump.next().await.is_none());
        // The provider stream was released with the error.
        assert!(tx.is_closed());
    }

    #[tokio::test]
    async fn a_frame_is_bounded() {
        let (tx, mut pump) = pump();
        let word = "x".repeat(1000);
        for _ in 0..100 {
            tx.unbounded_send(text(&word)).unwrap();
        }
        drop(tx);
        let mut frames = Vec::new();
        while let Some(frame) = pump.next().await {
            frames.push(frame.unwrap());
        }
        assert!(frames.len() > 1);
        assert!(frames.iter().all(|f| f.len() < MAX_FRAME + 2 * word.len()));
    }

    #[tokio::test]
    async fn coalesced_bytes_equal_the_encoder_output() {
        let events = || {
            let mut v = vec![Ok(StreamEvent::MessageStart)];
            v.extend(["Hel", "lo", " there"].map(text));
            v.push(Ok(StreamEvent::BlockStop { index: 0 }));
            v.push(Ok(StreamEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
            }));
            v
        };
        let mut want = BytesMut::new();
        let mut encoder = ChunkEncoder::new("chatcmpl-1".into(), "m".into(), 1, false);
        for ev in events() {
            encoder.on_event(ev.unwrap(), &mut want);
        }
        encoder.finish(&mut want);
        let (tx, mut pump) = pump();
        for ev in events() {
            tx.unbounded_send(ev).unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(frame) = pump.next().await {
            got.extend_from_slice(&frame.unwrap());
        }
        assert_eq!(got, want.to_vec());
    }
}
