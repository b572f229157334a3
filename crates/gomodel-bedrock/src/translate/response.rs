//! Converse answer → neutral [`ChatResponse`].

use crate::errors::bad_upstream;
use crate::wire::converse as w;
use gomodel_core::chat::{ChatResponse, ContentBlock, ImageFormat, StopReason, Usage};
use gomodel_core::GatewayError;

/// Every `StopReason` value in the service model and its neutral meaning.
pub const STOP_REASONS: [(&str, StopReason); 9] = [
    ("end_turn", StopReason::EndTurn),
    ("tool_use", StopReason::ToolUse),
    ("max_tokens", StopReason::MaxTokens),
    ("stop_sequence", StopReason::StopSequence),
    ("guardrail_intervened", StopReason::GuardrailIntervened),
    ("content_filtered", StopReason::ContentFiltered),
    ("malformed_model_output", StopReason::MalformedModelOutput),
    ("malformed_tool_use", StopReason::MalformedToolUse),
    (
        "model_context_window_exceeded",
        StopReason::ContextWindowExceeded,
    ),
];

/// A Converse `stopReason` in the neutral vocabulary; unknown values are kept as `Other`.
pub fn stop_reason(s: String) -> StopReason {
    STOP_REASONS
        .iter()
        .find(|(name, _)| *name == s)
        .map_or(StopReason::Other(s), |(_, r)| r.clone())
}

/// Converse `TokenUsage` → neutral usage. `inputTokens` is Bedrock's count of uncached input;
/// cache reads and writes are reported beside it, and `totalTokens` is Bedrock's total.
pub fn usage(u: w::TokenUsage) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        total_tokens: u.total_tokens,
        cache_read_tokens: u.cache_read_input_tokens,
        cache_write_tokens: u.cache_write_input_tokens,
        reasoning_tokens: None,
    }
}

pub fn from_converse(resp: w::ConverseResponse) -> Result<ChatResponse, GatewayError> {
    let message = match resp.output {
        w::ConverseOutput::Message(m) => m,
        w::ConverseOutput::Unknown(member) => {
            return Err(bad_upstream(format!(
                "Bedrock Converse answered without a message (output member `{member}`)"
            )))
        }
    };
    Ok(ChatResponse {
        content: message
            .content
            .into_iter()
            .filter_map(content_block)
            .collect(),
        stop_reason: stop_reason(resp.stop_reason),
        usage: usage(resp.usage),
    })
}

/// Blocks the neutral model can carry; the rest (citations, guard content, unknown members)
/// have no OpenAI rendering and are dropped.
fn content_block(b: w::ContentBlock) -> Option<ContentBlock> {
    match b {
        w::ContentBlock::Text(t) => Some(ContentBlock::Text(t)),
        w::ContentBlock::ToolUse(t) => Some(ContentBlock::ToolUse {
            id: t.tool_use_id,
            name: t.name,
            input: t.input,
        }),
        w::ContentBlock::ReasoningContent(w::ReasoningContentBlock::ReasoningText(r)) => {
            Some(ContentBlock::Reasoning {
                text: r.text,
                signature: r.signature,
            })
        }
        w::ContentBlock::ReasoningContent(w::ReasoningContentBlock::RedactedContent(b)) => {
            Some(ContentBlock::RedactedReasoning(b.0))
        }
        w::ContentBlock::Image(w::ImageBlock {
            format,
            source: w::ImageSource::Bytes(bytes),
        }) => {
            ImageFormat::from_mime(&format!("image/{format}")).map(|format| ContentBlock::Image {
                format,
                bytes: bytes.0,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::json;

    #[test]
    fn stop_reason_table_covers_the_service_model() {
        let spec: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../spec/bedrock-runtime-2023-09-30.service-2.json"
        ))
        .unwrap();
        let values = spec["shapes"]["StopReason"]["enum"].as_array().unwrap();
        assert_eq!(values.len(), STOP_REASONS.len());
        for v in values {
            let v = v.as_str().unwrap();
            assert!(
                !matches!(stop_reason(v.to_owned()), StopReason::Other(_)),
                "{v} unmapped"
            );
        }
        assert_eq!(
            stop_reason("brand_new".into()),
            StopReason::Other("brand_new".into())
        );
    }

    #[test]
    fn converts_answers() {
        let cases = [
            (
                json!({"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
                       "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
                       "metrics": {"latencyMs": 5}}),
                ChatResponse {
                    content: vec![ContentBlock::Text("hi".into())],
                    stop_reason: StopReason::EndTurn,
                    usage: Usage {
                        input_tokens: 3,
                        output_tokens: 1,
                        total_tokens: 4,
                        ..Default::default()
                    },
                },
            ),
            (
                json!({"output": {"message": {"role": "assistant", "content": [
                        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "s"}}},
                        {"reasoningContent": {"redactedContent": "AQI="}},
                        {"text": "calling"},
                        {"citationsContent": {}},
                        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"q": "x"}}}
                       ]}},
                       "stopReason": "tool_use",
                       "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 45, "cacheReadInputTokens": 20, "cacheWriteInputTokens": 10},
                       "metrics": {"latencyMs": 5}}),
                ChatResponse {
                    content: vec![
                        ContentBlock::Reasoning {
                            text: "hmm".into(),
                            signature: Some("s".into()),
                        },
                        ContentBlock::RedactedReasoning(Bytes::from_static(b"\x01\x02")),
                        ContentBlock::Text("calling".into()),
                        ContentBlock::ToolUse {
                            id: "t1".into(),
                            name: "f".into(),
                            input: json!({"q": "x"}),
                        },
                    ],
                    stop_reason: StopReason::ToolUse,
                    usage: Usage {
                        input_tokens: 10,
                        output_tokens: 5,
                        total_tokens: 45,
                        cache_read_tokens: Some(20),
                        cache_write_tokens: Some(10),
                        reasoning_tokens: None,
                    },
                },
            ),
            (
                json!({"output": {"message": {"role": "assistant", "content": []}},
                       "stopReason": "model_context_window_exceeded", "usage": {"inputTokens": 1, "outputTokens": 0, "totalTokens": 1},
                       "metrics": {"latencyMs": 5}}),
                ChatResponse {
                    content: vec![],
                    stop_reason: StopReason::ContextWindowExceeded,
                    usage: Usage {
                        input_tokens: 1,
                        total_tokens: 1,
                        ..Default::default()
                    },
                },
            ),
        ];
        for (json, want) in cases {
            let resp: w::ConverseResponse = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(from_converse(resp).unwrap(), want, "{json}");
        }
    }

    #[test]
    fn missing_message_is_an_upstream_error() {
        let resp: w::ConverseResponse = serde_json::from_value(
            json!({"output": {"somethingElse": {}}, "stopReason": "end_turn", "usage": {}}),
        )
        .unwrap();
        assert_eq!(from_converse(resp).unwrap_err().status(), 502);
    }
}
