//! Property test across the boundary: any valid-ish neutral chat request that the gateway's
//! OpenAI→Converse translator accepts becomes a Converse body that this emulator's validator
//! (the Bedrock service model) accepts too; and the translator never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bedrock_emulator::service_model;
use bytes::Bytes;
use gomodel_bedrock::translate::request::to_converse;
use gomodel_core::chat::{
    ChatRequest, ContentBlock, FunctionTool, ImageFormat, InferenceParams, Message, Role,
    SystemBlock, Tool, ToolChoice,
};
use proptest::prelude::*;
use serde_json::json;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,40}"
}

fn block() -> impl Strategy<Value = ContentBlock> {
    prop_oneof![
        4 => text().prop_map(ContentBlock::Text),
        1 => (
            prop::sample::select(vec![ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::Webp]),
            prop::collection::vec(any::<u8>(), 1..64),
        )
            .prop_map(|(format, bytes)| ContentBlock::Image { format, bytes: Bytes::from(bytes) }),
    ]
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec(prop::collection::vec(block(), 1..4), 1..6).prop_map(|turns| {
        turns
            .into_iter()
            .enumerate()
            .map(|(i, content)| Message {
                role: if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                content,
            })
            .collect()
    })
}

fn tools() -> impl Strategy<Value = Vec<Tool>> {
    prop::collection::vec(
        ("[a-zA-Z][a-zA-Z0-9_-]{0,30}", proptest::option::of(text())).prop_map(
            |(name, description)| {
                Tool::Function(FunctionTool {
                    name,
                    description,
                    parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
                    strict: None,
                })
            },
        ),
        0..3,
    )
}

fn request() -> impl Strategy<Value = ChatRequest> {
    (
        prop::sample::select(vec![
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "amazon.nova-lite-v1:0",
            "meta.llama3-8b-instruct-v1:0",
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ]),
        prop::collection::vec(text().prop_map(SystemBlock::Text), 0..3),
        messages(),
        tools(),
        (
            proptest::option::of(1u32..100_000),
            proptest::option::of(0.0f32..=1.0),
            proptest::option::of(0.0f32..=1.0),
            prop::collection::vec("\\PC{1,20}", 0..4),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(model, system, messages, tools, (max_tokens, temperature, top_p, stop), any_tool)| {
                let tool_choice = match (tools.first(), any_tool) {
                    (Some(_), true) => Some(ToolChoice::Any),
                    (Some(_), false) => Some(ToolChoice::Auto),
                    (None, _) => None,
                };
                ChatRequest {
                    model: model.to_owned(),
                    system,
                    messages,
                    tools,
                    tool_choice,
                    inference: InferenceParams {
                        max_tokens,
                        temperature,
                        top_p,
                        stop,
                        ..Default::default()
                    },
                    ..Default::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn translated_bodies_pass_the_service_model(req in request()) {
        let models = service_model::models().unwrap();
        // A refusal is fine (it becomes a 400); a body that goes out must be valid.
        if let Ok(call) = to_converse(req) {
            let body = serde_json::to_value(&call.body).unwrap();
            let violations = models.runtime.validate_body("Converse", &body);
            prop_assert!(violations.is_empty(), "{violations:?}\n{body:#}");
            let violations = models.runtime.validate_body("ConverseStream", &body);
            prop_assert!(violations.is_empty(), "{violations:?}");
        }
    }
}
