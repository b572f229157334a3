//! Structured output through a forced tool, for models without `outputConfig`: the request
//! offers one tool whose input schema is the response schema, and the answer's call to it is
//! turned back into message text, so the client receives the JSON as `message.content`, never
//! as a tool call.

use futures::{future, StreamExt};
use gomodel_core::chat::{
    BlockDelta, BlockStart, ChatResponse, ContentBlock, StopReason, StreamEvent,
};
use gomodel_core::provider::EventStream;

/// Name of the tool that carries the response schema when the schema has no usable name.
pub const DEFAULT_TOOL_NAME: &str = "json_response";

/// Non-streamed: the structured tool's input becomes the text of the answer.
pub fn answer(mut resp: ChatResponse, tool: &str) -> ChatResponse {
    let mut other_calls = false;
    let mut structured = None;
    let mut content = Vec::with_capacity(resp.content.len());
    for block in resp.content {
        match block {
            ContentBlock::ToolUse { name, input, .. } if name == tool => {
                structured = Some(input.to_string());
            }
            b @ ContentBlock::ToolUse { .. } => {
                other_calls = true;
                content.push(b);
            }
            b => content.push(b),
        }
    }
    if let Some(json) = structured {
        if !other_calls {
            // Any preamble the model wrote before the call is not part of the JSON document.
            content.retain(|b| !matches!(b, ContentBlock::Text(_)));
            if resp.stop_reason == StopReason::ToolUse {
                resp.stop_reason = StopReason::EndTurn;
            }
        }
        content.push(ContentBlock::Text(json));
    }
    resp.content = content;
    resp
}

#[derive(Default)]
struct State {
    /// Provider block index of the structured tool call.
    block: Option<u32>,
    other_calls: bool,
}

impl State {
    fn map(&mut self, event: StreamEvent, tool: &str) -> Option<StreamEvent> {
        match event {
            StreamEvent::BlockStart {
                index,
                start: BlockStart::ToolUse { ref name, .. },
            } => {
                if name == tool {
                    self.block = Some(index);
                    return None;
                }
                self.other_calls = true;
                Some(event)
            }
            StreamEvent::BlockDelta {
                index,
                delta: BlockDelta::ToolInput(json),
            } if self.block == Some(index) => Some(StreamEvent::BlockDelta {
                index,
                delta: BlockDelta::Text(json),
            }),
            StreamEvent::MessageStop {
                stop_reason: StopReason::ToolUse,
            } if self.block.is_some() && !self.other_calls => Some(StreamEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
            }),
            other => Some(other),
        }
    }
}

/// Streamed: the structured tool's argument fragments become text deltas as they arrive.
pub fn stream(events: EventStream, tool: String) -> EventStream {
    events
        .scan(State::default(), move |state, item| {
            future::ready(Some(item.map(|ev| state.map(ev, &tool)).transpose()))
        })
        .filter_map(future::ready)
        .boxed()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gomodel_core::chat::Usage;
    use serde_json::json;

    fn call(name: &str) -> ContentBlock {
        ContentBlock::ToolUse {
            id: "t".into(),
            name: name.into(),
            input: json!({"a": 1}),
        }
    }

    #[test]
    fn answer_table() {
        let cases: Vec<(Vec<ContentBlock>, Vec<ContentBlock>, StopReason)> = vec![
            (
                vec![ContentBlock::Text("Sure:".into()), call("json_response")],
                vec![ContentBlock::Text("{\"a\":1}".into())],
                StopReason::EndTurn,
            ),
            (
                vec![call("lookup")],
                vec![call("lookup")],
                StopReason::ToolUse,
            ),
        ];
        for (content, want, stop) in cases {
            let resp = ChatResponse {
                content,
                stop_reason: StopReason::ToolUse,
                usage: Usage::default(),
            };
            let got = answer(resp, "json_response");
            assert_eq!((got.content, got.stop_reason), (want, stop));
        }
    }

    #[tokio::test]
    async fn stream_turns_the_call_into_text() {
        let events = vec![
            StreamEvent::MessageStart,
            StreamEvent::BlockStart {
                index: 0,
                start: BlockStart::ToolUse {
                    id: "t".into(),
                    name: "json_response".into(),
                },
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::ToolInput("{\"a\"".into()),
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::ToolInput(":1}".into()),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop {
                stop_reason: StopReason::ToolUse,
            },
        ];
        let input = futures::stream::iter(events.into_iter().map(Ok)).boxed();
        let got: Vec<StreamEvent> = stream(input, "json_response".into())
            .map(|e| e.unwrap())
            .collect()
            .await;
        assert_eq!(
            got,
            vec![
                StreamEvent::MessageStart,
                StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::Text("{\"a\"".into()),
                },
                StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::Text(":1}".into()),
                },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::MessageStop {
                    stop_reason: StopReason::EndTurn,
                },
            ]
        );
    }
}
