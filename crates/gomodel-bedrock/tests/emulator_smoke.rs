//! Manual smoke check against a running Bedrock emulator (ignored by default):
//!
//! ```sh
//! target/debug/gomodel-bedrock-emulator --port 0   # prints "listening on http://127.0.0.1:PORT"
//! EMULATOR_URL=http://127.0.0.1:PORT cargo test -p gomodel-bedrock --test emulator_smoke -- --ignored
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use futures::StreamExt;
use gomodel_bedrock::{BedrockProvider, BedrockSettings};
use gomodel_core::chat::{
    ChatRequest, ContentBlock, FunctionTool, InferenceParams, Message, ReasoningConfig,
    ReasoningEffort, ResponseFormat, Role, StopReason, StreamEvent, Tool, ToolChoice,
};
use gomodel_core::embed::EmbedRequest;
use gomodel_core::Provider;
use serde_json::json;

fn provider() -> BedrockProvider {
    let url = std::env::var("EMULATOR_URL").expect("set EMULATOR_URL");
    BedrockProvider::with_credentials(
        BedrockSettings {
            base_url: Some(url),
            region_fallback: Some("us-east-1".into()),
            ..Default::default()
        },
        gomodel_bedrock::http_client(&Default::default()).unwrap(),
        SharedCredentialsProvider::new(Credentials::new(
            "AKIDEMULATOR",
            "emulator-secret",
            None,
            None,
            "test",
        )),
    )
    .unwrap()
}

fn chat(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentBlock::Text(text.into())],
        }],
        ..Default::default()
    }
}

const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

#[tokio::test]
#[ignore = "needs a running emulator (EMULATOR_URL)"]
async fn smoke() {
    let p = provider();

    let models = p.list_models().await.unwrap();
    println!("listed {} models", models.len());
    assert!(!models.is_empty());

    let r = p.chat(chat(HAIKU, "hello there")).await.unwrap();
    println!("chat: {r:?}");
    assert_eq!(
        r.content,
        vec![ContentBlock::Text("You said: hello there".into())]
    );

    let mut req = chat(HAIKU, "count [[emu:words=50]]");
    req.inference = InferenceParams {
        max_tokens: Some(5),
        temperature: Some(0.2),
        top_p: Some(0.9),
        stop: vec!["zzz".into()],
        ..Default::default()
    };
    req.system = vec![gomodel_core::chat::SystemBlock::Text("be brief".into())];
    let r = p.chat(req).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxTokens);

    let mut req = chat(HAIKU, "weather? [[emu:tool=get_weather]]");
    req.tools = vec![Tool::Function(FunctionTool {
        name: "get_weather".into(),
        description: Some("weather".into()),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        strict: None,
    })];
    req.tool_choice = Some(ToolChoice::Any);
    let r = p.chat(req.clone()).await.unwrap();
    println!("tool: {r:?}");
    assert_eq!(r.stop_reason, StopReason::ToolUse);
    let tool_use = r
        .content
        .iter()
        .find(|b| matches!(b, ContentBlock::ToolUse { .. }))
        .cloned()
        .unwrap();
    let ContentBlock::ToolUse { id, .. } = &tool_use else {
        unreachable!()
    };
    // Round trip with the tool result, tools omitted: the provider synthesizes toolConfig.
    let mut follow = chat(HAIKU, "weather?");
    follow.messages.push(Message {
        role: Role::Assistant,
        content: vec![tool_use.clone()],
    });
    follow.messages.push(Message {
        role: Role::User,
        content: vec![ContentBlock::ToolResult {
            tool_use_id: id.clone(),
            content: vec![gomodel_core::chat::ToolResultContent::Text("sunny".into())],
            is_error: false,
        }],
    });
    let r = p.chat(follow).await.unwrap();
    println!("after tool: {r:?}");

    let mut req = chat(HAIKU, "json please");
    req.response_format = Some(ResponseFormat::JsonSchema {
        name: "x".into(),
        description: None,
        schema: json!({"type": "object"}),
        strict: Some(true),
    });
    req.reasoning = Some(ReasoningConfig {
        effort: Some(ReasoningEffort::Low),
        budget_tokens: None,
    });
    req.metadata = [("user".to_owned(), "alice".to_owned())].into();
    req.service_tier = Some("default".into());
    let r = p.chat(req).await.unwrap();
    println!("json+thinking: {r:?}");

    let events: Vec<_> = p
        .chat_stream(chat(HAIKU, "stream [[emu:words=20]]"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(events.iter().all(Result::is_ok), "{events:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, Ok(StreamEvent::MessageStop { .. }))));
    assert!(events
        .iter()
        .any(|e| matches!(e, Ok(StreamEvent::Usage(_)))));
    println!("stream: {} events", events.len());

    let items: Vec<_> = p
        .chat_stream(chat(
            HAIKU,
            "x [[emu:words=20]] [[emu:stream-error=modelStreamErrorException@3]]",
        ))
        .await
        .unwrap()
        .collect()
        .await;
    let last = items.last().unwrap().as_ref().unwrap_err();
    println!("stream error: {last}");
    assert_eq!(last.status(), 502);

    for (name, status) in [
        ("ThrottlingException", 429),
        ("AccessDeniedException", 403),
        ("ValidationException", 400),
        ("ResourceNotFoundException", 404),
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 502),
        ("ModelTimeoutException", 504),
        ("ModelNotReadyException", 503),
        ("ModelErrorException", 502),
        ("ServiceQuotaExceededException", 429),
    ] {
        let e = p
            .chat(chat(HAIKU, &format!("[[emu:error={name}]]")))
            .await
            .unwrap_err();
        assert_eq!(e.status(), status, "{name}: {e}");
        let e = p
            .chat_stream(chat(HAIKU, &format!("[[emu:error={name}]]")))
            .await
            .err()
            .unwrap();
        assert_eq!(e.status(), status, "stream {name}: {e}");
    }

    let e = p
        .chat(chat("anthropic.claude-3-7-sonnet-20250219-v1:0", "hi"))
        .await
        .unwrap_err();
    println!("on-demand: {e}");
    assert!(e
        .message
        .contains("us.anthropic.claude-3-7-sonnet-20250219-v1:0"));
    let r = p
        .chat(chat("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "hi"))
        .await
        .unwrap();
    assert_eq!(r.content, vec![ContentBlock::Text("You said: hi".into())]);

    for model in ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"] {
        match p
            .embed(EmbedRequest {
                model: model.into(),
                inputs: vec!["a".into(), "b c".into()],
                dimensions: None,
                extra: Default::default(),
            })
            .await
        {
            Ok(r) => println!(
                "{model}: {} vectors of {}, {} tokens",
                r.embeddings.len(),
                r.embeddings[0].len(),
                r.input_tokens
            ),
            Err(e) => panic!("{model}: {e}"),
        }
    }
}
