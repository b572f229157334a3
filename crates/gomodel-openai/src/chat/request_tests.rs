//! Table-driven tests for request parsing and `to_neutral`.

use super::*;
use crate::test_support::{assistant, b64, text_block as text, user, with_fields, JPEG, PDF, PNG};
use gomodel_core::chat::{
    ChatRequest, ContentBlock, FunctionTool, ImageFormat, ReasoningConfig, ReasoningEffort,
    ResponseFormat, SystemBlock, Tool, ToolChoice, ToolResultContent,
};
use gomodel_core::{ErrorKind, GatewayError};
use serde_json::{json, Value};

fn parse(body: Value) -> Result<ChatCompletionRequest, GatewayError> {
    parse_request(body.to_string().as_bytes())
}

/// A request body: `model` and one user message plus the given top-level fields.
fn body(fields: Value) -> Value {
    with_fields(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        fields,
    )
}

fn convert(body: Value) -> Result<ChatRequest, GatewayError> {
    to_neutral(parse(body)?, "upstream-id".to_owned())
}

fn ok(body: Value) -> ChatRequest {
    convert(body.clone()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

#[test]
fn minimal_request_maps_model_and_message() {
    let r = ok(body(json!({})));
    assert_eq!(r.model, "upstream-id");
    assert_eq!(r.messages, vec![user(vec![text("hi")])]);
    assert!(r.system.is_empty());
    assert_eq!(r.inference, Default::default());
    assert!(r.tools.is_empty() && r.tool_choice.is_none() && r.reasoning.is_none());
}

#[test]
fn every_refused_parameter_is_a_400_naming_it() {
    let image = |url: &str| {
        json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}]})
    };
    let file = |file: Value| json!({"messages": [{"role": "user", "content": [{"type": "file", "file": file}]}]});
    let tool_flow = |args: &str| {
        json!({"messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": args}}
            ]}
        ]})
    };
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    // (fields merged into a minimal body, expected param, message fragment)
    let cases: Vec<(Value, Option<&str>, &str)> = vec![
        (
            json!({"foo": 1}),
            None,
            "Unrecognized request argument supplied: foo",
        ),
        (
            json!({"b": 1, "a": 2}),
            None,
            "Unrecognized request arguments supplied: a, b",
        ),
        (json!({"n": 2}), Some("n"), "n=1"),
        (json!({"n": 0}), Some("n"), "minimum"),
        (
            json!({"logprobs": true}),
            Some("logprobs"),
            "log probabilities",
        ),
        (
            json!({"top_logprobs": 3}),
            Some("top_logprobs"),
            "log probabilities",
        ),
        (
            json!({"top_logprobs": 21}),
            Some("top_logprobs"),
            "between 0 and 20",
        ),
        (
            json!({"logit_bias": {"50256": -100}}),
            Some("logit_bias"),
            "not supported",
        ),
        (
            json!({"audio": {"voice": "alloy", "format": "wav"}}),
            Some("audio"),
            "Audio",
        ),
        (
            json!({"modalities": ["text", "audio"]}),
            Some("modalities"),
            "Audio",
        ),
        (
            json!({"modalities": ["video"]}),
            Some("modalities"),
            "'video'",
        ),
        (
            json!({"prediction": {"type": "content", "content": "x"}}),
            Some("prediction"),
            "Predicted",
        ),
        (
            json!({"functions": [{"name": "f"}]}),
            Some("functions"),
            "tools",
        ),
        (
            json!({"function_call": "auto"}),
            Some("function_call"),
            "tool_choice",
        ),
        (
            json!({"web_search_options": {}}),
            Some("web_search_options"),
            "Web search",
        ),
        (
            json!({"moderation": {"model": "x"}}),
            Some("moderation"),
            "guardrail",
        ),
        (
            json!({"stream_options": {"include_usage": true}}),
            Some("stream_options"),
            "only allowed when 'stream' is enabled",
        ),
        (
            json!({"stream": false, "stream_options": {"include_usage": true}}),
            Some("stream_options"),
            "only allowed",
        ),
        (json!({"messages": []}), Some("messages"), "empty array"),
        (
            json!({"messages": [{"role": "system", "content": "s"}]}),
            Some("messages"),
            "at least one user or assistant",
        ),
        (
            json!({"temperature": 2.5}),
            Some("temperature"),
            "out of range",
        ),
        (json!({"top_p": 1.5}), Some("top_p"), "out of range"),
        (
            json!({"frequency_penalty": -3}),
            Some("frequency_penalty"),
            "out of range",
        ),
        (
            json!({"presence_penalty": 3}),
            Some("presence_penalty"),
            "out of range",
        ),
        (json!({"max_tokens": 0}), Some("max_tokens"), "between 1"),
        (
            json!({"max_tokens": 10, "max_completion_tokens": -1}),
            Some("max_completion_tokens"),
            "between 1",
        ),
        (
            json!({"max_completion_tokens": 5_000_000_000_i64}),
            Some("max_completion_tokens"),
            "between 1",
        ),
        (
            json!({"stop": ["a", "b", "c", "d", "e"]}),
            Some("stop"),
            "maximum length 4",
        ),
        (
            tool_flow("{not json"),
            Some("messages[1].tool_calls[0].function.arguments"),
            "not valid JSON",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}]}),
            Some("messages[0].tool_calls[0].type"),
            "'custom'",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]}),
            Some("messages[0].tool_calls[0].function"),
            "Missing required parameter",
        ),
        (
            image("ftp://x/y.png"),
            Some("messages[0].content[1].image_url.url"),
            "expected an http(s) URL or a data: URL",
        ),
        (
            image("data:image/png;base64,@@@not-base64@@@"),
            Some("messages[0].content[1].image_url.url"),
            "could not be decoded",
        ),
        (
            image("data:image/png;base64,"),
            Some("messages[0].content[1].image_url.url"),
            "empty",
        ),
        (
            image(&format!("data:image/bmp;base64,{}", b64(b"BM...."))),
            Some("messages[0].content[1].image_url.url"),
            "Unsupported image type 'image/bmp'",
        ),
        (
            image(&format!(
                "data:application/octet-stream;base64,{}",
                b64(b"plain bytes")
            )),
            Some("messages[0].content[1].image_url.url"),
            "Unsupported image type",
        ),
        (
            image("data:image/png,rawbytes"),
            Some("messages[0].content[1].image_url.url"),
            "base64-encoded",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            Some("messages[0].content[0].image_url"),
            "Missing required parameter",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
            Some("messages[0].content[0]"),
            "Audio input is not supported",
        ),
        (
            file(json!({"file_id": "file-abc"})),
            Some("messages[0].content[0].file.file_id"),
            "file ids are not supported",
        ),
        (
            file(json!({"filename": "a.pdf"})),
            Some("messages[0].content[0].file.file_data"),
            "Missing required parameter",
        ),
        (
            file(json!({"file_data": format!("data:application/zip;base64,{}", b64(b"PK"))})),
            Some("messages[0].content[0].file.file_data"),
            "Unsupported file type 'application/zip'",
        ),
        (
            file(json!({"file_data": b64(b"no clue what this is")})),
            Some("messages[0].content[0].file.file_data"),
            "Cannot tell the document's format",
        ),
        (
            file(json!({"filename": "x.pdf", "file_data": "%%%"})),
            Some("messages[0].content[0].file.file_data"),
            "could not be decoded",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}),
            Some("messages[0].content[0].type"),
            "Invalid value: 'video'",
        ),
        (
            json!({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}, {"role": "user", "content": "x"}]}),
            Some("messages[0].content[0].type"),
            "Supported values are: 'text'",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            Some("messages[0].content[0].text"),
            "Missing required parameter",
        ),
        (
            json!({"messages": [{"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]}),
            Some("messages[0].content[0].type"),
            "'refusal'",
        ),
        (
            json!({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "r"}]}),
            Some("messages[1].tool_call_id"),
            "Missing required parameter: 'messages[1].tool_call_id'.",
        ),
        (
            json!({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "c", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
            Some("messages[1].content[0].type"),
            "'text'",
        ),
        (
            json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": null}]}),
            Some("messages[1].content"),
            "Missing required parameter: 'messages[1].content'.",
        ),
        (
            json!({"messages": [{"role": "user", "content": []}]}),
            Some("messages[0].content"),
            "empty array",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": [], "tool_calls": []}]}),
            Some("messages[1].content"),
            "empty array",
        ),
        (
            json!({"messages": [{"role": "developer", "content": []}, {"role": "user", "content": "x"}]}),
            Some("messages[0].content"),
            "empty array",
        ),
        (
            json!({"messages": [{"role": "user"}]}),
            Some("messages[0].content"),
            "Missing required parameter",
        ),
        (
            json!({"messages": [{"role": "system"}, {"role": "user", "content": "x"}]}),
            Some("messages[0].content"),
            "Missing",
        ),
        (
            json!({"messages": [{"role": "assistant", "content": "x", "audio": {"id": "a"}}]}),
            Some("messages[0].audio"),
            "Audio",
        ),
        (
            json!({"messages": [{"role": "assistant", "content": "x", "function_call": {"name": "f", "arguments": "{}"}}]}),
            Some("messages[0].function_call"),
            "tool_calls",
        ),
        (
            json!({"messages": [{"role": "function", "name": "f", "content": "x"}]}),
            Some("messages[0].role"),
            "'tool'",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "persistent"}}]}]}),
            Some("messages[0].content[0].cache_control.type"),
            "'ephemeral'",
        ),
        (
            json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]}),
            Some("tools[0].type"),
            "Custom tools",
        ),
        (
            json!({"tools": [{"type": "retrieval"}]}),
            Some("tools[0].type"),
            "'retrieval'",
        ),
        (
            json!({"tools": [{"type": "function"}]}),
            Some("tools[0].function"),
            "Missing required parameter",
        ),
        (
            json!({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}),
            Some("tools[0].function.name"),
            "pattern",
        ),
        (
            json!({"tools": [{"type": "function", "function": {"name": "x".repeat(65)}}]}),
            Some("tools[0].function.name"),
            "pattern",
        ),
        (
            json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]}),
            Some("tools[0].function.parameters"),
            "expected an object",
        ),
        (
            json!({"tools": [{"type": "function", "function": {"name": "f"}, "cache_control": {"type": "x"}}]}),
            Some("tools[0].cache_control.type"),
            "'ephemeral'",
        ),
        (
            json!({"tool_choice": "required"}),
            Some("tool_choice"),
            "only allowed when 'tools' are specified",
        ),
        (
            json!({"tool_choice": {"type": "function", "function": {"name": "f"}}}),
            Some("tool_choice"),
            "only allowed",
        ),
        (
            json!({"tools": tools, "tool_choice": "bogus"}),
            Some("tool_choice"),
            "'bogus'",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            Some("tool_choice.function.name"),
            "'g'",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "function"}}),
            Some("tool_choice.function"),
            "Missing",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "custom", "custom": {"name": "f"}}}),
            Some("tool_choice.type"),
            "Custom tools",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "allowed_tools"}}),
            Some("tool_choice.allowed_tools"),
            "Missing",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "sometimes", "tools": []}}}),
            Some("tool_choice.allowed_tools.mode"),
            "'sometimes'",
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "zz"}}]}}}),
            Some("tool_choice.allowed_tools.tools[0].function.name"),
            "'zz'",
        ),
        (
            json!({"response_format": {"type": "xml"}}),
            Some("response_format.type"),
            "'xml'",
        ),
        (
            json!({"response_format": {"type": "json_schema"}}),
            Some("response_format.json_schema"),
            "Missing",
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}),
            Some("response_format.json_schema.name"),
            "Missing",
        ),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": 3}}}),
            Some("response_format.json_schema.schema"),
            "expected an object",
        ),
        (
            json!({"reasoning_effort": "ultra"}),
            Some("reasoning_effort"),
            "'ultra'",
        ),
        (
            json!({"thinking": {"type": "enabled"}}),
            Some("thinking.budget_tokens"),
            "Missing",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 0}}),
            Some("thinking.budget_tokens"),
            "positive",
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            Some("thinking.type"),
            "'adaptive'",
        ),
        (
            json!({"bedrock": {"additional_model_request_fields": [1]}}),
            Some("bedrock.additional_model_request_fields"),
            "expected an object",
        ),
        (
            json!({"bedrock": {"guardrail_config": "g"}}),
            Some("bedrock.guardrail_config"),
            "expected an object",
        ),
    ];
    for (fields, param, fragment) in cases {
        let b = body(fields.clone());
        let err = match convert(b) {
            Ok(r) => panic!("{fields} was accepted: {r:?}"),
            Err(e) => e,
        };
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{fields}");
        assert_eq!(err.param.as_deref(), param, "{fields}: {}", err.message);
        assert!(
            err.message.contains(fragment),
            "{fields}: {:?} lacks {fragment:?}",
            err.message
        );
    }
}

