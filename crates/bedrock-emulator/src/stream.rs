//! ConverseStream answers as real `application/vnd.amazon.eventstream` frames, written with
//! `aws-smithy-eventstream` and sent one by one through a channel-backed body so a client sees
//! each frame as soon as it is produced (and `[[emu:frame-delay=MS]]` is observable).

use crate::converse::{self, Answer, AnswerBlock};
use crate::directives::StreamFault;
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::Body;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Content type of an event-stream response.
pub const EVENTSTREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Bedrock pads event payloads with a `"p"` member of varying length (so payload sizes do not
/// leak token lengths); the value is a prefix of this alphabet.
const PADDING_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// One step of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// An event frame (`:message-type: event`).
    Event {
        /// `:event-type`, a member of `ConverseStreamOutput`.
        event_type: &'static str,
        /// JSON payload (without padding).
        payload: Value,
    },
    /// The `metadata` event; its latency is measured when it is sent.
    Metadata {
        /// `TokenUsage` JSON.
        usage: Value,
    },
    /// An exception frame (`:message-type: exception`); the body ends after it.
    Exception {
        /// `:exception-type`, e.g. `modelStreamErrorException`.
        exception_type: String,
        /// JSON payload.
        payload: Value,
    },
}

/// Splits text into word deltas whose concatenation is exactly `text`: each delta is the
/// whitespace before a word plus the word.
pub fn word_deltas(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    // Start of the whitespace run that follows the current word: where the next delta begins
    // once another word shows up.
    let mut word_end: Option<usize> = None;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                word_end = Some(i);
            }
            in_word = false;
        } else {
            if let Some(cut) = word_end.take() {
                out.push(&text[start..cut]);
                start = cut;
            }
            in_word = true;
        }
    }
    if start < text.len() || out.is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// Splits a tool's JSON input into a few fragments, as models stream partial JSON.
pub fn json_fragments(json: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = json.char_indices().collect();
    if chars.len() < 4 {
        return vec![json];
    }
    let pieces = if chars.len() < 24 { 2 } else { 4 };
    let step = chars.len() / pieces;
    let mut cuts: Vec<usize> = (1..pieces).map(|k| chars[k * step].0).collect();
    cuts.push(json.len());
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0;
    for cut in cuts {
        out.push(&json[start..cut]);
        start = cut;
    }
    out
}

fn exception_payload(member: &str) -> Value {
    match member {
        "modelStreamErrorException" => json!({
            "message": "The model stream encountered an error while generating the response.",
            "originalStatusCode": 500,
            "originalMessage": "Internal error in the model provider (injected by the emulator).",
        }),
        "throttlingException" => {
            json!({"message": "Too many requests, please wait before trying again."})
        }
        "validationException" => {
            json!({"message": "The model returned a response that failed validation (injected by the emulator)."})
        }
        "serviceUnavailableException" => {
            json!({"message": "Bedrock is unable to process your request."})
        }
        _ => {
            json!({"message": "The system encountered an unexpected error during processing. Try your request again."})
        }
    }
}

