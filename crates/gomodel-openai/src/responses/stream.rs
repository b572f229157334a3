//! Encodes neutral stream events as Responses API SSE events (`event: <type>` + `data: {json}`).
//!
//! Every provider content block becomes one output item, in order of first appearance
//! (`output_index` is dense). Items are opened lazily on their first non-empty delta (Converse
//! announces only tool blocks) and their `*.done` events are written when the block stops —
//! except that the most recently stopped item is held back until the next item opens or the stop
//! reason arrives, so an answer cut by `max_output_tokens` can mark the item that was cut
//! `incomplete`, as OpenAI does. The terminal event carries the whole `Response` and is written
//! once both the stop reason and the usage are known (or when the provider stream ends).

use super::echo::RequestEcho;
use super::response::{
    failed, item_id, lifecycle, outcome, output_text, redacted_content, set_status, Outcome,
    OutputItem, OutputText, Response, ResponseUsage, SummaryText, COMPLETED, INCOMPLETE,
    IN_PROGRESS,
};
use crate::chat::check_stop;
use crate::chat::stream::write_json;
use bytes::BytesMut;
use gomodel_core::chat::{BlockDelta, BlockStart, StopReason, StreamEvent, Usage};
use gomodel_core::GatewayError;
use serde::Serialize;

/// Turns one answer's events into Responses SSE events. One encoder per response.
#[derive(Debug)]
pub struct ResponseEventEncoder {
    id: String,
    model: String,
    created_at: u64,
    echo: RequestEcho,
    /// The next `sequence_number`.
    seq: u64,
    /// Output items in `output_index` order.
    slots: Vec<Slot>,
    /// The slot whose `*.done` events are held (see the module docs).
    held: Option<usize>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    started: bool,
    /// A terminal event was written; nothing more may be.
    closed: bool,
}

#[derive(Debug)]
struct Slot {
    /// The provider's content-block index.
    block: u32,
    open: bool,
    item: OutputItem,
    /// Redacted reasoning bytes, encoded into `encrypted_content` when the item closes.
    redacted: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Call,
    Reasoning,
}

fn kind_of(item: &OutputItem) -> Kind {
    match item {
        OutputItem::Message { .. } => Kind::Message,
        OutputItem::FunctionCall { .. } => Kind::Call,
        OutputItem::Reasoning { .. } => Kind::Reasoning,
    }
}

/// The JSON of every event: its type and sequence number, then the event's own fields.
#[derive(Serialize)]
struct Envelope<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    sequence_number: u64,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct LifecycleEvent<'a> {
    response: Response<'a>,
}

#[derive(Serialize)]
struct ItemEvent<'a> {
    output_index: usize,
    item: &'a OutputItem,
}

#[derive(Serialize)]
struct PartEvent<'a, P> {
    item_id: &'a str,
    output_index: usize,
    content_index: usize,
    part: &'a P,
}

#[derive(Serialize)]
struct TextEvent<'a> {
    item_id: &'a str,
    output_index: usize,
    content_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct SummaryPartEvent<'a> {
    item_id: &'a str,
    output_index: usize,
    summary_index: usize,
    part: &'a SummaryText,
}

#[derive(Serialize)]
struct SummaryTextEvent<'a> {
    item_id: &'a str,
    output_index: usize,
    summary_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct ArgumentsEvent<'a> {
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a str>,
}

/// Writes one SSE event and advances the sequence number. A free function so callers can
/// borrow an item from `slots` while writing.
fn emit<T: Serialize>(seq: &mut u64, out: &mut BytesMut, kind: &str, body: T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(
        out,
        &Envelope {
            kind,
            sequence_number: *seq,
            body,
        },
    );
    out.extend_from_slice(b"\n\n");
    *seq += 1;
}

impl ResponseEventEncoder {
    /// `model` is the string the client sent; `echo` the request fields the response repeats.
    pub fn new(id: String, model: String, created_at: u64, echo: RequestEcho) -> Self {
        Self {
            id,
            model,
            created_at,
            echo,
            seq: 0,
            slots: Vec::new(),
            held: None,
            stop: None,
            usage: None,
            started: false,
            closed: false,
        }
    }

