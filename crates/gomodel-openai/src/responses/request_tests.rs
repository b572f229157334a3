//! Table-driven tests for request parsing and `to_neutral` (items → neutral messages).

use super::*;
use crate::test_support::{assistant, b64, text_block as text, user, with_fields, PDF, PNG};
use bytes::Bytes;
use gomodel_core::chat::{
    ChatRequest, ContentBlock, FunctionTool, ImageFormat, Message, ReasoningConfig,
    ReasoningEffort, ResponseFormat, SystemBlock, Tool, ToolChoice, ToolResultContent,
};
use gomodel_core::{ErrorKind, GatewayError};
use serde_json::{json, Value};

/// A request body: `model` and a string input plus the given top-level fields.
fn body(fields: Value) -> Value {
    with_fields(json!({"model": "m", "input": "hi"}), fields)
}

fn convert(body: Value) -> Result<ChatRequest, GatewayError> {
    to_neutral(
        parse_request(body.to_string().as_bytes())?,
        "upstream-id".to_owned(),
    )
}

fn ok(body: Value) -> ChatRequest {
    convert(body.clone()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

fn items(input: Value) -> Vec<Message> {
    ok(body(json!({ "input": input }))).messages
}

fn tool_use(id: &str, name: &str, input: Value) -> ContentBlock {
    ContentBlock::ToolUse {
        id: id.to_owned(),
        name: name.to_owned(),
        input,
    }
}

fn tool_result(id: &str, s: &str) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: id.to_owned(),
        content: vec![ToolResultContent::Text(s.to_owned())],
        is_error: false,
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true})
}

#[test]
fn string_input_and_instructions() {
    let req = ok(body(json!({"instructions": "Be brief."})));
    assert_eq!(req.model, "upstream-id");
    assert_eq!(req.system, vec![SystemBlock::Text("Be brief.".into())]);
    assert_eq!(req.messages, vec![user(vec![text("hi")])]);
}

#[test]
fn message_items_map_to_turns() {
    let png = format!("data:image/png;base64,{}", b64(PNG));
    let pdf = format!("data:application/pdf;base64,{}", b64(PDF));
    let cases: Vec<(&str, Value, Vec<SystemBlock>, Vec<Message>)> = vec![
        (
            "easy form without type",
            json!([{"role": "user", "content": "hello"}]),
            vec![],
            vec![user(vec![text("hello")])],
        ),
        (
            "system and developer items become system blocks in order",
            json!([
                {"type": "message", "role": "system", "content": "S1"},
                {"role": "user", "content": "q"},
                {"role": "developer", "content": [{"type": "input_text", "text": "D1"}]}
            ]),
            vec![
                SystemBlock::Text("S1".into()),
                SystemBlock::Text("D1".into()),
            ],
            vec![user(vec![text("q")])],
        ),
        (
            "text, image and file parts",
            json!([{"role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": png, "detail": "auto"},
                {"type": "input_file", "filename": "report.pdf", "file_data": pdf}
            ]}]),
            vec![],
            vec![user(vec![
                text("look"),
                ContentBlock::Image {
                    format: ImageFormat::Png,
                    bytes: Bytes::from_static(PNG),
                },
                ContentBlock::Document {
                    format: "pdf".into(),
                    name: "report".into(),
                    bytes: Bytes::from_static(PDF),
                },
            ])],
        ),
        (
            "cache breakpoints",
            json!([{"role": "user", "content": [
                {"type": "input_text", "text": "big", "prompt_cache_breakpoint": {"mode": "explicit"}},
                {"type": "input_text", "text": "q", "cache_control": {"type": "ephemeral"}}
            ]}]),
            vec![],
            vec![user(vec![
                text("big"),
                ContentBlock::CachePoint,
                text("q"),
                ContentBlock::CachePoint,
            ])],
        ),
        (
            "assistant output_text and refusal, consecutive same-role items merge",
            json!([
                {"role": "user", "content": "a"},
                {"type": "message", "role": "assistant", "status": "completed", "id": "msg_1",
                 "content": [{"type": "output_text", "text": "b", "annotations": [], "logprobs": []},
                             {"type": "refusal", "refusal": "no"}]},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": "c"},
                {"role": "user", "content": "d"}
            ]),
            vec![],
            vec![
                user(vec![text("a")]),
                assistant(vec![text("b"), text("no")]),
                user(vec![text("c"), text("d")]),
            ],
        ),
    ];
    for (name, input, system, messages) in cases {
        let req = ok(body(json!({ "input": input })));
        assert_eq!(req.system, system, "{name}");
        assert_eq!(req.messages, messages, "{name}");
    }
}

