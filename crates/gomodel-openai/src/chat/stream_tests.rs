//! Tests for the SSE chunk encoder.

use super::*;
use crate::spec_check::assert_matches;
use crate::test_support::{text_delta as text, tool_input, tool_start};
use bytes::BytesMut;
use gomodel_core::chat::{BlockDelta, StopReason, StreamEvent, Usage};
use gomodel_core::{ErrorKind, GatewayError};
use serde_json::{json, Value};

enum Frame {
    Chunk(Value),
    Error(Value),
    Done,
}

/// Splits SSE output into frames, checking the framing and each chunk against the spec.
fn frames(out: &[u8]) -> Vec<Frame> {
    let text = std::str::from_utf8(out).unwrap();
    assert!(text.ends_with("\n\n"), "{text}");
    text.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|f| {
            let data = f
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("bad frame {f:?}"));
            assert!(!data.contains('\n'), "{data}");
            if data == "[DONE]" {
                return Frame::Done;
            }
            let v: Value = serde_json::from_str(data).unwrap();
            if v.get("error").is_some() {
                assert_matches("ErrorResponse", &v);
                Frame::Error(v)
            } else {
                assert_matches("CreateChatCompletionStreamResponse", &v);
                Frame::Chunk(v)
            }
        })
        .collect()
}

fn chunks(frames: &[Frame]) -> Vec<&Value> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Chunk(v) => Some(v),
            _ => None,
        })
        .collect()
}

fn run(events: Vec<StreamEvent>, include_usage: bool) -> Vec<Frame> {
    let mut enc = ChunkEncoder::new("chatcmpl-9".into(), "my-model".into(), 42, include_usage);
    let mut out = BytesMut::new();
    for ev in events {
        enc.on_event(ev, &mut out);
    }
    enc.finish(&mut out);
    frames(&out)
}

fn usage() -> Usage {
    Usage {
        input_tokens: 11,
        output_tokens: 22,
        total_tokens: 33,
        cache_read_tokens: Some(4),
        ..Usage::default()
    }
}

#[test]
fn interleaved_blocks_give_dense_tool_indexes_and_ordered_chunks() {
    let events = vec![
        StreamEvent::MessageStart,
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::ReasoningText("hmm".into()),
        },
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::ReasoningSignature("sig".into()),
        },
        StreamEvent::BlockStop { index: 0 },
        text(1, "Hello"),
        text(1, ""),
        StreamEvent::BlockStop { index: 1 },
        tool_start(2, "t1", "get"),
        tool_input(2, "{\"a\""),
        tool_input(2, ":1}"),
        StreamEvent::BlockStop { index: 2 },
        text(3, " between"),
        tool_start(4, "t2", "now"),
        tool_input(4, "{}"),
        StreamEvent::BlockStop { index: 4 },
        StreamEvent::MessageStop {
            stop_reason: StopReason::ToolUse,
        },
        StreamEvent::Usage(usage()),
    ];
    let frames = run(events, true);
    assert!(matches!(frames.last(), Some(Frame::Done)));
    let chunks = chunks(&frames);
    for c in &chunks {
        assert_eq!(c["id"], "chatcmpl-9");
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["created"], 42);
        assert_eq!(c["model"], "my-model");
    }
    let (usage_chunk, content_chunks) = chunks.split_last().unwrap();
    for c in content_chunks {
        assert_eq!(c["usage"], Value::Null, "{c}");
        assert!(c.as_object().unwrap().contains_key("usage"));
        assert_eq!(c["choices"][0]["index"], 0);
        assert_eq!(c["choices"][0]["logprobs"], Value::Null);
        assert!(c["choices"][0]
            .as_object()
            .unwrap()
            .contains_key("finish_reason"));
    }
    let choices: Vec<(Value, Value)> = content_chunks
        .iter()
        .map(|c| {
            (
                c["choices"][0]["delta"].clone(),
                c["choices"][0]["finish_reason"].clone(),
            )
        })
        .collect();
    let want = vec![
        (
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
        ),
        (json!({"reasoning_content": "hmm"}), Value::Null),
        (json!({"reasoning_signature": "sig"}), Value::Null),
        (json!({"content": "Hello"}), Value::Null),
        (
            json!({"tool_calls": [{"index": 0, "id": "t1", "type": "function", "function": {"name": "get", "arguments": ""}}]}),
            Value::Null,
        ),
        (
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\""}}]}),
            Value::Null,
        ),
        (
            json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
            Value::Null,
        ),
        (json!({"content": " between"}), Value::Null),
        (
            json!({"tool_calls": [{"index": 1, "id": "t2", "type": "function", "function": {"name": "now", "arguments": ""}}]}),
            Value::Null,
        ),
        (
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
            Value::Null,
        ),
        (json!({}), json!("tool_calls")),
    ];
    assert_eq!(choices, want);
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({
            "prompt_tokens": 15,
            "completion_tokens": 22,
            "total_tokens": 37,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 0}
        })
    );
}