#[test]
fn parse_errors_name_the_field() {
    let cases: Vec<(Value, Option<&str>, &str)> = vec![
        (
            json!({"messages": []}),
            Some("model"),
            "Missing required parameter: 'model'.",
        ),
        (
            json!({"model": "m"}),
            Some("messages"),
            "Missing required parameter: 'messages'.",
        ),
        (
            json!({"model": "m", "messages": [{"content": "x"}]}),
            Some("messages[0].role"),
            "Missing required parameter: 'messages[0].role'.",
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            Some("messages[0].role"),
            "unknown variant `robot`",
        ),
        (
            json!({"model": "m", "messages": [], "temperature": "hot"}),
            Some("temperature"),
            "Invalid type for 'temperature'",
        ),
        (
            json!({"model": 3, "messages": []}),
            Some("model"),
            "invalid type",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": 5}]}),
            Some("messages[0].content"),
            "a string or an array of content parts",
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
            Some("messages[0].tool_calls[0].id"),
            "Missing required parameter: 'messages[0].tool_calls[0].id'.",
        ),
        (
            json!({"model": "m", "messages": [], "bedrock": {"guardrail": {}}}),
            Some("bedrock.guardrail"),
            "unknown field `guardrail`",
        ),
        (
            json!({"model": "m", "messages": [], "stop": 7}),
            Some("stop"),
            "Invalid type for 'stop': invalid type: integer `7`, expected a string or an array of strings.",
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": 7}),
            Some("tool_choice"),
            "expected 'none', 'auto', 'required' or a tool choice object",
        ),
        (
            json!({"model": "m", "messages": [], "tool_choice": {"function": {"name": "f"}}}),
            Some("tool_choice.type"),
            "Missing required parameter: 'tool_choice.type'.",
        ),
        (json!([1, 2]), None, "Invalid request body"),
    ];
    for (b, param, fragment) in cases {
        let err = match parse(b.clone()) {
            Ok(r) => panic!("{b} parsed: {r:?}"),
            Err(e) => e,
        };
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{b}");
        assert_eq!(err.param.as_deref(), param, "{b}: {}", err.message);
        assert!(
            err.message.contains(fragment),
            "{b}: {:?} lacks {fragment:?}",
            err.message
        );
        assert!(!err.message.contains(" at line "), "{b}: {:?}", err.message);
    }
    for raw in [
        &b"{\"model\": "[..],
        b"not json",
        b"{\"model\":\"m\",\"messages\":[]} trailing",
        b"",
    ] {
        let err = match parse_request(raw) {
            Ok(r) => panic!("{raw:?} parsed: {r:?}"),
            Err(e) => e,
        };
        assert_eq!(err.param, None);
        assert!(
            err.message
                .starts_with("We could not parse the JSON body of your request."),
            "{}",
            err.message
        );
    }
}