#[test]
fn tool_round_trip_items_group_into_turns() {
    let got = items(json!([
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "I should call"}],
         "encrypted_content": "sig-1"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
        {"type": "function_call", "call_id": "call_b", "name": "get_weather", "arguments": ""},
        {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_b",
         "output": [{"type": "input_text", "text": "21C"}, {"type": "input_image",
                     "image_url": format!("data:image/png;base64,{}", b64(PNG))}]},
        {"role": "user", "content": "thanks"}
    ]));
    assert_eq!(
        got,
        vec![
            user(vec![text("weather in Paris and Rome?")]),
            assistant(vec![
                ContentBlock::Reasoning {
                    text: "I should call".into(),
                    signature: Some("sig-1".into()),
                },
                text("Checking."),
                tool_use("call_a", "get_weather", json!({"city": "Paris"})),
                tool_use("call_b", "get_weather", json!({})),
            ]),
            user(vec![
                tool_result("call_a", "18C"),
                ContentBlock::ToolResult {
                    tool_use_id: "call_b".into(),
                    content: vec![
                        ToolResultContent::Text("21C".into()),
                        ToolResultContent::Image {
                            format: ImageFormat::Png,
                            bytes: Bytes::from_static(PNG)
                        },
                    ],
                    is_error: false,
                },
                text("thanks"),
            ]),
        ]
    );
}

#[test]
fn reasoning_items() {
    let cases: Vec<(&str, Value, Vec<ContentBlock>)> = vec![
        (
            "full reasoning text wins over the summary",
            json!({"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "short"}],
                   "content": [{"type": "reasoning_text", "text": "long thought"}], "encrypted_content": "sig"}),
            vec![ContentBlock::Reasoning {
                text: "long thought".into(),
                signature: Some("sig".into()),
            }],
        ),
        (
            "redacted reasoning round-trips as bytes",
            json!({"type": "reasoning", "id": "rs", "summary": [],
                   "encrypted_content": format!("gomodel-redacted:{}", b64(b"\x01\x02"))}),
            vec![ContentBlock::RedactedReasoning(Bytes::from_static(
                b"\x01\x02",
            ))],
        ),
        (
            "without encrypted_content the item is dropped",
            json!({"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": "x"}]}),
            vec![],
        ),
    ];
    for (name, item, want) in cases {
        let got = items(
            json!([{"role": "user", "content": "q"}, item, {"type": "function_call",
            "call_id": "c", "name": "f", "arguments": "{}"}]),
        );
        let mut expected = want;
        expected.push(tool_use("c", "f", json!({})));
        assert_eq!(got[1], assistant(expected), "{name}");
    }
}