#[test]
fn without_include_usage_no_usage_key_or_chunk() {
    let frames = run(
        vec![
            StreamEvent::MessageStart,
            text(0, "hi"),
            StreamEvent::MessageStop {
                stop_reason: StopReason::MaxTokens,
            },
            StreamEvent::Usage(usage()),
        ],
        false,
    );
    assert!(matches!(frames.last(), Some(Frame::Done)));
    let chunks = chunks(&frames);
    assert_eq!(chunks.len(), 3);
    for c in &chunks {
        assert!(c.get("usage").is_none(), "{c}");
    }
    assert_eq!(chunks[2]["choices"][0]["finish_reason"], "length");
}

#[test]
fn usage_before_stop_still_comes_last_and_missing_stop_means_stop() {
    let frames = run(vec![StreamEvent::Usage(usage()), text(0, "x")], true);
    let chunks = chunks(&frames);
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .collect();
    // role chunk, text, finish ("stop" because no stop event came), then the usage chunk.
    assert_eq!(chunks.len(), 4);
    assert_eq!(finishes[2], "stop");
    assert_eq!(chunks[3]["choices"], json!([]));
    assert_eq!(chunks[3]["usage"]["completion_tokens"], 22);
    assert!(matches!(frames.last(), Some(Frame::Done)));
}

#[test]
fn empty_stream_still_has_role_finish_and_zero_usage() {
    let frames = run(vec![], true);
    let chunks = chunks(&frames);
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[2]["usage"]["total_tokens"], 0);
}

#[test]
fn failure_writes_one_error_frame_and_closes() {
    let mut enc = ChunkEncoder::new("id".into(), "m".into(), 1, true);
    let mut out = BytesMut::new();
    enc.on_event(StreamEvent::MessageStart, &mut out);
    enc.on_event(text(0, "partial"), &mut out);
    let err = GatewayError::upstream(ErrorKind::UpstreamError, "model stream failed")
        .with_code("modelStreamErrorException");
    enc.fail(&err, &mut out);
    let before = out.len();
    enc.on_event(text(0, "late"), &mut out);
    enc.finish(&mut out);
    enc.fail(&err, &mut out);
    assert_eq!(out.len(), before, "nothing after the error frame");
    let frames = frames(&out);
    assert_eq!(frames.len(), 3);
    match &frames[2] {
        Frame::Error(v) => assert_eq!(
            v,
            &json!({"error": {"message": "model stream failed", "type": "upstream_error", "param": null, "code": "modelStreamErrorException"}})
        ),
        _ => panic!("last frame is not an error"),
    }
}

#[test]
fn malformed_stop_becomes_an_error_frame() {
    for reason in [
        StopReason::MalformedModelOutput,
        StopReason::MalformedToolUse,
    ] {
        let frames = run(
            vec![
                StreamEvent::MessageStart,
                text(0, "x"),
                StreamEvent::MessageStop {
                    stop_reason: reason.clone(),
                },
                StreamEvent::Usage(usage()),
            ],
            true,
        );
        assert_eq!(frames.len(), 3, "{reason:?}");
        assert!(matches!(&frames[2], Frame::Error(v) if v["error"]["type"] == "upstream_error"));
    }
}

#[test]
fn events_after_the_stop_are_ignored_and_orphan_tool_input_dropped() {
    let frames = run(
        vec![
            tool_input(5, "{\"lost\":1}"),
            text(0, "a"),
            StreamEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
            },
            text(0, "after stop"),
        ],
        false,
    );
    let chunks = chunks(&frames);
    let deltas: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]["delta"]).collect();
    assert_eq!(deltas.len(), 3);
    assert_eq!(deltas[1], &json!({"content": "a"}));
    assert_eq!(deltas[2], &json!({}));
}

#[test]
fn id_and_model_are_json_escaped() {
    let mut enc = ChunkEncoder::new("a\"b".into(), "m\\\n".into(), 7, false);
    let mut out = BytesMut::new();
    enc.finish(&mut out);
    let frames = frames(&out);
    let chunks = chunks(&frames);
    assert_eq!(chunks[0]["id"], "a\"b");
    assert_eq!(chunks[0]["model"], "m\\\n");
}