#[test]
fn system_and_developer_messages_collect_in_order_and_turns_merge() {
    let r = ok(json!({"model": "m", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "u1"},
        {"role": "user", "content": [{"type": "text", "text": "u2"}]},
        {"role": "developer", "content": [{"type": "text", "text": "dev", "cache_control": {"type": "ephemeral"}}]},
        {"role": "assistant", "content": "a1"},
        {"role": "assistant", "content": [{"type": "text", "text": "a2"}, {"type": "refusal", "refusal": "no"}]},
        {"role": "system", "content": ""},
        {"role": "user", "content": "u3", "name": "bob"}
    ]}));
    assert_eq!(
        r.system,
        vec![
            SystemBlock::Text("sys".into()),
            SystemBlock::Text("dev".into()),
            SystemBlock::CachePoint
        ]
    );
    assert_eq!(
        r.messages,
        vec![
            user(vec![text("u1"), text("u2")]),
            assistant(vec![text("a1"), text("a2"), text("no")]),
            user(vec![text("u3")]),
        ]
    );
}

#[test]
fn tool_calls_and_results_map_to_blocks() {
    let r = ok(json!({"model": "m", "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "c2", "function": {"name": "now", "arguments": ""}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 20}"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "noon"}, {"type": "text", "text": "UTC", "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": "thanks"},
        {"role": "assistant", "content": null, "refusal": "I can't"}
    ]}));
    assert_eq!(
        r.messages,
        vec![
            user(vec![text("weather?")]),
            assistant(vec![
                ContentBlock::ToolUse {
                    id: "c1".into(),
                    name: "get".into(),
                    input: json!({"city": "Paris"})
                },
                ContentBlock::ToolUse {
                    id: "c2".into(),
                    name: "now".into(),
                    input: json!({})
                },
            ]),
            user(vec![
                ContentBlock::ToolResult {
                    tool_use_id: "c1".into(),
                    content: vec![ToolResultContent::Text("{\"temp\": 20}".into())],
                    is_error: false
                },
                ContentBlock::ToolResult {
                    tool_use_id: "c2".into(),
                    content: vec![
                        ToolResultContent::Text("noon".into()),
                        ToolResultContent::Text("UTC".into())
                    ],
                    is_error: false
                },
                ContentBlock::CachePoint,
                text("thanks"),
            ]),
            assistant(vec![text("I can't")]),
        ]
    );
}

