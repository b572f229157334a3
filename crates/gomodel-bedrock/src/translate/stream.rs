//! One decoded ConverseStream message → at most one neutral [`StreamEvent`].
//!
//! | `:message-type` / type | neutral |
//! |---|---|
//! | event `messageStart` | `MessageStart` |
//! | event `contentBlockStart` (toolUse) | `BlockStart::ToolUse` |
//! | event `contentBlockDelta` text / toolUse / reasoningContent text, signature, redactedContent | `BlockDelta` |
//! | event `contentBlockStop` | `BlockStop` |
//! | event `messageStop` | `MessageStop` |
//! | event `metadata` | `Usage` |
//! | exception `*Exception` | `Err` (mapped like HTTP errors) |
//! | error (`:error-code`) | `Err` |
//!
//! Other events and delta kinds (citations, tool-result and image starts, events AWS adds later)
//! carry nothing the neutral model renders, so they yield `None`.

use super::response::{stop_reason, usage};
use crate::errors::{bad_upstream, from_stream_error, from_stream_exception};
use crate::wire::converse as w;
use aws_smithy_eventstream::smithy::parse_response_headers;
use aws_smithy_types::event_stream::Message;
use gomodel_core::chat::{BlockDelta, BlockStart, StreamEvent};
use gomodel_core::GatewayError;
use serde::de::DeserializeOwned;

/// Translates one message. `model` names the model in error hints.
pub fn event(msg: &Message, model: Option<&str>) -> Result<Option<StreamEvent>, GatewayError> {
    if header_str(msg, ":message-type") == Some("error") {
        return Err(from_stream_error(
            header_str(msg, ":error-code").unwrap_or("UnknownError"),
            header_str(msg, ":error-message").unwrap_or_default(),
            model,
        ));
    }
    let headers = parse_response_headers(msg).map_err(|e| {
        bad_upstream(format!(
            "Bedrock stream message without usable headers: {e}"
        ))
    })?;
    let kind = headers.smithy_type.as_str();
    if headers.message_type.as_str() == "exception" {
        return Err(from_stream_exception(kind, msg.payload(), model));
    }
    let payload = msg.payload();
    Ok(match kind {
        "messageStart" => {
            // The role is always `assistant`; decoding still checks the payload is sane.
            let _: w::MessageStartEvent = parse(kind, payload)?;
            Some(StreamEvent::MessageStart)
        }
        "contentBlockStart" => {
            let ev: w::ContentBlockStartEvent = parse(kind, payload)?;
            match ev.start {
                w::ContentBlockStart::ToolUse(t) => Some(StreamEvent::BlockStart {
                    index: ev.content_block_index,
                    start: BlockStart::ToolUse {
                        id: t.tool_use_id,
                        name: t.name,
                    },
                }),
                _ => None,
            }
        }
        "contentBlockDelta" => {
            let ev: w::ContentBlockDeltaEvent = parse(kind, payload)?;
            let delta = match ev.delta {
                w::ContentBlockDelta::Text(t) => Some(BlockDelta::Text(t)),
                w::ContentBlockDelta::ToolUse(t) => Some(BlockDelta::ToolInput(t.input)),
                w::ContentBlockDelta::ReasoningContent(r) => match r {
                    w::ReasoningContentBlockDelta::Text(t) => Some(BlockDelta::ReasoningText(t)),
                    w::ReasoningContentBlockDelta::Signature(s) => {
                        Some(BlockDelta::ReasoningSignature(s))
                    }
                    w::ReasoningContentBlockDelta::RedactedContent(b) => {
                        Some(BlockDelta::RedactedReasoning(b.0))
                    }
                    w::ReasoningContentBlockDelta::Unknown(_) => None,
                },
                _ => None,
            };
            delta.map(|delta| StreamEvent::BlockDelta {
                index: ev.content_block_index,
                delta,
            })
        }
        "contentBlockStop" => {
            let ev: w::ContentBlockStopEvent = parse(kind, payload)?;
            Some(StreamEvent::BlockStop {
                index: ev.content_block_index,
            })
        }
        "messageStop" => {
            let ev: w::MessageStopEvent = parse(kind, payload)?;
            Some(StreamEvent::MessageStop {
                stop_reason: stop_reason(ev.stop_reason),
            })
        }
        "metadata" => {
            let ev: w::ConverseStreamMetadataEvent = parse(kind, payload)?;
            Some(StreamEvent::Usage(usage(ev.usage)))
        }
        _ => None,
    })
}

fn parse<T: DeserializeOwned>(kind: &str, payload: &[u8]) -> Result<T, GatewayError> {
    serde_json::from_slice(payload)
        .map_err(|e| bad_upstream(format!("could not decode Bedrock {kind} event: {e}")))
}