#[test]
fn top_level_parameters() {
    let req = ok(body(json!({
        "max_output_tokens": 300, "temperature": 0.5, "top_p": 0.9, "parallel_tool_calls": false,
        "metadata": {"team": "a"}, "user": "u1", "service_tier": "flex", "store": true,
        "truncation": "auto", "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "high", "summary": "auto"}, "stream": true,
        "stream_options": {"include_obfuscation": false}, "prompt_cache_key": "k",
        "text": {"format": {"type": "json_schema", "name": "person", "strict": true,
                 "schema": {"type": "object", "properties": {"name": {"type": "string"}}}},
                 "verbosity": "low"}
    })));
    assert_eq!(req.inference.max_tokens, Some(300));
    assert_eq!(req.inference.temperature, Some(0.5));
    assert_eq!(req.inference.top_p, Some(0.9));
    assert_eq!(req.inference.parallel_tool_calls, Some(false));
    assert_eq!(req.metadata.get("team").map(String::as_str), Some("a"));
    assert_eq!(req.metadata.get("user").map(String::as_str), Some("u1"));
    assert_eq!(req.service_tier.as_deref(), Some("flex"));
    assert_eq!(
        req.reasoning,
        Some(ReasoningConfig {
            effort: Some(ReasoningEffort::High),
            budget_tokens: None
        })
    );
    assert_eq!(
        req.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "person".into(),
            description: None,
            schema: json!({"type": "object", "properties": {"name": {"type": "string"}}}),
            strict: Some(true),
        })
    );
    let formats = [
        (json!({"type": "text"}), ResponseFormat::Text),
        (json!({"type": "json_object"}), ResponseFormat::JsonObject),
    ];
    for (format, want) in formats {
        let req = ok(body(json!({"text": {"format": format}})));
        assert_eq!(req.response_format, Some(want));
    }
    // `none` effort means no reasoning configuration at all.
    assert_eq!(
        ok(body(json!({"reasoning": {"effort": "none"}}))).reasoning,
        None
    );
}