#[test]
fn assistant_text_precedes_its_tool_calls_and_empty_turns_vanish() {
    let r = ok(json!({"model": "m", "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "let me check", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": " [1, 2] "}}
        ]}
    ]}));
    assert_eq!(
        r.messages,
        vec![
            user(vec![text("a"), text("b")]),
            assistant(vec![
                text("let me check"),
                ContentBlock::ToolUse {
                    id: "c".into(),
                    name: "f".into(),
                    input: json!([1, 2])
                }
            ]),
        ]
    );
}

#[test]
fn signed_reasoning_leads_the_assistant_turn_and_unsigned_is_dropped() {
    let call =
        json!([{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]);
    let tool_use = ContentBlock::ToolUse {
        id: "c".into(),
        name: "f".into(),
        input: json!({}),
    };
    let signed = ContentBlock::Reasoning {
        text: "think".into(),
        signature: Some("sig".into()),
    };
    let cases: Vec<(Value, Vec<ContentBlock>)> = vec![
        (
            json!({"reasoning_content": "think", "reasoning_signature": "sig", "content": "ok"}),
            vec![signed.clone(), text("ok"), tool_use.clone()],
        ),
        (
            json!({"reasoning_content": "think", "reasoning_signature": "sig", "content": null}),
            vec![signed, tool_use.clone()],
        ),
        (
            json!({"reasoning_content": "think", "content": null}),
            vec![tool_use.clone()],
        ),
        (
            json!({"reasoning_content": "think", "reasoning_signature": "", "content": null}),
            vec![tool_use],
        ),
    ];
    for (fields, want) in cases {
        let mut msg = json!({"role": "assistant", "tool_calls": call});
        for (k, v) in fields.as_object().unwrap() {
            msg[k] = v.clone();
        }
        let r = ok(json!({"model": "m", "messages": [{"role": "user", "content": "a"}, msg]}));
        assert_eq!(r.messages[1], assistant(want), "{fields}");
    }
    let err = convert(json!({"model": "m", "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "reasoning_signature": "sig", "tool_calls": call}
    ]}))
    .unwrap_err();
    assert_eq!(err.param.as_deref(), Some("messages[1].reasoning_content"));
}