/// The frames for `answer`, with an exception after `stream_error.1` content deltas if asked.
pub fn plan(answer: &Answer, stream_error: Option<(&str, usize)>) -> Vec<StreamItem> {
    let mut items = vec![StreamItem::Event {
        event_type: "messageStart",
        payload: json!({"role": "assistant"}),
    }];
    let mut deltas_sent = 0usize;
    let mut injected = false;
    let inject = |items: &mut Vec<StreamItem>, injected: &mut bool| {
        if let Some((member, _)) = stream_error {
            items.push(StreamItem::Exception {
                exception_type: member.to_string(),
                payload: exception_payload(member),
            });
            *injected = true;
        }
    };
    let error_after = stream_error.map(|(_, n)| n);
    for (index, block) in answer.blocks.iter().enumerate() {
        let deltas: Vec<Value> = match block {
            // Bedrock sends no contentBlockStart for text blocks.
            AnswerBlock::Text(text) => word_deltas(text)
                .into_iter()
                .map(|d| json!({"text": d}))
                .collect(),
            AnswerBlock::ToolUse { id, name, input } => {
                items.push(StreamItem::Event {
                    event_type: "contentBlockStart",
                    payload: json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": id, "name": name}}}),
                });
                let raw = input.to_string();
                json_fragments(&raw)
                    .into_iter()
                    .map(|f| json!({"toolUse": {"input": f}}))
                    .collect()
            }
            // Like Bedrock: reasoning text deltas, then the signature in a delta of its own.
            AnswerBlock::Reasoning { text, signature } => word_deltas(text)
                .into_iter()
                .map(|d| json!({"reasoningContent": {"text": d}}))
                .chain([json!({"reasoningContent": {"signature": signature}})])
                .collect(),
        };
        for delta in deltas {
            if error_after == Some(deltas_sent) {
                inject(&mut items, &mut injected);
                return items;
            }
            items.push(StreamItem::Event {
                event_type: "contentBlockDelta",
                payload: json!({"contentBlockIndex": index, "delta": delta}),
            });
            deltas_sent += 1;
        }
        items.push(StreamItem::Event {
            event_type: "contentBlockStop",
            payload: json!({"contentBlockIndex": index}),
        });
    }
    if stream_error.is_some() && !injected {
        // Fewer deltas than N: fail right before the message would have completed.
        inject(&mut items, &mut injected);
        return items;
    }
    items.push(StreamItem::Event {
        event_type: "messageStop",
        payload: json!({"stopReason": answer.stop_reason}),
    });
    items.push(StreamItem::Metadata {
        usage: converse::usage_json(answer),
    });
    items
}

fn string_header(name: &'static str, value: String) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

fn encode(headers: Vec<Header>, payload: &Value) -> Bytes {
    let message = Message::new_from_parts(headers, Bytes::from(payload.to_string()));
    let mut buf = Vec::with_capacity(128 + message.payload().len());
    // Writing only fails for oversized headers/payloads (> 16 MB), which these never are; an
    // empty frame would then end the stream early rather than crash the server.
    if let Err(e) = write_message_to(&message, &mut buf) {
        tracing::error!(error = %e, "cannot encode event-stream frame");
        return Bytes::new();
    }
    Bytes::from(buf)
}

/// Adds Bedrock's `"p"` padding member; its length varies with the frame number.
fn pad(mut payload: Value, seq: usize) -> Value {
    if let Value::Object(map) = &mut payload {
        let n = 1 + (seq * 7 + 3) % (PADDING_ALPHABET.len() - 1);
        map.insert("p".into(), Value::String(PADDING_ALPHABET[..n].to_string()));
    }
    payload
}

/// An event frame.
pub fn event_frame(event_type: &str, payload: &Value) -> Bytes {
    encode(
        vec![
            string_header(":event-type", event_type.to_string()),
            string_header(":content-type", "application/json".into()),
            string_header(":message-type", "event".into()),
        ],
        payload,
    )
}

/// An exception frame.
pub fn exception_frame(exception_type: &str, payload: &Value) -> Bytes {
    encode(
        vec![
            string_header(":exception-type", exception_type.to_string()),
            string_header(":content-type", "application/json".into()),
            string_header(":message-type", "exception".into()),
        ],
        payload,
    )
}

fn render(item: &StreamItem, seq: usize, started: Instant) -> Bytes {
    match item {
        StreamItem::Event {
            event_type,
            payload,
        } => event_frame(event_type, &pad(payload.clone(), seq)),
        StreamItem::Metadata { usage } => {
            let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let payload = json!({"usage": usage, "metrics": {"latencyMs": latency}});
            event_frame("metadata", &pad(payload, seq))
        }
        StreamItem::Exception {
            exception_type,
            payload,
        } => exception_frame(exception_type, payload),
    }
}

/// A response body that produces `items` frame by frame on a spawned task, sleeping
/// `frame_delay` between frames. If the client goes away the task stops at the next send.
pub fn body(items: Vec<StreamItem>, frame_delay: Option<Duration>, started: Instant) -> Body {
    body_with_fault(items, frame_delay, started, None)
}

/// Streams being sent right now, and streams whose reader went away before the end (the client
/// closed the connection): tests read them from `/_emulator/health` to prove a disconnect
/// reached upstream at once.
pub static STREAMS_OPEN: AtomicUsize = AtomicUsize::new(0);
pub static STREAMS_ABORTED: AtomicUsize = AtomicUsize::new(0);

/// Counts one stream in [`STREAMS_OPEN`] while it lives.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        STREAMS_OPEN.fetch_add(1, Ordering::SeqCst);
        OpenStream
    }

    fn aborted(self) {
        STREAMS_ABORTED.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        STREAMS_OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The index of the frame that follows the `n`-th content delta (where a fault strikes).
fn frame_after_deltas(items: &[StreamItem], n: usize) -> usize {
    let mut deltas = 0;
    for (i, item) in items.iter().enumerate() {
        if deltas == n {
            return i;
        }
        if matches!(
            item,
            StreamItem::Event {
                event_type: "contentBlockDelta",
                ..
            }
        ) {
            deltas += 1;
        }
    }
    items.len()
}

/// Like [`body`], broken by `fault` after N content deltas (`[[emu:reset@N]]`,
/// `[[emu:truncate@N]]`).
pub fn body_with_fault(
    items: Vec<StreamItem>,
    frame_delay: Option<Duration>,
    started: Instant,
    fault: Option<(StreamFault, usize)>,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    // Past the delta count at least one frame (the start) has gone out, like a real break.
    let strike = fault.map(|(kind, n)| (kind, frame_after_deltas(&items, n).max(1)));
    tokio::spawn(async move {
        let open = OpenStream::new();
        for (seq, item) in items.iter().enumerate() {
            if seq > 0 {
                if let Some(delay) = frame_delay.filter(|d| !d.is_zero()) {
                    // Notice a reader that went away while waiting, not only at the next send.
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = tx.closed() => return open.aborted(),
                    }
                }
            }
            let frame = render(item, seq, started);
            let chunk = match strike {
                Some((StreamFault::Reset, at)) if at == seq => Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "[[emu:reset]]",
                )),
                Some((StreamFault::Truncate, at)) if at == seq => {
                    let _ = tx.send(Ok(frame.slice(..frame.len() / 2))).await;
                    return;
                }
                _ => Ok(frame),
            };
            let stop = chunk.is_err();
            if tx.send(chunk).await.is_err() {
                return open.aborted();
            }
            if stop {
                return;
            }
        }
    });
    Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// Decodes every frame of a complete event-stream body (used by tests and the admin API).