    /// `response.created` and `response.in_progress`. Written by `on_event`/`finish`/`fail` if
    /// the caller did not.
    pub fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        for kind in ["response.created", "response.in_progress"] {
            let in_progress = Outcome {
                status: IN_PROGRESS,
                incomplete_details: None,
                error: None,
            };
            let response = lifecycle(
                &self.id,
                &self.model,
                self.created_at,
                &self.echo,
                in_progress,
                Vec::new(),
                None,
            );
            emit(&mut self.seq, out, kind, LifecycleEvent { response });
        }
    }

    pub fn on_event(&mut self, ev: StreamEvent, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        self.start(out);
        match ev {
            StreamEvent::MessageStart => {}
            StreamEvent::BlockStart {
                index,
                start: BlockStart::ToolUse { id, name },
            } => {
                let n = self.slots.len();
                let item = OutputItem::FunctionCall {
                    id: item_id("fc", &self.id, n),
                    call_id: id,
                    name,
                    arguments: String::new(),
                    status: IN_PROGRESS,
                };
                self.open(index, item, out);
            }
            StreamEvent::BlockDelta { index, delta } => self.on_delta(index, delta, out),
            StreamEvent::BlockStop { index } => {
                if let Some(k) = self.open_slot(index) {
                    self.release_held(out);
                    self.held = Some(k);
                }
            }
            StreamEvent::MessageStop { stop_reason } => {
                if let Err(err) = check_stop(&stop_reason) {
                    self.fail(&err, out);
                    return;
                }
                let status = if outcome(&stop_reason).status == INCOMPLETE {
                    INCOMPLETE
                } else {
                    COMPLETED
                };
                self.close_all(status, out);
                self.stop = Some(stop_reason);
                if self.usage.is_some() {
                    self.complete(out);
                }
            }
            // Converse reports usage after the stop; the terminal event waits for it so it can
            // carry the usage, whatever order a provider uses.
            StreamEvent::Usage(usage) => {
                self.usage = Some(usage);
                if self.stop.is_some() {
                    self.complete(out);
                }
            }
        }
    }

    /// After the provider stream ended normally: closes what is open and writes the terminal
    /// event (an answer without a stop event counts as complete, as in chat).
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        self.start(out);
        if self.stop.is_none() {
            self.close_all(COMPLETED, out);
            self.stop = Some(StopReason::EndTurn);
        }
        self.complete(out);
    }

    /// A mid-stream failure: `response.failed` with the error and the output so far (unfinished
    /// items marked `incomplete`), then the encoder is closed.
    pub fn fail(&mut self, err: &GatewayError, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        self.start(out);
        let mut output: Vec<OutputItem> = Vec::with_capacity(self.slots.len());
        for slot in self.slots.drain(..) {
            let mut item = slot.item;
            if slot.open {
                set_status(&mut item, INCOMPLETE);
            }
            output.push(item);
        }
        let usage = self.usage.as_ref().map(ResponseUsage::from);
        let response = lifecycle(
            &self.id,
            &self.model,
            self.created_at,
            &self.echo,
            failed(err),
            output,
            usage,
        );
        emit(
            &mut self.seq,
            out,
            "response.failed",
            LifecycleEvent { response },
        );
        self.closed = true;
    }

    fn on_delta(&mut self, index: u32, delta: BlockDelta, out: &mut BytesMut) {
        match delta {
            BlockDelta::Text(text) if !text.is_empty() => {
                let k = self.slot_for(index, Kind::Message, out);
                let slot = &mut self.slots[k];
                if let OutputItem::Message { id, content, .. } = &mut slot.item {
                    if let Some(part) = content.first_mut() {
                        part.text.push_str(&text);
                    }
                    let body = TextEvent {
                        item_id: id,
                        output_index: k,
                        content_index: 0,
                        delta: Some(&text),
                        text: None,
                        logprobs: [],
                    };
                    emit(&mut self.seq, out, "response.output_text.delta", body);
                }
            }
            BlockDelta::ToolInput(fragment) if !fragment.is_empty() => {
                // Without a start there is no call id or name to give the client, and a call it
                // cannot attribute is worse than none (as in chat).
                let Some(k) = self.open_slot(index) else {
                    return;
                };
                if let OutputItem::FunctionCall { id, arguments, .. } = &mut self.slots[k].item {
                    arguments.push_str(&fragment);
                    let body = ArgumentsEvent {
                        item_id: id,
                        output_index: k,
                        delta: Some(&fragment),
                        name: None,
                        arguments: None,
                    };
                    emit(
                        &mut self.seq,
                        out,
                        "response.function_call_arguments.delta",
                        body,
                    );
                }
            }
            BlockDelta::ReasoningText(text) if !text.is_empty() => {
                let k = self.slot_for(index, Kind::Reasoning, out);
                if let OutputItem::Reasoning { id, summary, .. } = &mut self.slots[k].item {
                    if summary.is_empty() {
                        summary.push(SummaryText::new(String::new()));
                        let body = SummaryPartEvent {
                            item_id: id,
                            output_index: k,
                            summary_index: 0,
                            part: &summary[0],
                        };
                        emit(
                            &mut self.seq,
                            out,
                            "response.reasoning_summary_part.added",
                            body,
                        );
                    }
                    summary[0].text.push_str(&text);
                    let body = SummaryTextEvent {
                        item_id: id,
                        output_index: k,
                        summary_index: 0,
                        delta: Some(&text),
                        text: None,
                    };
                    emit(
                        &mut self.seq,
                        out,
                        "response.reasoning_summary_text.delta",
                        body,
                    );
                }
            }
            BlockDelta::ReasoningSignature(sig) if !sig.is_empty() => {
                let k = self.slot_for(index, Kind::Reasoning, out);
                if let OutputItem::Reasoning {
                    encrypted_content, ..
                } = &mut self.slots[k].item
                {
                    encrypted_content
                        .get_or_insert_with(String::new)
                        .push_str(&sig);
                }
            }
            BlockDelta::RedactedReasoning(bytes) if !bytes.is_empty() => {
                let k = self.slot_for(index, Kind::Reasoning, out);
                self.slots[k].redacted.extend_from_slice(&bytes);
            }
            // Empty deltas would only add noise.
            _ => {}
        }
    }

    /// The open slot for a provider block, if any.
    fn open_slot(&self, block: u32) -> Option<usize> {
        self.slots.iter().rposition(|s| s.open && s.block == block)
    }

    /// The open slot of `kind` for `block`, opening one if needed. A block that changes kind
    /// (a provider bug) closes the old item rather than mixing content.
    fn slot_for(&mut self, block: u32, kind: Kind, out: &mut BytesMut) -> usize {
        if let Some(k) = self.open_slot(block) {
            if kind_of(&self.slots[k].item) == kind {
                return k;
            }
            self.close(k, COMPLETED, out);
        }
        let n = self.slots.len();
        let item = match kind {
            Kind::Message => OutputItem::Message {
                id: item_id("msg", &self.id, n),
                role: "assistant",
                status: IN_PROGRESS,
                content: Vec::new(),
            },
            Kind::Reasoning => OutputItem::Reasoning {
                id: item_id("rs", &self.id, n),
                summary: Vec::new(),
                encrypted_content: None,
            },
            // Calls are opened by their `BlockStart` only.
            Kind::Call => OutputItem::FunctionCall {
                id: item_id("fc", &self.id, n),
                call_id: String::new(),
                name: String::new(),
                arguments: String::new(),
                status: IN_PROGRESS,
            },
        };
        self.open(block, item, out)
    }

    /// Appends an item and announces it (`output_item.added`, plus the empty text part of a
    /// message).
    fn open(&mut self, block: u32, item: OutputItem, out: &mut BytesMut) -> usize {
        if let Some(k) = self.open_slot(block) {
            self.close(k, COMPLETED, out);
        }
        self.release_held(out);
        let k = self.slots.len();
        self.slots.push(Slot {
            block,
            open: true,
            item,
            redacted: Vec::new(),
        });
        let slot = &mut self.slots[k];
        emit(
            &mut self.seq,
            out,
            "response.output_item.added",
            ItemEvent {
                output_index: k,
                item: &slot.item,
            },
        );
        if let OutputItem::Message { id, content, .. } = &mut slot.item {
            content.push(OutputText::new(String::new()));
            emit(
                &mut self.seq,
                out,
                "response.content_part.added",
                PartEvent {
                    item_id: id,
                    output_index: k,
                    content_index: 0,
                    part: &content[0],
                },
            );
        }
        k
    }

    /// Writes the held item's `*.done` events as completed.
    fn release_held(&mut self, out: &mut BytesMut) {
        if let Some(k) = self.held.take() {
            self.close(k, COMPLETED, out);
        }
    }

    /// Closes the held item and every open one with `status`.
    fn close_all(&mut self, status: &'static str, out: &mut BytesMut) {
        self.held = None;
        for k in 0..self.slots.len() {
            self.close(k, status, out);
        }
    }

    /// The `*.done` events of one item, ending with `output_item.done`.
    fn close(&mut self, k: usize, status: &'static str, out: &mut BytesMut) {
        if self.held == Some(k) {
            self.held = None;
        }
        let seq = &mut self.seq;
        let Some(slot) = self.slots.get_mut(k) else {
            return;
        };
        if !slot.open {
            return;
        }
        slot.open = false;
        set_status(&mut slot.item, status);
        match &mut slot.item {
            OutputItem::Message { id, content, .. } => {
                if let Some(part) = content.first() {
                    let text = TextEvent {
                        item_id: id,
                        output_index: k,
                        content_index: 0,
                        delta: None,
                        text: Some(&part.text),
                        logprobs: [],
                    };
                    emit(seq, out, "response.output_text.done", text);
                    let done = PartEvent {
                        item_id: id,
                        output_index: k,
                        content_index: 0,
                        part,
                    };
                    emit(seq, out, "response.content_part.done", done);
                }
            }
            OutputItem::FunctionCall {
                id,
                name,
                arguments,
                ..
            } => {
                // A call without arguments streams no fragments; `{}` is what the non-streamed
                // answer says for it.
                if arguments.is_empty() {
                    arguments.push_str("{}");
                }
                let body = ArgumentsEvent {
                    item_id: id,
                    output_index: k,
                    delta: None,
                    name: Some(name),
                    arguments: Some(arguments),
                };
                emit(seq, out, "response.function_call_arguments.done", body);
            }
            OutputItem::Reasoning {
                id,
                summary,
                encrypted_content,
            } => {
                if !slot.redacted.is_empty() {
                    *encrypted_content = Some(redacted_content(&slot.redacted));
                }
                if let Some(part) = summary.first() {
                    let text = SummaryTextEvent {
                        item_id: id,
                        output_index: k,
                        summary_index: 0,
                        delta: None,
                        text: Some(&part.text),
                    };
                    emit(seq, out, "response.reasoning_summary_text.done", text);
                    let done = SummaryPartEvent {
                        item_id: id,
                        output_index: k,
                        summary_index: 0,
                        part,
                    };
                    emit(seq, out, "response.reasoning_summary_part.done", done);
                }
            }
        }
        emit(
            seq,
            out,
            "response.output_item.done",
            ItemEvent {
                output_index: k,
                item: &slot.item,
            },
        );
    }

    /// `response.completed` or `response.incomplete` with the whole response.
    fn complete(&mut self, out: &mut BytesMut) {
        let stop = self.stop.clone().unwrap_or(StopReason::EndTurn);
        let outcome = outcome(&stop);
        let kind = if outcome.status == INCOMPLETE {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let output: Vec<OutputItem> = self.slots.drain(..).map(|s| s.item).collect();
        let usage = Some(ResponseUsage::from(&self.usage.unwrap_or_default()));
        let mut response = lifecycle(
            &self.id,
            &self.model,
            self.created_at,
            &self.echo,
            outcome,
            output,
            usage,
        );
        response.output_text = Some(output_text(&response.output));
        emit(&mut self.seq, out, kind, LifecycleEvent { response });
        self.closed = true;
    }
}