#[test]
fn http_image_urls_are_left_for_the_provider_to_fetch() {
    for url in ["https://example.com/cat.png", "HTTP://example.com/a?b=c"] {
        let r = ok(
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": url, "detail": "low"}}
            ]}]}),
        );
        assert_eq!(
            r.messages[0].content[1],
            ContentBlock::ImageUrl {
                url: url.into(),
                param: "messages[0].content[1].image_url.url".into()
            }
        );
    }
}

#[test]
fn images_decode_with_sniffed_format_and_cache_points() {
    let cases: Vec<(String, ImageFormat, &[u8])> = vec![
        (
            format!("data:image/png;base64,{}", b64(PNG)),
            ImageFormat::Png,
            PNG,
        ),
        // Mislabelled: the bytes decide.
        (
            format!("data:image/png;base64,{}", b64(JPEG)),
            ImageFormat::Jpeg,
            JPEG,
        ),
        (
            format!("DATA:image/jpeg;base64,{}", b64(JPEG)),
            ImageFormat::Jpeg,
            JPEG,
        ),
        (
            format!("data:application/octet-stream;base64,{}", b64(PNG)),
            ImageFormat::Png,
            PNG,
        ),
        // Unknown bytes under a supported type keep the declared type.
        (
            format!("data:image/webp;base64,{}", b64(b"??")),
            ImageFormat::Webp,
            b"??",
        ),
        (
            format!(
                "data:image/gif;base64,{}",
                b64(b"GIF89a..").trim_end_matches('=')
            ),
            ImageFormat::Gif,
            b"GIF89a..",
        ),
        (
            format!(
                "data:image/png;base64,{}\n{}",
                &b64(PNG)[..8],
                &b64(PNG)[8..]
            ),
            ImageFormat::Png,
            PNG,
        ),
    ];
    for (url, format, bytes) in cases {
        for form in [json!({"url": url, "detail": "high"}), json!(url)] {
            let r = ok(
                json!({"model": "m", "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": form, "cache_control": {"type": "ephemeral", "ttl": "5m"}},
                    {"type": "text", "text": "what?", "prompt_cache_breakpoint": {"mode": "explicit"}}
                ]}]}),
            );
            assert_eq!(
                r.messages,
                vec![user(vec![
                    ContentBlock::Image {
                        format,
                        bytes: bytes::Bytes::copy_from_slice(bytes)
                    },
                    ContentBlock::CachePoint,
                    text("what?"),
                    ContentBlock::CachePoint,
                ])],
                "{url}"
            );
        }
    }
}

