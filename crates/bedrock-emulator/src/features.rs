//! The richer Converse behaviours layered on the basic answer: extended thinking (signed
//! reasoning that must come back intact, as Anthropic checks), prompt-cache usage, guardrail
//! interventions and `outputConfig` structured output.

use crate::converse::{self, Answer, AnswerBlock};
use crate::directives::Directives;
use crate::errors::ApiError;
use crate::tool_input;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Mutex;

/// What Bedrock answers when a guardrail with the default blocked messaging intervenes.
pub const GUARDRAIL_BLOCKED_MESSAGE: &str = "Sorry, the model cannot answer this question.";

/// Keys the signatures: a client cannot forge one without it, so a passing check proves the
/// gateway returned the emulator's own signature unchanged.
const SIGNATURE_KEY: &[u8] = b"bedrock-emulator-thinking-v1";

/// Anthropic's error when a thinking turn calls tools without its thinking block first.
const THINKING_FIRST: &str = "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking";

/// Prompt prefixes seen before, keyed by digest: the first sight of a prefix writes the cache,
/// later ones read it.
#[derive(Debug, Default)]
pub struct PromptCache {
    seen: Mutex<HashSet<[u8; 32]>>,
}

impl PromptCache {
    /// Records `key`; true when it was already there.
    fn hit(&self, key: [u8; 32]) -> bool {
        // A poisoned lock only means another request panicked mid-insert; the set is still valid.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !seen.insert(key)
    }
}

/// The emulator's signature of a reasoning text.
pub fn sign(text: &str) -> String {
    use base64::Engine as _;
    let mut h = Sha256::new();
    h.update(SIGNATURE_KEY);
    h.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Whether the request turns on Claude extended thinking.
fn thinking_enabled(body: &Value) -> bool {
    matches!(
        body.pointer("/additionalModelRequestFields/thinking/type")
            .and_then(Value::as_str),
        Some("enabled" | "adaptive")
    )
}

/// Anthropic's checks on reasoning sent back: every signed block must carry the signature the
/// model gave it, and with thinking on, the last assistant turn that called tools must start
/// with its thinking.
pub fn check_reasoning(body: &Value) -> Result<(), ApiError> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut last_tool_turn = None;
    for (i, message) in messages.iter().enumerate() {
        if message.get("role").and_then(Value::as_str) != Some("assistant") {
            continue;
        }
        let blocks = message
            .get("content")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, block) in blocks.iter().enumerate() {
            let Some(reasoning) = block.pointer("/reasoningContent/reasoningText") else {
                continue;
            };
            let text = reasoning
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let signature = reasoning.get("signature").and_then(Value::as_str);
            if signature != Some(sign(text).as_str()) {
                return Err(ApiError::validation(format!(
                    "messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
                )));
            }
        }
        if blocks.iter().any(|b| b.get("toolUse").is_some()) {
            last_tool_turn = Some((i, blocks));
        }
    }
    if let Some((i, blocks)) = last_tool_turn {
        let starts_with_thinking = blocks
            .first()
            .is_some_and(|b| b.get("reasoningContent").is_some());
        if thinking_enabled(body) && !starts_with_thinking {
            return Err(ApiError::validation(format!(
                "messages.{i}.content.0.type: {THINKING_FIRST}"
            )));
        }
    }
    Ok(())
}

/// Applies structured output, thinking, guardrails and cache usage to the basic answer.
pub fn enrich(body: &Value, d: &Directives, answer: &mut Answer, cache: &PromptCache) {
    if d.reply.is_none() && d.words.is_none() {
        structured_output(body, answer);
    }
    if d.guardrail && intervene(body, answer) {
        // The guardrail blocked the input, so the model never ran: no thinking, no cache.
        return;
    }
    if thinking_enabled(body) {
        let subject = if d.stripped.is_empty() {
            "the tool results"
        } else {
            d.stripped.as_str()
        };
        let text = format!("Let me think about {subject}.");
        answer.output_tokens += converse::count_words(&text);
        let signature = sign(&text);
        answer
            .blocks
            .insert(0, AnswerBlock::Reasoning { text, signature });
    }
    cache_usage(body, answer, cache);
}

