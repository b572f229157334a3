//! Tests for `from_neutral`: every object is checked against the spec's `Response` schema.

use super::*;
use crate::spec_check::assert_matches;
use bytes::Bytes;
use gomodel_core::chat::{ChatResponse, ContentBlock, StopReason, Usage};
use serde_json::{json, Value};

fn echo_of(fields: Value) -> RequestEcho {
    let mut b = json!({"model": "m", "input": "hi"});
    if let (Some(obj), Some(extra)) = (b.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    RequestEcho::new(&parse_request(b.to_string().as_bytes()).unwrap())
}

fn answer(content: Vec<ContentBlock>, stop_reason: StopReason) -> ChatResponse {
    ChatResponse {
        content,
        stop_reason,
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
            total_tokens: 15,
            ..Usage::default()
        },
    }
}

fn render(resp: ChatResponse, echo: &RequestEcho) -> Value {
    let v = serde_json::to_value(from_neutral(
        resp,
        "resp_abc",
        "my-model",
        1_700_000_000,
        echo,
    ))
    .unwrap();
    assert_matches("Response", &v);
    v
}

#[test]
fn minimal_response_has_every_required_key() {
    let v = render(
        answer(
            vec![ContentBlock::Text("Hello".into())],
            StopReason::EndTurn,
        ),
        &echo_of(json!({})),
    );
    assert_eq!(
        v,
        json!({
            "id": "resp_abc", "object": "response", "created_at": 1_700_000_000u64,
            "status": "completed", "error": null, "incomplete_details": null, "model": "my-model",
            "output": [{"type": "message", "id": "msg_abc_0", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "Hello", "annotations": [], "logprobs": []}]}],
            "output_text": "Hello",
            "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15},
            "instructions": null, "tools": [], "tool_choice": "auto", "temperature": null, "top_p": null,
            "parallel_tool_calls": true, "metadata": {}, "text": {"format": {"type": "text"}},
            "reasoning": null, "max_output_tokens": null, "truncation": "disabled", "store": false,
            "background": false, "previous_response_id": null, "service_tier": null
        })
    );
}

#[test]
fn stop_reasons_map_to_status() {
    let cases: Vec<(StopReason, &str, Value, Value)> = vec![
        (StopReason::EndTurn, "completed", Value::Null, Value::Null),
        (
            StopReason::StopSequence,
            "completed",
            Value::Null,
            Value::Null,
        ),
        (StopReason::ToolUse, "completed", Value::Null, Value::Null),
        (
            StopReason::Other("odd".into()),
            "completed",
            Value::Null,
            Value::Null,
        ),
        (
            StopReason::MaxTokens,
            "incomplete",
            json!({"reason": "max_output_tokens"}),
            Value::Null,
        ),
        (
            StopReason::ContextWindowExceeded,
            "incomplete",
            json!({"reason": "max_output_tokens"}),
            Value::Null,
        ),
        (
            StopReason::ContentFiltered,
            "incomplete",
            json!({"reason": "content_filter"}),
            Value::Null,
        ),
        (
            StopReason::GuardrailIntervened,
            "incomplete",
            json!({"reason": "content_filter"}),
            Value::Null,
        ),
        (
            StopReason::MalformedModelOutput,
            "failed",
            Value::Null,
            json!({"code": "server_error", "message": "The model produced malformed output that could not be returned."}),
        ),
        (
            StopReason::MalformedToolUse,
            "failed",
            Value::Null,
            json!({"code": "server_error", "message": "The model produced a malformed tool call that could not be returned."}),
        ),
    ];
    for (reason, status, details, error) in cases {
        let v = render(
            answer(vec![ContentBlock::Text("cut".into())], reason.clone()),
            &echo_of(json!({})),
        );
        assert_eq!(v["status"], status, "{reason:?}");
        assert_eq!(v["incomplete_details"], details, "{reason:?}");
        assert_eq!(v["error"], error, "{reason:?}");
        // The item that was cut is marked, as OpenAI does.
        let item_status = if status == "incomplete" {
            "incomplete"
        } else {
            "completed"
        };
        assert_eq!(v["output"][0]["status"], item_status, "{reason:?}");
    }
}