#[test]
fn files_become_documents_with_safe_unique_names() {
    let pdf_url = format!("data:application/pdf;base64,{}", b64(PDF));
    let r = ok(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"filename": "my_report.v2.pdf", "file_data": pdf_url}},
            {"type": "file", "file": {"filename": "my report v2.pdf", "file_data": b64(PDF)}},
            {"type": "file", "file": {"file_data": b64(PDF)}},
            {"type": "file", "file": {"filename": "notes.md", "file_data": b64(b"# hi")}},
            {"type": "file", "file": {"filename": "t", "file_data": format!("data:text/csv;base64,{}", b64(b"a,b"))}},
            {"type": "file", "file": {"filename": "pic.png", "file_data": format!("data:image/png;base64,{}", b64(PNG))}}
        ]}]}),
    );
    let doc = |format: &str, name: &str, bytes: &[u8]| ContentBlock::Document {
        format: format.into(),
        name: name.into(),
        bytes: bytes::Bytes::copy_from_slice(bytes),
    };
    assert_eq!(
        r.messages,
        vec![user(vec![
            doc("pdf", "my report v2", PDF),
            doc("pdf", "my report v2 (2)", PDF),
            doc("pdf", "document", PDF),
            doc("md", "notes", b"# hi"),
            doc("csv", "t", b"a,b"),
            ContentBlock::Image {
                format: ImageFormat::Png,
                bytes: bytes::Bytes::from_static(PNG)
            },
        ])]
    );
}

#[test]
fn document_names_follow_bedrock_rules() {
    let long = "a".repeat(300);
    let cases = [
        ("report.pdf", "report"),
        ("Q3  results (final) [v2].docx", "Q3 results (final) [v2]"),
        ("  __weird__name!!.txt", "weird name"),
        ("résumé.pdf", "r sum"),
        ("...", "document"),
        ("", "document"),
        ("archive.tar.gz", "archive tar"),
        ("no-extension", "no-extension"),
        ("version 1.50000", "version 1 50000"),
        (long.as_str(), &long[..200]),
    ];
    for (input, want) in cases {
        let got = media::document_name(input);
        assert_eq!(got, want, "{input}");
        assert!(got.len() <= 200);
    }
}