/// `outputConfig.textFormat` json_schema: the answer is JSON matching the schema (unless the
/// answer is a tool call; the caller skips it when a directive fixed the text).
fn structured_output(body: &Value, answer: &mut Answer) {
    let Some(schema) = body
        .pointer("/outputConfig/textFormat/structure/jsonSchema/schema")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return;
    };
    if answer.stop_reason != "end_turn" || answer.blocks.len() != 1 {
        return;
    }
    let text = tool_input::synthesize(&schema).to_string();
    answer.output_tokens = converse::count_words(&text).max(1);
    answer.blocks = vec![AnswerBlock::Text(text)];
}

/// A configured guardrail blocks the input: Bedrock's blocked message, `guardrail_intervened`,
/// and the trace when the request enabled it. Without a guardrail there is nothing to intervene.
fn intervene(body: &Value, answer: &mut Answer) -> bool {
    let Some(config) = body.get("guardrailConfig").filter(|v| v.is_object()) else {
        return false;
    };
    let id = config
        .get("guardrailIdentifier")
        .and_then(Value::as_str)
        .unwrap_or_default();
    answer.blocks = vec![AnswerBlock::Text(GUARDRAIL_BLOCKED_MESSAGE.to_owned())];
    answer.stop_reason = "guardrail_intervened";
    answer.output_tokens = 0;
    if config.get("trace").and_then(Value::as_str) == Some("enabled") {
        answer.trace = Some(json!({"guardrail": {"inputAssessment": {id: {
            "contentPolicy": {"filters": [
                {"type": "VIOLENCE", "confidence": "HIGH", "filterStrength": "HIGH", "action": "BLOCKED", "detected": true}
            ]}
        }}}}));
    }
    true
}