fn header_str<'a>(msg: &'a Message, name: &str) -> Option<&'a str> {
    msg.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_smithy_types::event_stream::{Header, HeaderValue};
    use bytes::Bytes;
    use gomodel_core::chat::{StopReason, Usage};

    fn msg(message_type: &str, type_header: &str, kind: &str, payload: &str) -> Message {
        Message::new(Bytes::copy_from_slice(payload.as_bytes()))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String(message_type.to_owned().into()),
            ))
            .add_header(Header::new(
                type_header.to_owned(),
                HeaderValue::String(kind.to_owned().into()),
            ))
    }

    fn ev(kind: &str, payload: &str) -> Message {
        msg("event", ":event-type", kind, payload)
    }

    #[test]
    fn events_translate() {
        let cases: Vec<(Message, Option<StreamEvent>)> = vec![
            (
                ev("messageStart", r#"{"role":"assistant","p":"abcd"}"#),
                Some(StreamEvent::MessageStart),
            ),
            (
                ev(
                    "contentBlockStart",
                    r#"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"f"}},"p":"x"}"#,
                ),
                Some(StreamEvent::BlockStart {
                    index: 1,
                    start: BlockStart::ToolUse {
                        id: "t1".into(),
                        name: "f".into(),
                    },
                }),
            ),
            (
                ev(
                    "contentBlockStart",
                    r#"{"contentBlockIndex":1,"start":{"toolResult":{"toolUseId":"t1"}}}"#,
                ),
                None,
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"abc"}"#,
                ),
                Some(StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::Text("Hel".into()),
                }),
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"q\":"}}}"#,
                ),
                Some(StreamEvent::BlockDelta {
                    index: 1,
                    delta: BlockDelta::ToolInput("{\"q\":".into()),
                }),
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"think"}}}"#,
                ),
                Some(StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::ReasoningText("think".into()),
                }),
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig"}}}"#,
                ),
                Some(StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::ReasoningSignature("sig".into()),
                }),
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"redactedContent":"AQ=="}}}"#,
                ),
                Some(StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::RedactedReasoning(Bytes::from_static(b"\x01")),
                }),
            ),
            (
                ev(
                    "contentBlockDelta",
                    r#"{"contentBlockIndex":0,"delta":{"citation":{"title":"x"}}}"#,
                ),
                None,
            ),
            (
                ev("contentBlockStop", r#"{"contentBlockIndex":0,"p":"ab"}"#),
                Some(StreamEvent::BlockStop { index: 0 }),
            ),
            (
                ev("messageStop", r#"{"stopReason":"max_tokens","p":"abc"}"#),
                Some(StreamEvent::MessageStop {
                    stop_reason: StopReason::MaxTokens,
                }),
            ),
            (
                ev(
                    "metadata",
                    r#"{"usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12,"cacheReadInputTokens":2},"metrics":{"latencyMs":100},"p":"x"}"#,
                ),
                Some(StreamEvent::Usage(Usage {
                    input_tokens: 5,
                    output_tokens: 7,
                    total_tokens: 12,
                    cache_read_tokens: Some(2),
                    ..Default::default()
                })),
            ),
            (ev("somethingNew", r#"{"a":1}"#), None),
        ];
        for (m, want) in cases {
            assert_eq!(
                event(&m, None).unwrap(),
                want,
                "{:?}",
                std::str::from_utf8(m.payload())
            );
        }
    }

    #[test]
    fn exceptions_and_errors_are_errors() {
        let cases = [
            (
                msg(
                    "exception",
                    ":exception-type",
                    "throttlingException",
                    r#"{"message":"slow"}"#,
                ),
                429,
            ),
            (
                msg(
                    "exception",
                    ":exception-type",
                    "modelStreamErrorException",
                    r#"{"message":"boom","originalStatusCode":500}"#,
                ),
                502,
            ),
            (
                msg(
                    "exception",
                    ":exception-type",
                    "validationException",
                    r#"{"message":"bad"}"#,
                ),
                400,
            ),
            (
                msg(
                    "exception",
                    ":exception-type",
                    "internalServerException",
                    r#"{"message":"x"}"#,
                ),
                502,
            ),
            (
                msg(
                    "exception",
                    ":exception-type",
                    "serviceUnavailableException",
                    r#"{"message":"x"}"#,
                ),
                503,
            ),
            (
                Message::new(Bytes::new())
                    .add_header(Header::new(
                        ":message-type",
                        HeaderValue::String("error".into()),
                    ))
                    .add_header(Header::new(
                        ":error-code",
                        HeaderValue::String("InternalFailure".into()),
                    ))
                    .add_header(Header::new(
                        ":error-message",
                        HeaderValue::String("oops".into()),
                    )),
                502,
            ),
        ];
        for (m, status) in cases {
            let err = event(&m, None).unwrap_err();
            assert_eq!(err.status(), status, "{err}");
        }
    }

    #[test]
    fn malformed_payload_is_an_upstream_error() {
        let err = event(&ev("contentBlockDelta", "{not json"), None).unwrap_err();
        assert_eq!(err.status(), 502);
        let no_headers = Message::new(Bytes::from_static(b"{}"));
        assert_eq!(event(&no_headers, None).unwrap_err().status(), 502);
    }
}