#[test]
fn inference_parameters_map() {
    let cases: Vec<(Value, gomodel_core::chat::InferenceParams)> = vec![
        (
            json!({"max_tokens": 10, "max_completion_tokens": 20, "temperature": 0.5, "top_p": 0.9,
                   "stop": "END", "seed": -7, "frequency_penalty": 0.5, "presence_penalty": -1,
                   "parallel_tool_calls": false}),
            gomodel_core::chat::InferenceParams {
                max_tokens: Some(20),
                temperature: Some(0.5),
                top_p: Some(0.9),
                stop: vec!["END".into()],
                seed: Some(-7),
                frequency_penalty: Some(0.5),
                presence_penalty: Some(-1.0),
                parallel_tool_calls: Some(false),
            },
        ),
        (
            json!({"max_tokens": 5, "stop": ["a", "", "b", "c"], "temperature": null, "n": 1, "logprobs": false, "top_logprobs": 0, "logit_bias": {}}),
            gomodel_core::chat::InferenceParams {
                max_tokens: Some(5),
                stop: vec!["a".into(), "b".into(), "c".into()],
                ..Default::default()
            },
        ),
        (
            json!({"stop": null, "max_tokens": null}),
            Default::default(),
        ),
        (json!({"stop": ""}), Default::default()),
    ];
    for (fields, want) in cases {
        assert_eq!(ok(body(fields.clone())).inference, want, "{fields}");
    }
}

#[test]
fn tools_and_tool_choice_map() {
    let tools = json!([
        {"type": "function", "function": {"name": "get", "description": "Get it", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}, "strict": true}},
        {"type": "function", "function": {"name": "now", "description": ""}, "cache_control": {"type": "ephemeral"}},
    ]);
    let get = Tool::Function(FunctionTool {
        name: "get".into(),
        description: Some("Get it".into()),
        parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
        strict: Some(true),
    });
    let now = Tool::Function(FunctionTool {
        name: "now".into(),
        description: None,
        parameters: json!({"type": "object", "properties": {}}),
        strict: None,
    });
    let all = vec![get.clone(), now.clone(), Tool::CachePoint];
    let cases: Vec<(Value, Vec<Tool>, Option<ToolChoice>)> = vec![
        (json!({"tools": tools}), all.clone(), None),
        (
            json!({"tools": tools, "tool_choice": "none"}),
            all.clone(),
            Some(ToolChoice::None),
        ),
        (
            json!({"tools": tools, "tool_choice": "auto"}),
            all.clone(),
            Some(ToolChoice::Auto),
        ),
        (
            json!({"tools": tools, "tool_choice": "required"}),
            all.clone(),
            Some(ToolChoice::Any),
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "function", "function": {"name": "now"}}}),
            all.clone(),
            Some(ToolChoice::Tool("now".into())),
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "now"}}]}}}),
            vec![now.clone(), Tool::CachePoint],
            Some(ToolChoice::Any),
        ),
        (
            json!({"tools": tools, "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "get"}}]}}}),
            vec![get.clone()],
            Some(ToolChoice::Auto),
        ),
        (json!({"tool_choice": "none"}), vec![], None),
        (json!({"tool_choice": "auto", "tools": []}), vec![], None),
        (json!({"tools": null, "tool_choice": null}), vec![], None),
    ];
    for (fields, want_tools, want_choice) in cases {
        let r = ok(body(fields.clone()));
        assert_eq!(r.tools, want_tools, "{fields}");
        assert_eq!(r.tool_choice, want_choice, "{fields}");
    }
}

#[test]
fn response_format_maps() {
    let cases: Vec<(Value, Option<ResponseFormat>)> = vec![
        (json!({"type": "text"}), Some(ResponseFormat::Text)),
        (
            json!({"type": "json_object"}),
            Some(ResponseFormat::JsonObject),
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "out", "description": "d", "schema": {"type": "object"}, "strict": true}}),
            Some(ResponseFormat::JsonSchema {
                name: "out".into(),
                description: Some("d".into()),
                schema: json!({"type": "object"}),
                strict: Some(true),
            }),
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "out"}}),
            Some(ResponseFormat::JsonSchema {
                name: "out".into(),
                description: None,
                schema: json!({"type": "object"}),
                strict: None,
            }),
        ),
        (Value::Null, None),
    ];
    for (format, want) in cases {
        let r = ok(body(json!({"response_format": format})));
        assert_eq!(r.response_format, want, "{format}");
    }
}