pub fn decode_all(mut bytes: &[u8]) -> Result<Vec<Message>, String> {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    let mut decoder = MessageFrameDecoder::new();
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match decoder
            .decode_frame(&mut bytes)
            .map_err(|e| e.to_string())?
        {
            DecodedFrame::Complete(m) => out.push(m),
            DecodedFrame::Incomplete => return Err("truncated frame".into()),
        }
    }
    Ok(out)
}

/// A header's string value.
pub fn header_value<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// Removes the `"p"` padding member (for comparisons in tests).
pub fn unpad(payload: &Value) -> Value {
    let mut map: Map<String, Value> = payload.as_object().cloned().unwrap_or_default();
    map.remove("p");
    Value::Object(map)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)] // table-driven tests spell their row types out
mod tests {
    use super::*;

    fn text_answer(text: &str) -> Answer {
        Answer {
            blocks: vec![AnswerBlock::Text(text.into())],
            stop_reason: "end_turn",
            input_tokens: 2,
            output_tokens: converse::count_words(text),
            ..Answer::default()
        }
    }

    #[test]
    fn word_deltas_table() {
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("You said: hi", vec!["You", " said:", " hi"]),
            ("one", vec!["one"]),
            ("", vec![""]),
            ("  lead  trail  ", vec!["  lead", "  trail  "]),
            ("a\nb", vec!["a", "\nb"]),
            ("naïve café", vec!["naïve", " café"]),
        ];
        for (text, want) in cases {
            let got = word_deltas(text);
            assert_eq!(got, want, "{text:?}");
            assert_eq!(got.concat(), text);
        }
    }

    #[test]
    fn json_fragments_concatenate() {
        for raw in [
            "{}",
            r#"{"city":"example","days":1}"#,
            r#"{"k":"ü€𝄞 long enough to split"}"#,
        ] {
            let f = json_fragments(raw);
            assert_eq!(f.concat(), raw);
            if raw.len() > 24 {
                assert!(f.len() > 1);
            }
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&event_frame(
            "contentBlockDelta",
            &pad(json!({"contentBlockIndex": 0, "delta": {"text": "hi"}}), 3),
        ));
        bytes.extend_from_slice(&exception_frame(
            "throttlingException",
            &json!({"message": "slow down"}),
        ));
        let messages = decode_all(&bytes).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            header_value(&messages[0], ":event-type"),
            Some("contentBlockDelta")
        );
        assert_eq!(header_value(&messages[0], ":message-type"), Some("event"));
        assert_eq!(
            header_value(&messages[0], ":content-type"),
            Some("application/json")
        );
        let payload: Value = serde_json::from_slice(messages[0].payload()).unwrap();
        assert!(payload["p"].as_str().unwrap().starts_with("abc"));
        assert_eq!(
            unpad(&payload),
            json!({"contentBlockIndex": 0, "delta": {"text": "hi"}})
        );
        assert_eq!(
            header_value(&messages[1], ":message-type"),
            Some("exception")
        );
        assert_eq!(
            header_value(&messages[1], ":exception-type"),
            Some("throttlingException")
        );
        // A truncated body is detected.
        assert!(decode_all(&bytes[..bytes.len() - 3]).is_err());
    }

    fn kinds(items: &[StreamItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                StreamItem::Event { event_type, .. } => event_type.to_string(),
                StreamItem::Metadata { .. } => "metadata".into(),
                StreamItem::Exception { exception_type, .. } => format!("!{exception_type}"),
            })
            .collect()
    }

    #[test]
    fn plan_table() {
        let a = text_answer("a b c");
        let cases: Vec<(Option<(&str, usize)>, Vec<&str>)> = vec![
            (
                None,
                vec![
                    "messageStart",
                    "contentBlockDelta",
                    "contentBlockDelta",
                    "contentBlockDelta",
                    "contentBlockStop",
                    "messageStop",
                    "metadata",
                ],
            ),
            (
                Some(("modelStreamErrorException", 0)),
                vec!["messageStart", "!modelStreamErrorException"],
            ),
            (
                Some(("throttlingException", 2)),
                vec![
                    "messageStart",
                    "contentBlockDelta",
                    "contentBlockDelta",
                    "!throttlingException",
                ],
            ),
            (
                Some(("internalServerException", 10)),
                vec![
                    "messageStart",
                    "contentBlockDelta",
                    "contentBlockDelta",
                    "contentBlockDelta",
                    "contentBlockStop",
                    "!internalServerException",
                ],
            ),
        ];
        for (err, want) in cases {
            assert_eq!(kinds(&plan(&a, err)), want, "{err:?}");
        }
    }

    #[test]
    fn tool_use_plan() {
        let a = Answer {
            blocks: vec![
                AnswerBlock::Text("Checking.".into()),
                AnswerBlock::ToolUse {
                    id: "tooluse_x".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "example", "days": 1, "unit": "celsius"}),
                },
            ],
            stop_reason: "tool_use",
            input_tokens: 1,
            output_tokens: 2,
            ..Answer::default()
        };
        let items = plan(&a, None);
        let StreamItem::Event { payload, .. } = &items[3] else {
            panic!()
        };
        assert_eq!(
            payload,
            &json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_x", "name": "get_weather"}}})
        );
        let fragments: String = items
            .iter()
            .filter_map(|i| match i {
                StreamItem::Event { payload, .. } => payload
                    .pointer("/delta/toolUse/input")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                _ => None,
            })
            .collect();
        let parsed: Value = serde_json::from_str(&fragments).unwrap();
        assert_eq!(parsed["unit"], "celsius");
        assert!(matches!(items.last(), Some(StreamItem::Metadata { .. })));
    }

    #[tokio::test]
    async fn body_streams_every_frame() {
        let a = text_answer("x y");
        let items = plan(&a, None);
        let n = items.len();
        let body = body(items, Some(Duration::from_millis(1)), Instant::now());
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let messages = decode_all(&bytes).unwrap();
        assert_eq!(messages.len(), n);
        let meta: Value = serde_json::from_slice(messages[n - 1].payload()).unwrap();
        assert_eq!(meta["usage"]["totalTokens"], 4);
        assert!(meta["metrics"]["latencyMs"].is_u64());
    }
}