/// The part of the prompt before the last `cachePoint` (tools, then system, then messages, as
/// Bedrock orders the prefix) and its token count, or `None` without a cache point.
fn cached_prefix(body: &Value) -> Option<(Value, u64)> {
    let is_point = |b: &Value| b.get("cachePoint").is_some();
    let list = |ptr: &str| {
        body.pointer(ptr)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let tools = list("/toolConfig/tools");
    let system = list("/system");
    let messages = list("/messages");
    let cut = |items: &[Value]| items.iter().rposition(is_point);
    let last_message = messages.iter().enumerate().rev().find_map(|(i, m)| {
        m.get("content")
            .and_then(Value::as_array)
            .and_then(|c| cut(c))
            .map(|j| (i, j))
    });
    let prefix = if let Some((i, j)) = last_message {
        let mut kept: Vec<Value> = messages[..=i].to_vec();
        if let Some(content) = kept
            .last_mut()
            .and_then(|m| m.get_mut("content"))
            .and_then(Value::as_array_mut)
        {
            content.truncate(j + 1);
        }
        json!({"tools": tools, "system": system, "messages": kept})
    } else if let Some(j) = cut(&system) {
        json!({"tools": tools, "system": &system[..=j], "messages": []})
    } else {
        let j = cut(&tools)?;
        json!({"tools": &tools[..=j], "system": [], "messages": []})
    };
    let words = converse::prompt_words(&prefix).max(1);
    Some((prefix, words))
}

/// Cache usage: the prefix tokens move out of `inputTokens` into a cache write (first sight) or
/// a cache read (repeat), as Bedrock reports them.
fn cache_usage(body: &Value, answer: &mut Answer, cache: &PromptCache) {
    let Some((prefix, tokens)) = cached_prefix(body) else {
        return;
    };
    let key: [u8; 32] = Sha256::digest(prefix.to_string().as_bytes()).into();
    let tokens = tokens.min(answer.input_tokens);
    answer.input_tokens -= tokens;
    if cache.hit(key) {
        answer.cache_read_tokens = tokens;
    } else {
        answer.cache_write_tokens = tokens;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn basic(body: &Value, d: &Directives) -> Answer {
        let mut a = converse::answer(body, d);
        enrich(body, d, &mut a, &PromptCache::default());
        a
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"text": text}]})
    }

    #[test]
    fn reasoning_checks_table() {
        let good = sign("hmm");
        let tool_use = json!({"toolUse": {"toolUseId": "t", "name": "f", "input": {}}});
        let thinking =
            json!({"reasoningContent": {"reasoningText": {"text": "hmm", "signature": good}}});
        let forged =
            json!({"reasoningContent": {"reasoningText": {"text": "hmm!", "signature": good}}});
        let on = json!({"thinking": {"type": "enabled", "budget_tokens": 1024}});
        let cases: Vec<(Value, Value, Option<&str>)> = vec![
            (json!([thinking, tool_use]), on.clone(), None),
            (json!([tool_use]), json!({}), None),
            (
                json!([tool_use]),
                on.clone(),
                Some("messages.1.content.0.type: Expected `thinking`"),
            ),
            (
                json!([forged, tool_use]),
                json!({}),
                Some("messages.1.content.0: Invalid `signature`"),
            ),
        ];
        for (assistant, extra, want) in cases {
            let body = json!({
                "messages": [user("a"), {"role": "assistant", "content": assistant}],
                "additionalModelRequestFields": extra,
            });
            let got = check_reasoning(&body).err().map(|e| e.message);
            match want {
                None => assert_eq!(got, None, "{body}"),
                Some(w) => assert!(got.as_deref().unwrap_or_default().starts_with(w), "{got:?}"),
            }
        }
    }

    #[test]
    fn thinking_leads_with_a_signed_block() {
        let body = json!({"messages": [user("hi")], "additionalModelRequestFields": {"thinking": {"type": "enabled"}}});
        let a = basic(
            &body,
            &Directives {
                stripped: "hi".into(),
                ..Default::default()
            },
        );
        let AnswerBlock::Reasoning { text, signature } = &a.blocks[0] else {
            panic!("{a:?}")
        };
        assert_eq!(signature, &sign(text));
        assert_eq!(a.blocks[1], AnswerBlock::Text("You said: hi".into()));
    }

    #[test]
    fn guardrail_needs_a_config_and_traces_when_asked() {
        let d = Directives {
            guardrail: true,
            stripped: "x".into(),
            ..Default::default()
        };
        let plain = basic(&json!({"messages": [user("x")]}), &d);
        assert_eq!(plain.stop_reason, "end_turn");
        let body = json!({"messages": [user("x")], "guardrailConfig": {"guardrailIdentifier": "gr1", "guardrailVersion": "1", "trace": "enabled"}});
        let a = basic(&body, &d);
        assert_eq!(a.stop_reason, "guardrail_intervened");
        assert_eq!(
            a.blocks,
            vec![AnswerBlock::Text(GUARDRAIL_BLOCKED_MESSAGE.into())]
        );
        assert!(a
            .trace
            .unwrap()
            .pointer("/guardrail/inputAssessment/gr1")
            .is_some());
    }

    #[test]
    fn cache_points_write_then_read() {
        let cache = PromptCache::default();
        let body = json!({"system": [{"text": "one two three"}, {"cachePoint": {"type": "default"}}], "messages": [user("hi there")]});
        let d = Directives {
            stripped: "hi there".into(),
            ..Default::default()
        };
        let mut runs = Vec::new();
        for _ in 0..2 {
            let mut a = converse::answer(&body, &d);
            enrich(&body, &d, &mut a, &cache);
            runs.push((a.input_tokens, a.cache_write_tokens, a.cache_read_tokens));
        }
        assert_eq!(runs, vec![(2, 3, 0), (2, 0, 3)]);
    }

    #[test]
    fn media_blocks_count_by_size() {
        let image = "A".repeat(4000); // 3000 bytes → 4 tokens
        let doc = "A".repeat(40); // 30 bytes → 7 tokens
        let body = json!({"messages": [{"role": "user", "content": [
            {"text": "two words"},
            {"image": {"format": "png", "source": {"bytes": image}}},
            {"document": {"format": "txt", "name": "d", "source": {"bytes": doc}}}
        ]}]});
        assert_eq!(converse::prompt_words(&body), 2 + 4 + 7);
    }

    #[test]
    fn output_config_answers_schema_json() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
        let body = json!({"messages": [user("x")], "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": schema.to_string()}}}}});
        let a = basic(&body, &Directives::default());
        let AnswerBlock::Text(t) = &a.blocks[0] else {
            panic!()
        };
        assert!(serde_json::from_str::<Value>(t).unwrap()["n"].is_i64());
    }
}