#[test]
fn reasoning_maps_effort_and_thinking_budget() {
    let cfg = |effort, budget_tokens| {
        Some(ReasoningConfig {
            effort,
            budget_tokens,
        })
    };
    let cases: Vec<(Value, Option<ReasoningConfig>)> = vec![
        (json!({}), None),
        (json!({"reasoning_effort": "none"}), None),
        (json!({"reasoning_effort": null}), None),
        (
            json!({"reasoning_effort": "minimal"}),
            cfg(Some(ReasoningEffort::Minimal), None),
        ),
        (
            json!({"reasoning_effort": "low"}),
            cfg(Some(ReasoningEffort::Low), None),
        ),
        (
            json!({"reasoning_effort": "medium"}),
            cfg(Some(ReasoningEffort::Medium), None),
        ),
        (
            json!({"reasoning_effort": "high"}),
            cfg(Some(ReasoningEffort::High), None),
        ),
        (
            json!({"reasoning_effort": "xhigh"}),
            cfg(Some(ReasoningEffort::High), None),
        ),
        (
            json!({"reasoning_effort": "max"}),
            cfg(Some(ReasoningEffort::High), None),
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
            cfg(None, Some(2048)),
        ),
        (
            json!({"reasoning_effort": "low", "thinking": {"type": "enabled", "budget_tokens": 4096}}),
            cfg(Some(ReasoningEffort::Low), Some(4096)),
        ),
        (
            json!({"reasoning_effort": "high", "thinking": {"type": "disabled"}}),
            None,
        ),
    ];
    for (fields, want) in cases {
        assert_eq!(ok(body(fields.clone())).reasoning, want, "{fields}");
    }
}

#[test]
fn metadata_tier_extras_and_ignored_fields() {
    let r = ok(body(json!({
        "user": "u-1",
        "safety_identifier": "s-1",
        "metadata": {"team": "x", "user": "explicit"},
        "service_tier": "priority",
        "store": false,
        "verbosity": "low",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "prompt_cache_options": {"ttl": "30m"},
        "stream": true,
        "stream_options": {"include_usage": true, "include_obfuscation": false},
        "bedrock": {
            "additional_model_request_fields": {"top_k": 5},
            "additional_model_response_field_paths": ["/stop_sequence"],
            "guardrail_config": {"guardrailIdentifier": "g", "guardrailVersion": "1"},
            "performance_config": {"latency": "optimized"}
        }
    })));
    let want: std::collections::BTreeMap<String, String> = [
        ("safety_identifier", "s-1"),
        ("team", "x"),
        ("user", "explicit"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(r.metadata, want);
    assert_eq!(r.service_tier.as_deref(), Some("priority"));
    assert_eq!(
        r.extra.additional_model_request_fields,
        Some(json!({"top_k": 5}))
    );
    assert_eq!(
        r.extra.additional_model_response_field_paths,
        vec!["/stop_sequence".to_owned()]
    );
    assert_eq!(
        r.extra.guardrail_config,
        Some(json!({"guardrailIdentifier": "g", "guardrailVersion": "1"}))
    );
    assert_eq!(
        r.extra.performance_config,
        Some(json!({"latency": "optimized"}))
    );

    let only_user = ok(body(json!({"user": "u-1"})));
    assert_eq!(
        only_user.metadata.get("user").map(String::as_str),
        Some("u-1")
    );
}

#[test]
fn stream_flags() {
    let cases = [
        (json!({}), false, false),
        (json!({"stream": false}), false, false),
        (json!({"stream": true}), true, false),
        (json!({"stream": true, "stream_options": null}), true, false),
        (
            json!({"stream": true, "stream_options": {"include_usage": false}}),
            true,
            false,
        ),
        (
            json!({"stream": true, "stream_options": {"include_usage": true}}),
            true,
            true,
        ),
    ];
    for (fields, stream, usage) in cases {
        let req = parse(body(fields.clone())).unwrap();
        assert_eq!(req.is_stream(), stream, "{fields}");
        assert_eq!(req.include_usage(), usage, "{fields}");
        assert!(to_neutral(req, "x".into()).is_ok(), "{fields}");
    }
}

#[test]
fn direct_deserialize_collects_unknown_keys() {
    let req: ChatCompletionRequest =
        serde_json::from_value(body(json!({"top_k": 3, "temperature": 1}))).unwrap();
    assert_eq!(req.unknown.get("top_k"), Some(&json!(3)));
    assert_eq!(req.temperature, Some(1.0));
    assert!(!req.unknown.contains_key("temperature"));
}
