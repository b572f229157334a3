//! Tests for the non-streamed response, finish reasons and `check_stop`.

use super::*;
use crate::spec_check::assert_matches;
use gomodel_core::chat::{ChatResponse, ContentBlock, StopReason, Usage};
use gomodel_core::ErrorKind;
use serde_json::{json, Value};

fn render(content: Vec<ContentBlock>, stop_reason: StopReason, usage: Usage) -> Value {
    let resp = from_neutral(
        ChatResponse {
            content,
            stop_reason,
            usage,
        },
        "chatcmpl-1",
        "bedrock/claude",
        1_700_000_000,
    );
    let v = serde_json::to_value(&resp).unwrap();
    assert_matches("CreateChatCompletionResponse", &v);
    v
}

#[test]
fn text_answer_has_every_required_key_and_explicit_nulls() {
    let v = render(
        vec![
            ContentBlock::Text("Hello".into()),
            ContentBlock::CachePoint,
            ContentBlock::Text(", world".into()),
        ],
        StopReason::EndTurn,
        Usage {
            input_tokens: 10,
            output_tokens: 5,
            total_tokens: 15,
            ..Usage::default()
        },
    );
    assert_eq!(
        v,
        json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "bedrock/claude",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello, world", "refusal": null},
                "finish_reason": "stop",
                "logprobs": null
            }],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 15,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0}
            }
        })
    );
}

#[test]
fn tool_calls_reasoning_and_cache_usage() {
    let v = render(
        vec![
            ContentBlock::Reasoning {
                text: "think ".into(),
                signature: Some("sig".into()),
            },
            ContentBlock::RedactedReasoning(bytes::Bytes::from_static(b"x")),
            ContentBlock::Reasoning {
                text: "more".into(),
                signature: None,
            },
            ContentBlock::ToolUse {
                id: "t1".into(),
                name: "get".into(),
                input: json!({"city": "Paris"}),
            },
            ContentBlock::ToolUse {
                id: "t2".into(),
                name: "now".into(),
                input: json!({}),
            },
        ],
        StopReason::ToolUse,
        Usage {
            input_tokens: 3,
            output_tokens: 7,
            total_tokens: 110,
            cache_read_tokens: Some(40),
            cache_write_tokens: Some(60),
            reasoning_tokens: Some(2),
        },
    );
    assert_eq!(
        v["choices"][0],
        json!({
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "refusal": null,
                "reasoning_content": "think more",
                "reasoning_signature": "sig",
                "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "get", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "t2", "type": "function", "function": {"name": "now", "arguments": "{}"}}
                ]
            },
            "finish_reason": "tool_calls",
            "logprobs": null
        })
    );
    assert_eq!(
        v["usage"],
        json!({
            "prompt_tokens": 103,
            "completion_tokens": 7,
            "total_tokens": 110,
            "prompt_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 60},
            "completion_tokens_details": {"reasoning_tokens": 2}
        })
    );
}

#[test]
fn service_tier_is_emitted_only_when_known() {
    let mut resp = from_neutral(
        ChatResponse {
            content: vec![],
            stop_reason: StopReason::EndTurn,
            usage: Usage::default(),
        },
        "id",
        "m",
        0,
    );
    assert!(serde_json::to_value(&resp)
        .unwrap()
        .get("service_tier")
        .is_none());
    resp.service_tier = Some("priority".into());
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["service_tier"], "priority");
    assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
    assert_matches("CreateChatCompletionResponse", &v);
}

#[test]
fn finish_reasons_and_stop_checks() {
    let cases = [
        (StopReason::EndTurn, "stop", None),
        (StopReason::StopSequence, "stop", None),
        (StopReason::MaxTokens, "length", None),
        (StopReason::ContextWindowExceeded, "length", None),
        (StopReason::ToolUse, "tool_calls", None),
        (StopReason::ContentFiltered, "content_filter", None),
        (StopReason::GuardrailIntervened, "content_filter", None),
        (StopReason::Other("weird".into()), "stop", None),
        (
            StopReason::MalformedModelOutput,
            "stop",
            Some("malformed_model_output"),
        ),
        (
            StopReason::MalformedToolUse,
            "stop",
            Some("malformed_tool_use"),
        ),
    ];
    for (reason, finish, code) in cases {
        assert_eq!(finish_reason(&reason), finish, "{reason:?}");
        match (check_stop(&reason), code) {
            (Ok(()), None) => {}
            (Err(e), Some(code)) => {
                assert_eq!(e.kind, ErrorKind::UpstreamError, "{reason:?}");
                assert_eq!(e.status(), 502);
                assert_eq!(e.code.as_deref(), Some(code));
                assert!(e.message.contains("malformed"));
            }
            (got, want) => panic!("{reason:?}: {got:?} vs {want:?}"),
        }
    }
}
