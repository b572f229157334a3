//! Tests for the Responses SSE event encoder. Every event is checked against the spec
//! (`ResponseStreamEvent` and its member schema), the SSE framing, and the sequence numbers.

use super::*;
use crate::spec_check::assert_matches;
use crate::test_support::{text_delta as text, tool_input, tool_start};
use bytes::{Bytes, BytesMut};
use gomodel_core::chat::{BlockDelta, ChatResponse, ContentBlock, StopReason, StreamEvent, Usage};
use gomodel_core::{ErrorKind, GatewayError};
use serde_json::{json, Value};

/// The spec's schema for each event type this encoder writes.
fn member_schema(kind: &str) -> &'static str {
    match kind {
        "response.created" => "ResponseCreatedEvent",
        "response.in_progress" => "ResponseInProgressEvent",
        "response.completed" => "ResponseCompletedEvent",
        "response.incomplete" => "ResponseIncompleteEvent",
        "response.failed" => "ResponseFailedEvent",
        "response.output_item.added" => "ResponseOutputItemAddedEvent",
        "response.output_item.done" => "ResponseOutputItemDoneEvent",
        "response.content_part.added" => "ResponseContentPartAddedEvent",
        "response.content_part.done" => "ResponseContentPartDoneEvent",
        "response.output_text.delta" => "ResponseTextDeltaEvent",
        "response.output_text.done" => "ResponseTextDoneEvent",
        "response.function_call_arguments.delta" => "ResponseFunctionCallArgumentsDeltaEvent",
        "response.function_call_arguments.done" => "ResponseFunctionCallArgumentsDoneEvent",
        "response.reasoning_summary_part.added" => "ResponseReasoningSummaryPartAddedEvent",
        "response.reasoning_summary_part.done" => "ResponseReasoningSummaryPartDoneEvent",
        "response.reasoning_summary_text.delta" => "ResponseReasoningSummaryTextDeltaEvent",
        "response.reasoning_summary_text.done" => "ResponseReasoningSummaryTextDoneEvent",
        other => panic!("unexpected event type {other}"),
    }
}

/// Splits SSE output into events, checking framing, schemas and sequence numbers.
fn events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with("\n\n"), "{text}");
    let all: Vec<Value> = text
        .trim_end_matches("\n\n")
        .split("\n\n")
        .map(|frame| {
            let (event_line, data_line) = frame.split_once('\n').unwrap();
            let kind = event_line.strip_prefix("event: ").unwrap();
            let data = data_line.strip_prefix("data: ").unwrap();
            assert!(!data.contains('\n'), "{data}");
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["type"], kind, "{data}");
            assert_matches("ResponseStreamEvent", &v);
            assert_matches(member_schema(kind), &v);
            v
        })
        .collect();
    for (i, ev) in all.iter().enumerate() {
        assert_eq!(ev["sequence_number"], i as u64, "{ev}");
        if let Some(resp) = ev.get("response") {
            assert_eq!(resp["id"], "resp_s1");
            assert_eq!(resp["model"], "my-model");
        }
    }
    all
}

fn encoder() -> ResponseEventEncoder {
    let req = parse_request(
        br#"{"model":"my-model","input":"hi","tools":[{"type":"function","name":"f"}]}"#,
    )
    .unwrap();
    ResponseEventEncoder::new(
        "resp_s1".into(),
        "my-model".into(),
        7,
        RequestEcho::new(&req),
    )
}

fn run(evs: Vec<StreamEvent>) -> Vec<Value> {
    let mut enc = encoder();
    let mut out = BytesMut::new();
    enc.start(&mut out);
    for ev in evs {
        enc.on_event(ev, &mut out);
    }
    enc.finish(&mut out);
    events(&out)
}

fn kinds(evs: &[Value]) -> Vec<&str> {
    evs.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn reasoning(index: u32, s: &str) -> StreamEvent {
    StreamEvent::BlockDelta {
        index,
        delta: BlockDelta::ReasoningText(s.into()),
    }
}

fn signature(index: u32, s: &str) -> StreamEvent {
    StreamEvent::BlockDelta {
        index,
        delta: BlockDelta::ReasoningSignature(s.into()),
    }
}

fn stop_block(index: u32) -> StreamEvent {
    StreamEvent::BlockStop { index }
}

fn stop(reason: StopReason) -> StreamEvent {
    StreamEvent::MessageStop {
        stop_reason: reason,
    }
}

fn usage() -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: 3,
        output_tokens: 2,
        total_tokens: 5,
        ..Usage::default()
    })
}

