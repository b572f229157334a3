//! A complete answer as the stream events ConverseStream would have sent for it: used for
//! families that take tools only in Converse, so a streaming client still gets the same
//! content, block by block (one delta per block).

use gomodel_core::chat::{BlockDelta, BlockStart, ChatResponse, ContentBlock, StreamEvent};

pub fn events(answer: ChatResponse) -> Vec<StreamEvent> {
    let mut out = Vec::with_capacity(3 + 3 * answer.content.len());
    out.push(StreamEvent::MessageStart);
    for (i, block) in answer.content.into_iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let deltas = match block {
            ContentBlock::Text(t) => vec![BlockDelta::Text(t)],
            ContentBlock::ToolUse { id, name, input } => {
                out.push(StreamEvent::BlockStart {
                    index,
                    start: BlockStart::ToolUse { id, name },
                });
                vec![BlockDelta::ToolInput(input.to_string())]
            }
            ContentBlock::Reasoning { text, signature } => {
                std::iter::once(BlockDelta::ReasoningText(text))
                    .chain(signature.map(BlockDelta::ReasoningSignature))
                    .collect()
            }
            ContentBlock::RedactedReasoning(bytes) => vec![BlockDelta::RedactedReasoning(bytes)],
            // Input-only blocks never appear in an answer.
            _ => continue,
        };
        out.extend(
            deltas
                .into_iter()
                .map(|delta| StreamEvent::BlockDelta { index, delta }),
        );
        out.push(StreamEvent::BlockStop { index });
    }
    out.push(StreamEvent::MessageStop {
        stop_reason: answer.stop_reason,
    });
    out.push(StreamEvent::Usage(answer.usage));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gomodel_core::chat::{StopReason, Usage};
    use serde_json::json;

    #[test]
    fn replays_blocks_in_order() {
        let usage = Usage {
            input_tokens: 1,
            output_tokens: 2,
            total_tokens: 3,
            ..Default::default()
        };
        let answer = ChatResponse {
            content: vec![
                ContentBlock::Reasoning {
                    text: "hmm".into(),
                    signature: Some("sig".into()),
                },
                ContentBlock::Text("Checking.".into()),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "get".into(),
                    input: json!({"a": 1}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage,
        };
        let delta = |index, delta| StreamEvent::BlockDelta { index, delta };
        assert_eq!(
            events(answer),
            vec![
                StreamEvent::MessageStart,
                delta(0, BlockDelta::ReasoningText("hmm".into())),
                delta(0, BlockDelta::ReasoningSignature("sig".into())),
                StreamEvent::BlockStop { index: 0 },
                delta(1, BlockDelta::Text("Checking.".into())),
                StreamEvent::BlockStop { index: 1 },
                StreamEvent::BlockStart {
                    index: 2,
                    start: BlockStart::ToolUse {
                        id: "t1".into(),
                        name: "get".into()
                    }
                },
                delta(2, BlockDelta::ToolInput("{\"a\":1}".into())),
                StreamEvent::BlockStop { index: 2 },
                StreamEvent::MessageStop {
                    stop_reason: StopReason::ToolUse
                },
                StreamEvent::Usage(usage),
            ]
        );
    }
}