#[test]
fn every_block_kind_becomes_an_item_in_order() {
    let v = render(
        answer(
            vec![
                ContentBlock::Reasoning {
                    text: "think".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::RedactedReasoning(Bytes::from_static(b"\x01\x02")),
                ContentBlock::Reasoning {
                    text: String::new(),
                    signature: None,
                },
                ContentBlock::Text("Let me check.".into()),
                ContentBlock::Text(String::new()),
                ContentBlock::CachePoint,
                ContentBlock::ToolUse {
                    id: "tooluse_1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                },
                ContentBlock::ToolUse {
                    id: "tooluse_2".into(),
                    name: "noargs".into(),
                    input: json!({}),
                },
            ],
            StopReason::ToolUse,
        ),
        &echo_of(
            json!({"tools": [{"type": "function", "name": "get_weather", "parameters": {}},
                                  {"type": "function", "name": "noargs", "parameters": null}]}),
        ),
    );
    assert_eq!(
        v["output"],
        json!([
            {"type": "reasoning", "id": "rs_abc_0", "summary": [{"type": "summary_text", "text": "think"}],
             "encrypted_content": "sig"},
            {"type": "reasoning", "id": "rs_abc_1", "summary": [], "encrypted_content": "gomodel-redacted:AQI="},
            {"type": "reasoning", "id": "rs_abc_2", "summary": []},
            {"type": "message", "id": "msg_abc_3", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Let me check.", "annotations": [], "logprobs": []}]},
            {"type": "function_call", "id": "fc_abc_4", "call_id": "tooluse_1", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_abc_5", "call_id": "tooluse_2", "name": "noargs",
             "arguments": "{}", "status": "completed"}
        ])
    );
    assert_eq!(v["output_text"], "Let me check.");
    assert_eq!(
        v["tools"],
        json!([{"type": "function", "name": "get_weather", "parameters": {}, "strict": null},
               {"type": "function", "name": "noargs", "parameters": null, "strict": null}])
    );
}

#[test]
fn usage_counts_cache_and_reasoning_tokens() {
    let mut resp = answer(vec![ContentBlock::Text("x".into())], StopReason::EndTurn);
    resp.usage = Usage {
        input_tokens: 10,
        output_tokens: 7,
        total_tokens: 47,
        cache_read_tokens: Some(20),
        cache_write_tokens: Some(10),
        reasoning_tokens: Some(3),
    };
    let v = render(resp, &echo_of(json!({})));
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 40, "input_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 10},
               "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 47})
    );
}

#[test]
fn request_fields_are_echoed() {
    let echo = echo_of(json!({
        "instructions": "Be brief.", "temperature": 0.2, "top_p": 0.5, "parallel_tool_calls": false,
        "metadata": {"k": "v"}, "max_output_tokens": 64, "truncation": "auto", "store": true,
        "user": "u", "service_tier": "default", "max_tool_calls": 3,
        "reasoning": {"effort": "low", "summary": "auto"},
        "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": true}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "p", "schema": {"type": "object"}, "strict": true},
                 "verbosity": "low"}
    }));
    let v = render(answer(vec![], StopReason::EndTurn), &echo);
    let want = json!({
        "instructions": "Be brief.", "temperature": 0.2, "top_p": 0.5, "parallel_tool_calls": false,
        "metadata": {"k": "v"}, "max_output_tokens": 64, "truncation": "auto", "store": false,
        "user": "u", "service_tier": "default", "max_tool_calls": 3,
        "reasoning": {"effort": "low", "summary": "auto"},
        "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": true}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "p", "schema": {"type": "object"}, "strict": true},
                 "verbosity": "low"}
    });
    for (key, value) in want.as_object().unwrap() {
        assert_eq!(&v[key], value, "{key}");
    }
    assert_eq!(v["output"], json!([]));
    assert_eq!(v["output_text"], "");
    // Allowed-tools choices echo in their own shape.
    let echo = echo_of(json!({"tools": [{"type": "function", "name": "f"}],
        "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]}}));
    let v = render(answer(vec![], StopReason::EndTurn), &echo);
    assert_eq!(
        v["tool_choice"],
        json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]})
    );
}

/// Output items sent back as input reach the provider as the blocks they came from: the
/// reasoning signature and redacted reasoning survive a stateless round trip.
#[test]
fn output_items_round_trip_as_input() {
    let blocks = vec![
        ContentBlock::Reasoning {
            text: "think".into(),
            signature: Some("sig".into()),
        },
        ContentBlock::RedactedReasoning(Bytes::from_static(b"\xff\x00")),
        ContentBlock::Text("Checking.".into()),
        ContentBlock::ToolUse {
            id: "tooluse_1".into(),
            name: "f".into(),
            input: json!({"a": [1, 2]}),
        },
    ];
    let v = render(
        answer(blocks.clone(), StopReason::ToolUse),
        &echo_of(json!({})),
    );
    let mut input = vec![json!({"role": "user", "content": "q"})];
    input.extend(v["output"].as_array().unwrap().iter().cloned());
    let body = json!({"model": "m", "input": input});
    let req = to_neutral(
        parse_request(body.to_string().as_bytes()).unwrap(),
        "u".into(),
    )
    .unwrap();
    assert_eq!(req.messages[1].content, blocks);
}

/// The validator must reject broken response objects, or the shape checks above prove nothing.
#[test]
fn validator_catches_response_violations() {
    let good = render(
        answer(
            vec![
                ContentBlock::Text("x".into()),
                ContentBlock::ToolUse {
                    id: "t".into(),
                    name: "f".into(),
                    input: json!({}),
                },
            ],
            StopReason::ToolUse,
        ),
        &echo_of(json!({"tools": [{"type": "function", "name": "f"}]})),
    );
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("/tools", None),
        ("/temperature", None),
        ("/error", None),
        ("/status", Some(json!("done"))),
        ("/usage", Some(Value::Null)),
        ("/usage/input_tokens_details/cache_write_tokens", None),
        ("/output/1/call_id", None),
        ("/output/0/content/0/annotations", None),
        ("/incomplete_details", Some(json!({"reason": "length"}))),
        ("/tools/0/strict", None),
    ];
    for (pointer, replacement) in cases {
        let v = crate::test_support::changed(&good, pointer, replacement);
        assert!(
            !crate::spec_check::violations("Response", &v).is_empty(),
            "{pointer} not caught"
        );
    }
}