fn last_response(evs: &[Value]) -> &Value {
    &evs.last().unwrap()["response"]
}

#[test]
fn text_only() {
    let evs = run(vec![
        StreamEvent::MessageStart,
        text(0, "Hel"),
        text(0, ""),
        text(0, "lo"),
        stop_block(0),
        stop(StopReason::EndTurn),
        usage(),
    ]);
    assert_eq!(
        kinds(&evs),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(evs[0]["response"]["status"], "in_progress");
    assert_eq!(evs[0]["response"]["output"], json!([]));
    assert!(evs[0]["response"].get("usage").is_none());
    assert_eq!(
        evs[2]["item"],
        json!({"type": "message", "id": "msg_s1_0", "role": "assistant", "status": "in_progress", "content": []})
    );
    assert_eq!(evs[4]["delta"], "Hel");
    assert_eq!(evs[4]["item_id"], "msg_s1_0");
    assert_eq!(
        (
            evs[4]["output_index"].as_u64(),
            evs[4]["content_index"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(evs[6]["text"], "Hello");
    assert_eq!(evs[7]["part"]["text"], "Hello");
    assert_eq!(evs[8]["item"]["status"], "completed");
    let done = last_response(&evs);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"], json!([evs[8]["item"]]));
    assert_eq!(done["output_text"], "Hello");
    assert_eq!(done["usage"]["total_tokens"], 5);
}

#[test]
fn tool_call() {
    let evs = run(vec![
        StreamEvent::MessageStart,
        tool_start(0, "tooluse_1", "f"),
        tool_input(0, "{\"a\":"),
        tool_input(0, "1}"),
        stop_block(0),
        stop(StopReason::ToolUse),
        usage(),
    ]);
    assert_eq!(
        kinds(&evs)[2..],
        [
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        evs[2]["item"],
        json!({"type": "function_call", "id": "fc_s1_0", "call_id": "tooluse_1", "name": "f",
               "arguments": "", "status": "in_progress"})
    );
    assert_eq!(evs[5]["arguments"], "{\"a\":1}");
    assert_eq!(evs[5]["name"], "f");
    assert_eq!(evs[6]["item"]["arguments"], "{\"a\":1}");
    assert_eq!(last_response(&evs)["output"], json!([evs[6]["item"]]));
}

#[test]
fn reasoning_then_tool_call() {
    let evs = run(vec![
        StreamEvent::MessageStart,
        reasoning(0, "Let me "),
        reasoning(0, "think."),
        signature(0, "sig-"),
        signature(0, "xyz"),
        stop_block(0),
        tool_start(1, "tooluse_9", "f"),
        stop_block(1),
        stop(StopReason::ToolUse),
        usage(),
    ]);
    assert_eq!(
        kinds(&evs)[2..],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        evs[2]["item"],
        json!({"type": "reasoning", "id": "rs_s1_0", "summary": []})
    );
    assert_eq!(evs[6]["text"], "Let me think.");
    let reasoning_item = json!({"type": "reasoning", "id": "rs_s1_0",
        "summary": [{"type": "summary_text", "text": "Let me think."}], "encrypted_content": "sig-xyz"});
    assert_eq!(evs[8]["item"], reasoning_item);
    // A call without argument fragments reports `{}`, as the non-streamed answer does.
    assert_eq!(evs[10]["arguments"], "{}");
    assert_eq!(evs[11]["output_index"], 1);
    assert_eq!(
        last_response(&evs)["output"],
        json!([reasoning_item, evs[11]["item"]])
    );
}

#[test]
fn text_and_two_tool_calls_interleaved() {
    let evs = run(vec![
        StreamEvent::MessageStart,
        text(0, "Checking"),
        tool_start(1, "t1", "f"),
        text(0, " both."),
        tool_start(2, "t2", "g"),
        tool_input(2, "{\"b\":2}"),
        tool_input(1, "{\"a\":1}"),
        stop_block(0),
        stop_block(2),
        stop_block(1),
        stop(StopReason::ToolUse),
        usage(),
    ]);
    let added: Vec<(u64, &str)> = evs
        .iter()
        .filter(|e| e["type"] == "response.output_item.added")
        .map(|e| {
            (
                e["output_index"].as_u64().unwrap(),
                e["item"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(added, [(0, "msg_s1_0"), (1, "fc_s1_1"), (2, "fc_s1_2")]);
    // Deltas go to the item of their block, whatever the order.
    let deltas: Vec<(&str, u64, &str)> = evs
        .iter()
        .filter(|e| e["type"].as_str().unwrap().ends_with(".delta"))
        .map(|e| {
            (
                e["item_id"].as_str().unwrap(),
                e["output_index"].as_u64().unwrap(),
                e["delta"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deltas,
        [
            ("msg_s1_0", 0, "Checking"),
            ("msg_s1_0", 0, " both."),
            ("fc_s1_2", 2, "{\"b\":2}"),
            ("fc_s1_1", 1, "{\"a\":1}"),
        ]
    );
    let done: Vec<Value> = evs
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| e["item"].clone())
        .collect();
    assert_eq!(done.len(), 3);
    let final_output = last_response(&evs)["output"].as_array().unwrap().clone();
    assert_eq!(final_output.len(), 3);
    for item in &done {
        assert!(final_output.contains(item), "{item}");
    }
    assert_eq!(final_output[1]["arguments"], "{\"a\":1}");
    assert_eq!(final_output[2]["arguments"], "{\"b\":2}");
    assert_eq!(last_response(&evs)["output_text"], "Checking both.");
}

#[test]
fn usage_ordering() {
    // Usage before the stop: the terminal event follows the stop at once.
    let mut enc = encoder();
    let mut out = BytesMut::new();
    for ev in [text(0, "a"), usage(), stop(StopReason::EndTurn)] {
        enc.on_event(ev, &mut out);
    }
    let evs = events(&out);
    assert_eq!(*kinds(&evs).last().unwrap(), "response.completed");
    assert_eq!(last_response(&evs)["usage"]["output_tokens"], 2);
    // Nothing is written after the terminal event.
    let len = out.len();
    enc.on_event(text(0, "late"), &mut out);
    enc.on_event(usage(), &mut out);
    enc.finish(&mut out);
    assert_eq!(out.len(), len);

    // Usage after the stop: the terminal event waits for it.
    let mut enc = encoder();
    let mut out = BytesMut::new();
    for ev in [text(0, "a"), stop_block(0), stop(StopReason::EndTurn)] {
        enc.on_event(ev, &mut out);
    }
    assert!(!kinds(&events(&out)).contains(&"response.completed"));
    enc.on_event(usage(), &mut out);
    let evs = events(&out);
    assert_eq!(*kinds(&evs).last().unwrap(), "response.completed");
    assert_eq!(last_response(&evs)["usage"]["input_tokens"], 3);

    // No usage and no stop at all: `finish` completes with zero usage; `start` is implied.
    let mut enc = encoder();
    let mut out = BytesMut::new();
    enc.on_event(text(0, "a"), &mut out);
    enc.finish(&mut out);
    let evs = events(&out);
    assert_eq!(kinds(&evs)[0], "response.created");
    assert_eq!(last_response(&evs)["status"], "completed");
    assert_eq!(last_response(&evs)["usage"]["total_tokens"], 0);
    assert_eq!(last_response(&evs)["output"][0]["status"], "completed");
}

#[test]
fn cut_answers_are_incomplete() {
    let cases = [
        (StopReason::MaxTokens, "max_output_tokens"),
        (StopReason::ContentFiltered, "content_filter"),
    ];
    for (reason, why) in cases {
        let evs = run(vec![
            reasoning(0, "hm"),
            stop_block(0),
            text(1, "cut"),
            stop_block(1),
            stop(reason.clone()),
            usage(),
        ]);
        let done: Vec<&Value> = evs
            .iter()
            .filter(|e| e["type"] == "response.output_item.done")
            .collect();
        assert_eq!(done[1]["item"]["status"], "incomplete", "{reason:?}");
        assert_eq!(evs.last().unwrap()["type"], "response.incomplete");
        let resp = last_response(&evs);
        assert_eq!(resp["status"], "incomplete");
        assert_eq!(resp["incomplete_details"], json!({"reason": why}));
        assert_eq!(resp["output"][1]["status"], "incomplete");
    }
}

#[test]
fn failure_mid_stream() {
    let mut enc = encoder();
    let mut out = BytesMut::new();
    enc.start(&mut out);
    for ev in [
        text(0, "done part"),
        stop_block(0),
        tool_start(1, "t1", "f"),
        tool_input(1, "{\"a\""),
    ] {
        enc.on_event(ev, &mut out);
    }
    let err = GatewayError::upstream(ErrorKind::RateLimited, "Too many requests, please wait.")
        .with_code("ThrottlingException");
    enc.fail(&err, &mut out);
    let len = out.len();
    enc.on_event(text(0, "x"), &mut out);
    enc.finish(&mut out);
    enc.fail(&err, &mut out);
    assert_eq!(out.len(), len, "nothing after the failure");
    let evs = events(&out);
    let last = evs.last().unwrap();
    assert_eq!(last["type"], "response.failed");
    let resp = &last["response"];
    assert_eq!(resp["status"], "failed");
    assert_eq!(
        resp["error"],
        json!({"code": "rate_limit_exceeded", "message": "Too many requests, please wait."})
    );
    assert_eq!(resp["output"][0]["content"][0]["text"], "done part");
    assert_eq!(resp["output"][1]["status"], "incomplete");
    assert_eq!(resp["output"][1]["arguments"], "{\"a\"");

    // A malformed answer fails the stream too; other errors map to server_error.
    let evs = run(vec![text(0, "x"), stop(StopReason::MalformedToolUse)]);
    assert_eq!(evs.last().unwrap()["type"], "response.failed");
    assert_eq!(last_response(&evs)["error"]["code"], "server_error");
    let mut enc = encoder();
    let mut out = BytesMut::new();
    enc.fail(&GatewayError::internal("boom"), &mut out);
    let evs = events(&out);
    assert_eq!(
        kinds(&evs),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
}

#[test]
fn redacted_reasoning_and_block_kind_change() {
    let evs = run(vec![
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::RedactedReasoning(Bytes::from_static(b"\x01")),
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::RedactedReasoning(Bytes::from_static(b"\x02")),
        },
        // A provider reusing an index with a different kind closes the old item first.
        text(0, "answer"),
        // Tool input for a block that never started is dropped (no call id to attribute).
        tool_input(5, "{}"),
        stop(StopReason::EndTurn),
        usage(),
    ]);
    let output = &last_response(&evs)["output"];
    assert_eq!(
        output[0],
        json!({"type": "reasoning", "id": "rs_s1_0", "summary": [], "encrypted_content": "gomodel-redacted:AQI="})
    );
    assert_eq!(output[1]["content"][0]["text"], "answer");
    assert_eq!(output.as_array().unwrap().len(), 2);
}

/// The streamed final object and the non-streamed one describe the same answer identically.
#[test]
fn stream_and_non_stream_agree() {
    let evs = run(vec![
        StreamEvent::MessageStart,
        reasoning(0, "think"),
        signature(0, "sig"),
        stop_block(0),
        text(1, "Hi "),
        text(1, "there"),
        stop_block(1),
        tool_start(2, "t1", "f"),
        tool_input(2, "{\"a\":1}"),
        stop_block(2),
        stop(StopReason::ToolUse),
        usage(),
    ]);
    let req = parse_request(
        br#"{"model":"my-model","input":"hi","tools":[{"type":"function","name":"f"}]}"#,
    )
    .unwrap();
    let echo = RequestEcho::new(&req);
    let plain = from_neutral(
        ChatResponse {
            content: vec![
                ContentBlock::Reasoning {
                    text: "think".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::Text("Hi there".into()),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "f".into(),
                    input: json!({"a": 1}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 3,
                output_tokens: 2,
                total_tokens: 5,
                ..Usage::default()
            },
        },
        "resp_s1",
        "my-model",
        7,
        &echo,
    );
    assert_eq!(last_response(&evs), &serde_json::to_value(plain).unwrap());
}