#[test]
fn function_tools_and_tool_choice() {
    let weather = Tool::Function(FunctionTool {
        name: "get_weather".into(),
        description: Some("Weather".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        strict: Some(true),
    });
    let time = Tool::Function(FunctionTool {
        name: "get_time".into(),
        description: None,
        parameters: json!({"type": "object", "properties": {}}),
        strict: None,
    });
    let tools =
        json!([weather_tool(), {"type": "function", "name": "get_time", "parameters": null}]);
    let cases: Vec<(Value, Option<ToolChoice>, Vec<Tool>)> = vec![
        (Value::Null, None, vec![weather.clone(), time.clone()]),
        (
            json!("auto"),
            Some(ToolChoice::Auto),
            vec![weather.clone(), time.clone()],
        ),
        (
            json!("required"),
            Some(ToolChoice::Any),
            vec![weather.clone(), time.clone()],
        ),
        (
            json!("none"),
            Some(ToolChoice::None),
            vec![weather.clone(), time.clone()],
        ),
        (
            json!({"type": "function", "name": "get_time"}),
            Some(ToolChoice::Tool("get_time".into())),
            vec![weather.clone(), time.clone()],
        ),
        (
            json!({"type": "allowed_tools", "mode": "required",
                   "tools": [{"type": "function", "name": "get_time"}]}),
            Some(ToolChoice::Any),
            vec![time.clone()],
        ),
    ];
    for (choice, want_choice, want_tools) in cases {
        let mut fields = json!({"tools": tools});
        if !choice.is_null() {
            fields["tool_choice"] = choice.clone();
        }
        let req = ok(body(fields));
        assert_eq!(req.tool_choice, want_choice, "{choice}");
        assert_eq!(req.tools, want_tools, "{choice}");
    }
}

/// Every refusal names the parameter (in the Responses spelling) and says why.
#[test]
fn errors_name_the_parameter() {
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("previous_response_id", body(json!({"previous_response_id": "resp_1"})), "previous_response_id",
         "previous_response_id requires stored responses, which are not enabled in this gateway yet"),
        ("previous_response_id without input", json!({"model": "m", "previous_response_id": "resp_1"}),
         "previous_response_id", "stored responses"),
        ("background", body(json!({"background": true})), "background", "Background responses"),
        ("conversation", body(json!({"conversation": "conv_1"})), "conversation", "stored conversations"),
        ("prompt", body(json!({"prompt": {"id": "pmpt_1"}})), "prompt", "prompt templates"),
        ("context management", body(json!({"context_management": [{"type": "compaction"}]})),
         "context_management", "compaction"),
        ("logprobs include", body(json!({"include": ["reasoning.encrypted_content", "message.output_text.logprobs"]})),
         "include[1]", "log probabilities"),
        ("other include", body(json!({"include": ["file_search_call.results"]})), "include[0]",
         "file_search_call.results"),
        ("top_logprobs", body(json!({"top_logprobs": 3})), "top_logprobs", "log probabilities"),
        ("truncation", body(json!({"truncation": "middle"})), "truncation", "'auto' and 'disabled'"),
        ("max_output_tokens", body(json!({"max_output_tokens": 0})), "max_output_tokens", "between 1"),
        ("temperature", body(json!({"temperature": 3})), "temperature", "out of range"),
        ("effort", body(json!({"reasoning": {"effort": "extreme"}})), "reasoning.effort", "'extreme'"),
        ("built-in web search", body(json!({"tools": [{"type": "web_search_preview"}]})), "tools[0].type",
         "built-in tool 'web_search_preview'"),
        ("built-in file search", body(json!({"tools": [weather_tool(), {"type": "file_search", "vector_store_ids": []}]})),
         "tools[1].type", "'file_search'"),
        ("code interpreter", body(json!({"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]})),
         "tools[0].type", "'code_interpreter'"),
        ("mcp", body(json!({"tools": [{"type": "mcp", "server_label": "x"}]})), "tools[0].type", "'mcp'"),
        ("custom tool", body(json!({"tools": [{"type": "custom", "name": "x"}]})), "tools[0].type", "Custom tools"),
        ("tool without name", body(json!({"tools": [{"type": "function", "parameters": {}}]})), "tools[0].name",
         "Missing required parameter"),
        ("bad tool name", body(json!({"tools": [{"type": "function", "name": "a b"}]})), "tools[0].name",
         "Invalid 'tools[0].name'"),
        ("bad tool schema", body(json!({"tools": [{"type": "function", "name": "f", "parameters": 5}]})),
         "tools[0].parameters", "expected an object"),
        ("tool choice unknown function", body(json!({"tools": [weather_tool()],
            "tool_choice": {"type": "function", "name": "nope"}})), "tool_choice.name", "'nope'"),
        ("tool choice built-in", body(json!({"tools": [weather_tool()], "tool_choice": {"type": "web_search_preview"}})),
         "tool_choice.type", "built-in tool 'web_search_preview'"),
        ("tool choice required without tools", body(json!({"tool_choice": "required"})), "tool_choice",
         "only allowed when 'tools' are specified"),
        ("allowed tools unknown", body(json!({"tools": [weather_tool()], "tool_choice": {"type": "allowed_tools",
            "mode": "auto", "tools": [{"type": "function", "name": "zzz"}]}})), "tool_choice.tools[0].name", "'zzz'"),
        ("json_schema without name", body(json!({"text": {"format": {"type": "json_schema", "schema": {}}}})),
         "text.format.name", "Missing required parameter: 'text.format.name'"),
        ("bad format type", body(json!({"text": {"format": {"type": "yaml"}}})), "text.format.type", "'yaml'"),
        ("missing input", json!({"model": "m"}), "input", "Missing required parameter: 'input'"),
        ("empty input", body(json!({"input": []})), "input", "empty array"),
        ("only system input", body(json!({"input": [{"role": "system", "content": "s"}]})), "input",
         "at least one user or assistant item"),
        ("remote image in tool output", body(json!({"input": [
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": [
                {"type": "input_image", "image_url": "https://example.com/cat.png"}]}]})),
         "input[1].output[0].image_url", "Remote image URLs are not supported in function_call_output"),
        ("image file id", body(json!({"input": [{"role": "user", "content": [
            {"type": "input_image", "file_id": "file-1", "detail": "auto"}]}]})),
         "input[0].content[0].file_id", "Uploaded file ids"),
        ("remote file", body(json!({"input": [{"role": "user", "content": [
            {"type": "input_file", "file_url": "https://example.com/a.pdf"}]}]})),
         "input[0].content[0].file_url", "remote file URLs"),
        ("bad part type", body(json!({"input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]})),
         "input[0].content[0].type", "'input_text', 'input_image', 'input_file'"),
        ("bad role", body(json!({"input": [{"role": "tool", "content": "x"}]})), "input[0].role", "'tool'"),
        ("item without type or role", body(json!({"input": [{"content": "x"}]})), "input[0].type", "Missing"),
        ("unsupported item", body(json!({"input": [{"type": "computer_call_output", "call_id": "c"}]})),
         "input[0].type", "'computer_call_output'"),
        ("item reference", body(json!({"input": [{"type": "item_reference", "id": "msg_1"}]})), "input[0]",
         "stored responses"),
        ("call without call_id", body(json!({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]})),
         "input[0].call_id", "Missing"),
        ("call with bad arguments", body(json!({"input": [{"role": "user", "content": "q"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}]})),
         "input[1].arguments", "Invalid 'input[1].arguments': not valid JSON"),
        ("output without output", body(json!({"input": [{"type": "function_call_output", "call_id": "c"}]})),
         "input[0].output", "Missing"),
        ("file in tool output", body(json!({"input": [{"type": "function_call_output", "call_id": "c",
            "output": [{"type": "input_file", "file_data": "x"}]}]})), "input[0].output[0].type", "Files"),
    ];
    for (name, body, param, fragment) in cases {
        let err = convert(body).expect_err(name);
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{name}: {err:?}");
        assert_eq!(err.param.as_deref(), Some(param), "{name}: {err:?}");
        assert!(err.message.contains(fragment), "{name}: {}", err.message);
    }
}

#[test]
fn parse_errors_name_the_json_path() {
    let cases: Vec<(&str, &str, Option<&str>, &str)> = vec![
        (
            "unknown key",
            r#"{"model":"m","input":"x","foo":1}"#,
            None,
            "Unrecognized request argument supplied: foo",
        ),
        (
            "missing model",
            r#"{"input":"x"}"#,
            Some("model"),
            "Missing required parameter: 'model'.",
        ),
        (
            "content type",
            r#"{"model":"m","input":[{"role":"user","content":5}]}"#,
            Some("input[0].content"),
            "Invalid type for 'input[0].content'",
        ),
        (
            "part without type",
            r#"{"model":"m","input":[{"role":"user","content":[{"text":"x"}]}]}"#,
            Some("input[0].content[0].type"),
            "Missing required parameter",
        ),
        (
            "input type",
            r#"{"model":"m","input":7}"#,
            Some("input"),
            "a string or an array of input items",
        ),
        (
            "temperature type",
            r#"{"model":"m","input":"x","temperature":"hot"}"#,
            Some("temperature"),
            "Invalid type for 'temperature'",
        ),
        (
            "syntax",
            r#"{"model":"m","input":"x""#,
            None,
            "We could not parse the JSON body",
        ),
    ];
    for (name, raw, param, fragment) in cases {
        let err = parse_request(raw.as_bytes())
            .and_then(|r| to_neutral(r, "u".into()))
            .expect_err(name);
        assert_eq!(err.status(), 400, "{name}");
        assert_eq!(err.param.as_deref(), param, "{name}: {err:?}");
        assert!(err.message.contains(fragment), "{name}: {}", err.message);
    }
}

#[test]
fn is_stream_and_null_optionals() {
    let req = parse_request(br#"{"model":"m","input":"x","stream":true,"tools":null,"tool_choice":null,"instructions":null,"previous_response_id":null,"conversation":null,"truncation":null}"#).unwrap();
    assert!(req.is_stream());
    let neutral = to_neutral(req, "u".into()).unwrap();
    assert!(neutral.tools.is_empty() && neutral.system.is_empty());
}
