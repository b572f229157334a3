//! Encodes neutral stream events as OpenAI `chat.completion.chunk` SSE frames.
//!
//! Frames are serialized straight into the caller's `BytesMut`; the constant head of every chunk
//! (`id`, `object`, `created`, `model`) is rendered once in [`ChunkEncoder::new`].

use super::response::{check_stop, finish_reason};
use super::usage::CompletionUsage;
use crate::error::error_body;
use bytes::{BufMut, BytesMut};
use gomodel_core::chat::{BlockDelta, BlockStart, StreamEvent, Usage};
use gomodel_core::GatewayError;
use serde::Serialize;

/// Turns one answer's events into SSE frames. One encoder per response.
#[derive(Debug)]
pub struct ChunkEncoder {
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[`
    head: Vec<u8>,
    include_usage: bool,
    /// The opening `role: assistant` chunk has been written.
    started: bool,
    /// Provider block index → dense OpenAI tool-call index, in order of appearance. Answers have
    /// a handful of tool calls, so a linear scan beats hashing.
    tools: Vec<(u32, u32)>,
    /// The chunk carrying `finish_reason` has been written.
    finished: bool,
    usage: Option<Usage>,
    /// `finish` or `fail` ran; nothing more may be written.
    closed: bool,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    /// Always `null`: logprobs are refused at request time.
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Default, Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    /// Outer `None` omits the key; `Some(None)` writes `"refusal":null` (first chunk, as OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    /// Extension: the reasoning signature, in its own delta once the provider sends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_signature: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallChunk<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallChunk<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionChunk<'a>,
}

#[derive(Serialize)]
struct FunctionChunk<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

impl ChunkEncoder {
    /// `model` is the string the client sent; `include_usage` is `stream_options.include_usage`.
    pub fn new(id: String, model: String, created: u64, include_usage: bool) -> Self {
        let mut head = Vec::with_capacity(96 + id.len() + model.len());
        head.extend_from_slice(b"data: {\"id\":");
        write_json_str(&mut head, &id);
        head.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        head.extend_from_slice(created.to_string().as_bytes());
        head.extend_from_slice(b",\"model\":");
        write_json_str(&mut head, &model);
        head.extend_from_slice(b",\"choices\":[");
        Self {
            head,
            include_usage,
            started: false,
            tools: Vec::new(),
            finished: false,
            usage: None,
            closed: false,
        }
    }

    pub fn on_event(&mut self, ev: StreamEvent, out: &mut BytesMut) {
        if self.closed || self.finished && !matches!(ev, StreamEvent::Usage(_)) {
            return;
        }
        match ev {
            StreamEvent::MessageStart => self.ensure_started(out),
            StreamEvent::BlockStart {
                index,
                start: BlockStart::ToolUse { id, name },
            } => {
                self.ensure_started(out);
                let dense = self.tool_index(index);
                let delta = Delta {
                    tool_calls: Some([ToolCallChunk {
                        index: dense,
                        id: Some(&id),
                        kind: Some("function"),
                        function: FunctionChunk {
                            name: Some(&name),
                            arguments: "",
                        },
                    }]),
                    ..Delta::default()
                };
                self.write_delta(out, delta, None);
            }
            StreamEvent::BlockDelta { index, delta } => self.on_delta(index, delta, out),
            StreamEvent::BlockStop { .. } => {}
            StreamEvent::MessageStop { stop_reason } => {
                if let Err(err) = check_stop(&stop_reason) {
                    self.fail(&err, out);
                    return;
                }
                self.ensure_started(out);
                self.write_delta(out, Delta::default(), Some(finish_reason(&stop_reason)));
                self.finished = true;
            }
            // Converse reports usage after the stop event; it is held so the usage chunk can
            // be the last one before `[DONE]`, whatever order a provider uses.
            StreamEvent::Usage(usage) => self.usage = Some(usage),
        }
    }

    /// After the provider stream ended normally: the finish chunk if no stop event came, the
    /// usage chunk if asked for, then `data: [DONE]`.
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        if !self.finished {
            self.ensure_started(out);
            self.write_delta(out, Delta::default(), Some("stop"));
            self.finished = true;
        }
        if self.include_usage {
            let usage = CompletionUsage::from(&self.usage.unwrap_or_default());
            out.extend_from_slice(&self.head);
            out.extend_from_slice(b"],\"usage\":");
            write_json(out, &usage);
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.closed = true;
    }

    /// A mid-stream failure: one `data: {"error": {...}}` frame, then the encoder is closed (no
    /// `[DONE]`, so clients cannot mistake the truncated answer for a complete one).
    pub fn fail(&mut self, err: &GatewayError, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        out.extend_from_slice(b"data: ");
        write_json(out, &error_body(err));
        out.extend_from_slice(b"\n\n");
        self.closed = true;
    }

    fn on_delta(&mut self, index: u32, delta: BlockDelta, out: &mut BytesMut) {
        match delta {
            BlockDelta::Text(text) if !text.is_empty() => {
                self.ensure_started(out);
                let delta = Delta {
                    content: Some(&text),
                    ..Delta::default()
                };
                self.write_delta(out, delta, None);
            }
            BlockDelta::ReasoningText(text) if !text.is_empty() => {
                self.ensure_started(out);
                let delta = Delta {
                    reasoning_content: Some(&text),
                    ..Delta::default()
                };
                self.write_delta(out, delta, None);
            }
            BlockDelta::ToolInput(fragment) if !fragment.is_empty() => {
                // Without a preceding start there is no id or name to give the client, and a
                // tool call it cannot attribute is worse than none.
                let Some(dense) = self.known_tool(index) else {
                    return;
                };
                let delta = Delta {
                    tool_calls: Some([ToolCallChunk {
                        index: dense,
                        id: None,
                        kind: None,
                        function: FunctionChunk {
                            name: None,
                            arguments: &fragment,
                        },
                    }]),
                    ..Delta::default()
                };
                self.write_delta(out, delta, None);
            }
            BlockDelta::ReasoningSignature(signature) if !signature.is_empty() => {
                self.ensure_started(out);
                let delta = Delta {
                    reasoning_signature: Some(&signature),
                    ..Delta::default()
                };
                self.write_delta(out, delta, None);
            }
            // Redacted reasoning has no OpenAI representation; empty deltas would only add
            // noise.
            _ => {}
        }
    }

    fn ensure_started(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let delta = Delta {
            role: Some("assistant"),
            content: Some(""),
            refusal: Some(None),
            ..Delta::default()
        };
        self.write_delta(out, delta, None);
    }

    fn known_tool(&self, provider_index: u32) -> Option<u32> {
        self.tools
            .iter()
            .find(|(p, _)| *p == provider_index)
            .map(|(_, d)| *d)
    }

    fn tool_index(&mut self, provider_index: u32) -> u32 {
        if let Some(dense) = self.known_tool(provider_index) {
            return dense;
        }
        let dense = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
        self.tools.push((provider_index, dense));
        dense
    }

    fn write_delta(&self, out: &mut BytesMut, delta: Delta<'_>, finish: Option<&'static str>) {
        let choice = ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        };
        out.extend_from_slice(&self.head);
        write_json(out, &choice);
        if self.include_usage {
            out.extend_from_slice(b"],\"usage\":null}\n\n");
        } else {
            out.extend_from_slice(b"]}\n\n");
        }
    }
}

/// Serializes into the buffer. The types written here cannot fail to serialize (no maps with
/// non-string keys, no fallible `Serialize` impls), but should that ever change, the partial
/// output is rolled back and `null` written so the frame stays valid JSON.
pub(crate) fn write_json<T: Serialize>(out: &mut BytesMut, value: &T) {
    let start = out.len();
    if serde_json::to_writer((&mut *out).writer(), value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail; fall back to an empty string regardless.
    if serde_json::to_writer(&mut *buf, s).is_err() {
        buf.extend_from_slice(b"\"\"");
    }
}
