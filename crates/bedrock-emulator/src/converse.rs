//! Converse semantics: the conversation rules Bedrock enforces beyond the service model, and the
//! deterministic answer (text, tool call, usage) that both Converse and ConverseStream send.

use crate::directives::{self, Directives};
use crate::errors::ApiError;
use crate::tool_input;
use serde_json::{json, Value};

/// Words `[[emu:words=N]]` cycles through.
const FILLER: &[&str] = &[
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
];

const MUST_START_WITH_USER: &str =
    "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
const MUST_ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";

/// One block of the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerBlock {
    /// Assistant text.
    Text(String),
    /// A tool call.
    ToolUse {
        /// `tooluse_...`.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
    },
    /// Extended thinking, signed so the model can verify it when it comes back.
    Reasoning {
        /// The visible reasoning.
        text: String,
        /// The signature of `text`.
        signature: String,
    },
}

/// The complete answer, before it is rendered as JSON or as stream events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// Content blocks in order.
    pub blocks: Vec<AnswerBlock>,
    /// `end_turn`, `tool_use`, `max_tokens` or `stop_sequence`.
    pub stop_reason: &'static str,
    /// Words in system + messages.
    pub input_tokens: u64,
    /// Words in the answer.
    pub output_tokens: u64,
    /// Prompt-prefix tokens read from the cache (not in `input_tokens`).
    pub cache_read_tokens: u64,
    /// Prompt-prefix tokens written to the cache (not in `input_tokens`).
    pub cache_write_tokens: u64,
    /// The `trace` member of the response (guardrail assessments).
    pub trace: Option<Value>,
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn content(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn role(message: &Value) -> &str {
    message
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn tool_names(body: &Value) -> Vec<&str> {
    body.pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t.pointer("/toolSpec/name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The conversation rules Bedrock checks after the shape validation passed.
pub fn check_semantics(body: &Value) -> Result<(), ApiError> {
    let msgs = messages(body);
    if msgs.is_empty() || role(&msgs[0]) != "user" {
        return Err(ApiError::validation(MUST_START_WITH_USER));
    }
    let has_tool_config = body.get("toolConfig").is_some_and(|v| !v.is_null());
    for (i, message) in msgs.iter().enumerate() {
        let r = role(message);
        if r == "system" || (i > 0 && role(&msgs[i - 1]) == r) {
            return Err(ApiError::validation(MUST_ALTERNATE));
        }
        let blocks = content(message);
        if blocks.is_empty() {
            return Err(ApiError::validation(format!(
                "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )));
        }
        for (j, block) in blocks.iter().enumerate() {
            if let Some(text) = block.get("text").and_then(Value::as_str) {
                if text.trim().is_empty() {
                    return Err(ApiError::validation(format!(
                        "The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."
                    )));
                }
            }
            if (block.get("toolUse").is_some() || block.get("toolResult").is_some())
                && !has_tool_config
            {
                return Err(ApiError::validation(
                    "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
                ));
            }
        }
        // toolResult blocks must answer the previous assistant turn's toolUse blocks.
        let results: Vec<&str> = blocks
            .iter()
            .filter_map(|b| b.pointer("/toolResult/toolUseId").and_then(Value::as_str))
            .collect();
        let previous_uses: Vec<&str> = if i > 0 {
            content(&msgs[i - 1])
                .iter()
                .filter_map(|b| b.pointer("/toolUse/toolUseId").and_then(Value::as_str))
                .collect()
        } else {
            Vec::new()
        };
        if r == "user" && results.len() > previous_uses.len() {
            return Err(ApiError::validation(format!(
                "The number of toolResult blocks at messages.{i}.content exceeds the number of toolUse blocks of previous turn."
            )));
        }
        if r == "user" && !previous_uses.is_empty() {
            let missing: Vec<&str> = previous_uses
                .iter()
                .copied()
                .filter(|id| !results.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(ApiError::validation(format!(
                    "Expected toolResult blocks at messages.{i}.content for the following Ids: {}",
                    missing.join(", ")
                )));
            }
        }
    }
    // An assistant turn that calls tools and is followed by nothing is fine (the caller is about
    // to answer), but the last assistant turn's calls must be answered if a user turn follows;
    // that case is covered above.
    let names = tool_names(body);
    let mut seen = std::collections::HashSet::new();
    for name in &names {
        if !seen.insert(*name) {
            return Err(ApiError::validation(format!(
                "The toolConfig.tools list contains more than one tool named {name}. Tool names must be unique."
            )));
        }
    }
    if let Some(name) = body
        .pointer("/toolConfig/toolChoice/tool/name")
        .and_then(Value::as_str)
    {
        if !names.contains(&name) {
            return Err(ApiError::validation(format!(
                "The tool {name} specified in toolChoice is not defined in toolConfig.tools."
            )));
        }
    }
    Ok(())
}

/// Whitespace-separated words in `text`.
pub fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Words in the system and message texts of `body`.
pub fn prompt_words(body: &Value) -> u64 {
    let mut n = 0;
    if let Some(system) = body.get("system").and_then(Value::as_array) {
        for block in system {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                n += count_words(t);
            }
        }
    }
    for message in messages(body) {
        for block in content(message) {
            if let Some(t) = block.get("text").and_then(Value::as_str) {
                n += count_words(t);
            }
            if let Some(input) = block.pointer("/toolUse/input") {
                n += count_words(&input.to_string()).max(1);
            }
            // Media count by size, as the models bill them: images about one token per 750
            // bytes, documents one per 4 bytes of their text.
            for (pointer, bytes_per_token) in
                [("/image/source/bytes", 750), ("/document/source/bytes", 4)]
            {
                if let Some(data) = block.pointer(pointer).and_then(Value::as_str) {
                    let bytes = data.len() as u64 * 3 / 4;
                    n += (bytes / bytes_per_token).max(1);
                }
            }
            if let Some(results) = block
                .pointer("/toolResult/content")
                .and_then(Value::as_array)
            {
                for r in results {
                    if let Some(t) = r.get("text").and_then(Value::as_str) {
                        n += count_words(t);
                    }
                    if let Some(j) = r.get("json") {
                        n += count_words(&j.to_string()).max(1);
                    }
                }
            }
        }
    }
    n
}

/// Text of the last user message's text blocks, joined by spaces.
pub fn last_user_text(body: &Value) -> String {
    messages(body)
        .iter()
        .rev()
        .find(|m| role(m) == "user")
        .map(|m| {
            content(m)
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The directives in the last user message.
pub fn directives(body: &Value) -> Result<Directives, ApiError> {
    directives::parse(&last_user_text(body)).map_err(ApiError::validation)
}

fn filler_words(n: usize) -> String {
    (0..n)
        .map(|i| FILLER[i % FILLER.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// `tooluse_` + 22 URL-safe characters, like Bedrock's ids.
pub fn new_tool_use_id() -> String {
    use base64::Engine as _;
    let id = uuid::Uuid::new_v4();
    format!(
        "tooluse_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
    )
}

fn tool_call(body: &Value, name: &str) -> AnswerBlock {
    let schema = body
        .pointer("/toolConfig/tools")
        .and_then(Value::as_array)
        .and_then(|tools| {
            tools
                .iter()
                .find(|t| t.pointer("/toolSpec/name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|t| t.pointer("/toolSpec/inputSchema/json"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    AnswerBlock::ToolUse {
        id: new_tool_use_id(),
        name: name.to_string(),
        input: tool_input::synthesize(&schema),
    }
}

/// Text quoting the toolResult blocks of the last message, if it is a user turn carrying some.
fn quote_tool_results(body: &Value) -> Option<String> {
    let last = messages(body).last().filter(|m| role(m) == "user")?;
    let mut quoted = Vec::new();
    for block in content(last) {
        let Some(result) = block.get("toolResult") else {
            continue;
        };
        let parts: Vec<String> = result
            .get("content")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|c| {
                        if let Some(t) = c.get("text").and_then(Value::as_str) {
                            t.to_string()
                        } else if let Some(j) = c.get("json") {
                            j.to_string()
                        } else if c.get("image").is_some() {
                            "[image]".to_string()
                        } else if c.get("document").is_some() {
                            "[document]".to_string()
                        } else {
                            "[content]".to_string()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let label = if result.get("status").and_then(Value::as_str) == Some("error") {
            "Tool error"
        } else {
            "Tool result"
        };
        quoted.push(format!("{label}: {}", parts.join(" ")));
    }
    if quoted.is_empty() {
        None
    } else {
        Some(quoted.join("\n"))
    }
}

/// Byte index just after the `n`th word of `text`, if it has more than `n` words.
fn cut_after_words(text: &str, n: usize) -> Option<usize> {
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                words += 1;
                in_word = false;
                if words == n {
                    // Cut only if another word follows.
                    return text[i..].split_whitespace().next().map(|_| i);
                }
            }
        } else {
            if !in_word && words == n {
                return Some(i);
            }
            in_word = true;
        }
    }
    None
}

/// Applies `stopSequences` then `maxTokens` (in words) to a text answer.
pub fn limit_text(
    text: &str,
    max_tokens: Option<u64>,
    stop_sequences: &[&str],
) -> (String, &'static str) {
    let mut out = text;
    let mut reason = "end_turn";
    if let Some(at) = stop_sequences
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s))
        .min()
    {
        out = text[..at].trim_end();
        reason = "stop_sequence";
    }
    if let Some(max) = max_tokens {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        if let Some(cut) = cut_after_words(out, max) {
            out = out[..cut].trim_end();
            reason = "max_tokens";
        }
    }
    (out.to_string(), reason)
}

/// The answer to a (validated) Converse body, given its directives.
pub fn answer(body: &Value, d: &Directives) -> Answer {
    let input_tokens = prompt_words(body);
    let forced_tool = match body.pointer("/toolConfig/toolChoice") {
        Some(choice) if choice.get("any").is_some() => {
            tool_names(body).first().map(|n| (*n).to_string())
        }
        Some(choice) => choice
            .pointer("/tool/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        None => None,
    };
    let max_tokens = body
        .pointer("/inferenceConfig/maxTokens")
        .and_then(Value::as_u64);
    let stops: Vec<&str> = body
        .pointer("/inferenceConfig/stopSequences")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    let mut blocks = Vec::new();
    let stop_reason;
    let tool_results = quote_tool_results(body);
    let tool = match (&d.tool, &tool_results) {
        (Some(name), _) => Some(name.clone()),
        (None, None) => forced_tool,
        (None, Some(_)) => None,
    };
    // A forced tool with a JSON `reply`: the reply is the call's input (how tests steer the
    // forced-tool form of structured output).
    let forced_input = match (&d.tool, &d.reply) {
        (None, Some(reply)) => serde_json::from_str::<Value>(reply)
            .ok()
            .filter(Value::is_object),
        _ => None,
    };
    if let Some(name) = tool {
        let mut call = tool_call(body, &name);
        match (forced_input, &mut call) {
            (Some(input), AnswerBlock::ToolUse { input: slot, .. }) => *slot = input,
            _ => {
                if let Some(reply) = &d.reply {
                    blocks.push(AnswerBlock::Text(reply.clone()));
                }
            }
        }
        blocks.push(call);
        stop_reason = "tool_use";
    } else {
        let text = if let Some(reply) = &d.reply {
            reply.clone()
        } else if let Some(n) = d.words {
            filler_words(n)
        } else if let Some(quoted) = tool_results {
            quoted
        } else {
            format!("You said: {}", d.stripped)
        };
        let (text, reason) = limit_text(&text, max_tokens, &stops);
        blocks.push(AnswerBlock::Text(text));
        stop_reason = reason;
    }
    let output_tokens = blocks
        .iter()
        .map(|b| match b {
            AnswerBlock::Text(t) => count_words(t),
            AnswerBlock::ToolUse { input, .. } => count_words(&input.to_string()).max(1),
            AnswerBlock::Reasoning { text, .. } => count_words(text),
        })
        .sum();
    Answer {
        blocks,
        stop_reason,
        input_tokens,
        output_tokens,
        ..Answer::default()
    }
}

/// The `content` array of the assistant message.
pub fn content_json(answer: &Answer) -> Value {
    Value::Array(
        answer
            .blocks
            .iter()
            .map(|b| match b {
                AnswerBlock::Text(t) => json!({"text": t}),
                AnswerBlock::ToolUse { id, name, input } => {
                    json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})
                }
                AnswerBlock::Reasoning { text, signature } => {
                    json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
                }
            })
            .collect(),
    )
}

/// `TokenUsage` JSON.
pub fn usage_json(answer: &Answer) -> Value {
    let cached = answer.cache_read_tokens + answer.cache_write_tokens;
    let mut usage = json!({
        "inputTokens": answer.input_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.input_tokens + answer.output_tokens + cached,
    });
    // Bedrock reports the cache members only for requests with cache points.
    if cached > 0 {
        usage["cacheReadInputTokens"] = json!(answer.cache_read_tokens);
        usage["cacheWriteInputTokens"] = json!(answer.cache_write_tokens);
    }
    usage
}

/// The ConverseResponse body.
pub fn response_json(answer: &Answer, latency_ms: u64) -> Value {
    let mut response = json!({
        "output": {"message": {"role": "assistant", "content": content_json(answer)}},
        "stopReason": answer.stop_reason,
        "usage": usage_json(answer),
        "metrics": {"latencyMs": latency_ms},
    });
    if let Some(trace) = &answer.trace {
        response["trace"] = trace.clone();
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"text": text}]})
    }

    fn weather_tools() -> Value {
        json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city", "days"]
        }}}}]})
    }

    #[test]
    fn semantics_table() {
        let tool_turns = json!([
            {"role": "user", "content": [{"text": "weather?"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
        ]);
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("ok", json!({"messages": [user("hi")]}), None),
            (
                "no messages",
                json!({}),
                Some("must start with a user message"),
            ),
            (
                "empty messages",
                json!({"messages": []}),
                Some("must start with a user message"),
            ),
            (
                "assistant first",
                json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}),
                Some("must start with a user message"),
            ),
            (
                "two users",
                json!({"messages": [user("a"), user("b")]}),
                Some("must alternate between user and assistant"),
            ),
            (
                "system role",
                json!({"messages": [user("a"), {"role": "system", "content": [{"text": "x"}]}]}),
                Some("must alternate"),
            ),
            (
                "empty content",
                json!({"messages": [{"role": "user", "content": []}]}),
                Some("The content field in the Message object at messages.0 is empty"),
            ),
            (
                "blank text",
                json!({"messages": [user("  ")]}),
                Some("The text field in the ContentBlock object at messages.0.content.0 is blank"),
            ),
            (
                "tool blocks without toolConfig",
                json!({"messages": tool_turns}),
                Some("The toolConfig field must be defined"),
            ),
            (
                "unanswered tool use",
                json!({"messages": [tool_turns[0], tool_turns[1], user("and?")], "toolConfig": weather_tools()}),
                Some("Expected toolResult blocks at messages.2.content for the following Ids: t1"),
            ),
            (
                "answered tool use",
                json!({"messages": [tool_turns[0], tool_turns[1], {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}}]}], "toolConfig": weather_tools()}),
                None,
            ),
            (
                "tool result without use",
                json!({"messages": [{"role": "user", "content": [{"toolResult": {"toolUseId": "t9", "content": [{"text": "x"}]}}]}], "toolConfig": weather_tools()}),
                Some("exceeds the number of toolUse blocks of previous turn"),
            ),
            (
                "toolChoice names unknown tool",
                json!({"messages": [user("x")], "toolConfig": {"tools": weather_tools()["tools"], "toolChoice": {"tool": {"name": "nope"}}}}),
                Some("The tool nope specified in toolChoice"),
            ),
            (
                "duplicate tools",
                json!({"messages": [user("x")], "toolConfig": {"tools": [weather_tools()["tools"][0], weather_tools()["tools"][0]]}}),
                Some("Tool names must be unique"),
            ),
        ];
        for (name, body, expected) in cases {
            match (check_semantics(&body), expected) {
                (Ok(()), None) => {}
                (Err(e), Some(fragment)) => {
                    assert!(e.message.contains(fragment), "{name}: {}", e.message);
                    assert_eq!(e.code, "ValidationException");
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    fn run(body: Value) -> Answer {
        let d = directives(&body).unwrap();
        answer(&body, &d)
    }

    #[test]
    fn answers_table() {
        let a =
            run(json!({"system": [{"text": "be brief"}], "messages": [user("hello there world")]}));
        assert_eq!(
            a.blocks,
            vec![AnswerBlock::Text("You said: hello there world".into())]
        );
        assert_eq!(
            (a.input_tokens, a.output_tokens, a.stop_reason),
            (5, 5, "end_turn")
        );

        let a = run(json!({"messages": [user("[[emu:reply=Exactly this.]]")]}));
        assert_eq!(a.blocks, vec![AnswerBlock::Text("Exactly this.".into())]);

        let a = run(json!({"messages": [user("[[emu:words=7]]")]}));
        assert_eq!(a.output_tokens, 7);

        let a = run(
            json!({"messages": [user("[[emu:words=10]]")], "inferenceConfig": {"maxTokens": 3}}),
        );
        assert_eq!(
            a.blocks,
            vec![AnswerBlock::Text("lorem ipsum dolor".into())]
        );
        assert_eq!((a.stop_reason, a.output_tokens), ("max_tokens", 3));

        let a = run(
            json!({"messages": [user("[[emu:words=3]]")], "inferenceConfig": {"maxTokens": 3}}),
        );
        assert_eq!(a.stop_reason, "end_turn");

        let a = run(
            json!({"messages": [user("[[emu:reply=one two STOP three]]")], "inferenceConfig": {"stopSequences": ["STOP", "two"]}}),
        );
        assert_eq!(a.blocks, vec![AnswerBlock::Text("one".into())]);
        assert_eq!(a.stop_reason, "stop_sequence");
    }

    #[test]
    fn tool_answers() {
        let a = run(
            json!({"messages": [user("[[emu:tool=get_weather]] weather in Paris?")], "toolConfig": weather_tools()}),
        );
        assert_eq!(a.stop_reason, "tool_use");
        let AnswerBlock::ToolUse { id, name, input } = &a.blocks[0] else {
            panic!("{a:?}")
        };
        assert!(id.starts_with("tooluse_") && id.len() == 30, "{id}");
        assert_eq!(name, "get_weather");
        assert_eq!(input, &json!({"city": "example", "days": 1}));

        let mut tools = weather_tools();
        tools["toolChoice"] = json!({"any": {}});
        let a = run(json!({"messages": [user("x")], "toolConfig": tools}));
        assert_eq!(a.stop_reason, "tool_use");

        tools["toolChoice"] = json!({"auto": {}});
        let a = run(json!({"messages": [user("x")], "toolConfig": tools}));
        assert_eq!(a.stop_reason, "end_turn");

        let a = run(
            json!({"messages": [user("[[emu:tool=get_weather]][[emu:reply=Let me check.]]")], "toolConfig": weather_tools()}),
        );
        assert_eq!(a.blocks[0], AnswerBlock::Text("Let me check.".into()));
        assert!(matches!(a.blocks[1], AnswerBlock::ToolUse { .. }));

        let a = run(json!({"messages": [
            user("weather?"),
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "18C and sunny"}, {"json": {"uv": 3}}]}}]}
        ], "toolConfig": weather_tools()}));
        assert_eq!(
            a.blocks,
            vec![AnswerBlock::Text(
                "Tool result: 18C and sunny {\"uv\":3}".into()
            )]
        );
    }

    #[test]
    fn cutting_table() {
        let cases = vec![
            ("a b c d", Some(2), vec![], ("a b", "max_tokens")),
            ("a b", Some(2), vec![], ("a b", "end_turn")),
            ("a  b   c", Some(1), vec![], ("a", "max_tokens")),
            ("a b c", Some(0), vec![], ("", "max_tokens")),
            (
                "hello world. bye",
                None,
                vec!["."],
                ("hello world", "stop_sequence"),
            ),
            ("x y z", None, vec!["q"], ("x y z", "end_turn")),
            (
                "one two three four",
                Some(2),
                vec!["four"],
                ("one two", "max_tokens"),
            ),
            (
                "one two three four",
                Some(5),
                vec!["three"],
                ("one two", "stop_sequence"),
            ),
        ];
        for (text, max, stops, (want, reason)) in cases {
            assert_eq!(
                limit_text(text, max, &stops),
                (want.to_string(), reason),
                "{text}"
            );
        }
    }
}
