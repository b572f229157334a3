//! The provider against a scripted in-process HTTP/1.1 server: URL paths, signed headers,
//! request bodies, response/stream/error translation, listing and embeddings. (End-to-end checks
//! against the Bedrock emulator live elsewhere.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;
use futures::StreamExt;
use gomodel_bedrock::client::ApiKey;
use gomodel_bedrock::{BedrockProvider, BedrockSettings, ProfileRouting, RetryPolicy};
use gomodel_core::chat::{
    BlockDelta, ChatRequest, ContentBlock, Message as ChatMessage, Role, StopReason, StreamEvent,
};
use gomodel_core::embed::EmbedRequest;
use gomodel_core::model::{ModelKind, ModelsMode};
use gomodel_core::Provider;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Recorded {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the mock answers: status, headers, and the body as chunks (sent chunked when > 1).
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    chunks: Vec<Vec<u8>>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            chunks: vec![serde_json::to_vec(&body).unwrap()],
        }
    }

    fn error(status: u16, name: &str, message: &str) -> Reply {
        let mut r = Reply::json(status, json!({"message": message}));
        r.headers.push((
            "x-amzn-ErrorType",
            format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        ));
        r
    }

    fn stream(chunks: Vec<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "application/vnd.amazon.eventstream".into())],
            chunks,
        }
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

struct Mock {
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Mock {
    async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let recorded = Arc::clone(&requests);
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                tokio::spawn(serve(sock, handler, recorded));
            }
        });
        Mock { base, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn provider(&self, token: Option<&str>, models: &[&str], mode: ModelsMode) -> BedrockProvider {
        self.provider_with(token, |s| {
            s.models = models.iter().map(|m| (*m).to_owned()).collect();
            s.models_mode = mode;
        })
    }

    /// A provider for this mock with quick retries, adjusted by `tune`.
    fn provider_with(
        &self,
        token: Option<&str>,
        tune: impl FnOnce(&mut BedrockSettings),
    ) -> BedrockProvider {
        let mut settings = BedrockSettings {
            base_url: Some(self.base.clone()),
            region_fallback: Some("us-east-1".into()),
            retry: RetryPolicy {
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            ..Default::default()
        };
        tune(&mut settings);
        BedrockProvider::with_credentials(
            settings,
            gomodel_bedrock::http_client(&Default::default()).unwrap(),
            SharedCredentialsProvider::new(Credentials::new(
                "AKIDTEST",
                "secret",
                token.map(str::to_owned),
                None,
                "test",
            )),
        )
        .unwrap()
    }
}

async fn serve(mut sock: TcpStream, handler: Handler, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let mut buf = Vec::new();
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap().split(' ');
        let method = first.next().unwrap().to_owned();
        let path = first.next().unwrap().to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .map_or(0, |v| v.parse().unwrap());
        let body_start = head_end + 4;
        while buf.len() < body_start + len {
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[body_start..body_start + len].to_vec();
        buf.drain(..body_start + len);
        let req = Recorded {
            method,
            path,
            headers,
            body,
        };
        recorded.lock().unwrap().push(req.clone());
        let reply = handler(&req);

        let mut out = format!("HTTP/1.1 {} X\r\n", reply.status);
        for (k, v) in &reply.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if reply.chunks.len() == 1 {
            out.push_str(&format!(
                "content-length: {}\r\n\r\n",
                reply.chunks[0].len()
            ));
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&reply.chunks[0]);
            if sock.write_all(&bytes).await.is_err() {
                return;
            }
        } else {
            out.push_str("transfer-encoding: chunked\r\n\r\n");
            if sock.write_all(out.as_bytes()).await.is_err() {
                return;
            }
            for c in &reply.chunks {
                let mut piece = format!("{:x}\r\n", c.len()).into_bytes();
                piece.extend_from_slice(c);
                piece.extend_from_slice(b"\r\n");
                if sock.write_all(&piece).await.is_err() {
                    return;
                }
                sock.flush().await.ok();
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            if sock.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
        }
    }
}

fn frame(message_type: &str, type_header: &str, kind: &str, payload: Value) -> Vec<u8> {
    let msg = Message::new(Bytes::from(serde_json::to_vec(&payload).unwrap()))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_owned().into()),
        ))
        .add_header(Header::new(
            type_header.to_owned(),
            HeaderValue::String(kind.to_owned().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut out = Vec::new();
    write_message_to(&msg, &mut out).unwrap();
    out
}

fn event(kind: &str, payload: Value) -> Vec<u8> {
    frame("event", ":event-type", kind, payload)
}

fn chat(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage {
            role: Role::User,
            content: vec![ContentBlock::Text(text.into())],
        }],
        ..Default::default()
    }
}

const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

#[tokio::test]
async fn chat_signs_and_translates() {
    let mock = Mock::start(|_| {
        Reply::json(
            200,
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "You said: hi"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1, "outputTokens": 3, "totalTokens": 4},
                "metrics": {"latencyMs": 1}
            }),
        )
    })
    .await;
    let p = mock.provider(Some("TOKEN"), &[], ModelsMode::Fallback);
    let resp = p.chat(chat(HAIKU, "hi")).await.unwrap();
    assert_eq!(
        resp.content,
        vec![ContentBlock::Text("You said: hi".into())]
    );
    assert_eq!(resp.stop_reason, StopReason::EndTurn);
    assert_eq!(resp.usage.total_tokens, 4);

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    );
    let auth = &r.headers["authorization"];
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    assert!(
        auth.contains("SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token"),
        "{auth}"
    );
    assert_eq!(r.headers["x-amz-security-token"], "TOKEN");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.json(),
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    );
}

#[tokio::test]
async fn chat_errors_map() {
    let mock = Mock::start(|r| {
        if r.method == "GET" {
            // The profile lookup after the on-demand refusal: no profile fits.
            return Reply::json(200, json!({"inferenceProfileSummaries": []}));
        }
        let text = r.json()["messages"][0]["content"][0]["text"].as_str().unwrap().to_owned();
        match text.as_str() {
            "throttle" => Reply::error(429, "ThrottlingException", "Too many requests"),
            "ondemand" => Reply::error(400, "ValidationException", "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."),
            _ => Reply::error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
        }
    })
    .await;
    let p = mock.provider(None, &[], ModelsMode::Fallback);
    let e = p.chat(chat(HAIKU, "throttle")).await.unwrap_err();
    assert_eq!((e.status(), e.retryable), (429, true));
    let e = p
        .chat(chat(
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "ondemand",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(
        e.message
            .contains("`us.anthropic.claude-3-7-sonnet-20250219-v1:0`"),
        "{}",
        e.message
    );
    let e = p.chat(chat(HAIKU, "other")).await.unwrap_err();
    assert_eq!(e.status(), 403);
    // The stream endpoint reports HTTP errors before any event.
    let e = p.chat_stream(chat(HAIKU, "throttle")).await.err().unwrap();
    assert_eq!(e.status(), 429);
}

fn stream_frames() -> Vec<Vec<u8>> {
    vec![
        event("messageStart", json!({"role": "assistant", "p": "abc"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hel"}, "p": "ab"}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "lo"}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 0})),
        event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "f"}}}),
        ),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"a\":1}"}}}),
        ),
        event("contentBlockStop", json!({"contentBlockIndex": 1})),
        event("messageStop", json!({"stopReason": "tool_use"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 2, "outputTokens": 5, "totalTokens": 7}, "metrics": {"latencyMs": 3}}),
        ),
    ]
}

/// Re-cuts the concatenated frames into pieces of `size` bytes, so frames straddle reads.
fn recut(frames: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    frames.concat().chunks(size).map(<[u8]>::to_vec).collect()
}

#[tokio::test]
async fn chat_stream_decodes_events_as_they_arrive() {
    let mock = Mock::start(|r| {
        let text = r.json()["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let frames = stream_frames();
        match text.as_str() {
            "first-exception" => Reply::stream(vec![frame(
                "exception",
                ":exception-type",
                "throttlingException",
                json!({"message": "slow down"}),
            )]),
            "mid-exception" => {
                let mut f = frames[..3].to_vec();
                f.push(frame(
                    "exception",
                    ":exception-type",
                    "modelStreamErrorException",
                    json!({"message": "model broke", "originalStatusCode": 500}),
                ));
                Reply::stream(f)
            }
            "truncated" => {
                let mut bytes = frames[..3].concat();
                bytes.extend_from_slice(&frames[3][..5]);
                Reply::stream(vec![bytes[..10].to_vec(), bytes[10..].to_vec()])
            }
            "no-stop" => Reply::stream(vec![frames[0].clone(), frames[1].clone()]),
            _ => Reply::stream(recut(&frames, 7)),
        }
    })
    .await;
    let p = mock.provider(None, &[], ModelsMode::Fallback);

    let events: Vec<_> = p
        .chat_stream(chat(HAIKU, "ok"))
        .await
        .unwrap()
        .collect()
        .await;
    let events: Vec<StreamEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events.len(), 9);
    assert_eq!(events[0], StreamEvent::MessageStart);
    assert_eq!(
        events[1],
        StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::Text("Hel".into())
        }
    );
    assert_eq!(
        events[5],
        StreamEvent::BlockDelta {
            index: 1,
            delta: BlockDelta::ToolInput("{\"a\":1}".into())
        }
    );
    assert_eq!(
        events[7],
        StreamEvent::MessageStop {
            stop_reason: StopReason::ToolUse
        }
    );
    assert!(matches!(events[8], StreamEvent::Usage(u) if u.total_tokens == 7));
    assert_eq!(
        mock.requests()[0].path,
        "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    );

    let e = p
        .chat_stream(chat(HAIKU, "first-exception"))
        .await
        .err()
        .unwrap();
    assert_eq!(e.status(), 429);

    let items: Vec<_> = p
        .chat_stream(chat(HAIKU, "mid-exception"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    assert!(items[..3].iter().all(Result::is_ok));
    assert_eq!(items[3].as_ref().unwrap_err().status(), 502);

    let items: Vec<_> = p
        .chat_stream(chat(HAIKU, "truncated"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items[..3].iter().all(Result::is_ok));
    assert_eq!(items.len(), 4);
    assert!(items[3]
        .as_ref()
        .unwrap_err()
        .message
        .contains("inside an event-stream frame"));

    let items: Vec<_> = p
        .chat_stream(chat(HAIKU, "no-stop"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[2]
        .as_ref()
        .unwrap_err()
        .message
        .contains("before messageStop"));
}

#[tokio::test]
async fn list_models_pages_profiles() {
    let mock = Mock::start(|r| {
        if r.path == "/foundation-models" {
            return Reply::json(200, json!({"modelSummaries": [
                {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0", "modelId": "amazon.nova-lite-v1:0", "providerName": "Amazon", "outputModalities": ["TEXT"], "inferenceTypesSupported": ["ON_DEMAND"]},
                {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0", "modelId": "amazon.titan-embed-text-v2:0", "providerName": "Amazon", "outputModalities": ["EMBEDDING"], "inferenceTypesSupported": ["ON_DEMAND"]}
            ]}));
        }
        if r.path.contains("nextToken=page%2F2%3D%3D") {
            return Reply::json(200, json!({"inferenceProfileSummaries": [
                {"inferenceProfileId": "eu.meta.llama3-2-1b-instruct-v1:0", "inferenceProfileName": "x", "inferenceProfileArn": "arn", "status": "ACTIVE", "type": "SYSTEM_DEFINED", "models": []}
            ]}));
        }
        Reply::json(200, json!({"inferenceProfileSummaries": [
            {"inferenceProfileId": "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "inferenceProfileName": "x", "inferenceProfileArn": "arn", "status": "ACTIVE", "type": "SYSTEM_DEFINED", "models": []}
        ], "nextToken": "page/2=="}))
    })
    .await;
    let p = mock.provider(None, &["configured.only-v1"], ModelsMode::Fallback);
    let models = p.list_models().await.unwrap();
    let got: Vec<(&str, &str, ModelKind)> = models
        .iter()
        .map(|m| (m.id.as_str(), m.owned_by.as_str(), m.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("amazon.nova-lite-v1:0", "amazon", ModelKind::Chat),
            (
                "amazon.titan-embed-text-v2:0",
                "amazon",
                ModelKind::Embedding
            ),
            (
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "anthropic",
                ModelKind::Chat
            ),
            ("eu.meta.llama3-2-1b-instruct-v1:0", "meta", ModelKind::Chat),
        ]
    );
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/inference-profiles?maxResults=1000&type=SYSTEM_DEFINED".to_owned()),
        "{paths:?}"
    );
    assert!(mock
        .requests()
        .iter()
        .all(|r| r.method == "GET" && r.headers.contains_key("authorization")));
}

#[tokio::test]
async fn list_models_falls_back_on_errors() {
    let mock = Mock::start(|_| Reply::error(403, "AccessDeniedException", "no")).await;
    let p = mock.provider(None, &["amazon.nova-lite-v1:0"], ModelsMode::Fallback);
    let models = p.list_models().await.unwrap();
    assert_eq!(models.len(), 1);
    let bare = mock.provider(None, &[], ModelsMode::Fallback);
    assert_eq!(bare.list_models().await.unwrap_err().status(), 403);
}

#[tokio::test]
async fn embeddings_keep_input_order() {
    let mock = Mock::start(|r| {
        let body = r.json();
        if r.path.contains("titan") {
            let text = body["inputText"].as_str().unwrap();
            let n: f32 = text.trim_start_matches('t').parse().unwrap();
            let mut reply = Reply::json(
                200,
                json!({"embedding": [n, 0.5], "inputTextTokenCount": 2}),
            );
            reply
                .headers
                .push(("x-amzn-bedrock-input-token-count", "2".into()));
            reply
        } else {
            let texts = body["texts"].as_array().unwrap();
            assert!(texts.len() <= 96);
            assert_eq!(body["input_type"], "search_query");
            let vectors: Vec<Value> = texts
                .iter()
                .map(|t| {
                    json!([t
                        .as_str()
                        .unwrap()
                        .trim_start_matches('t')
                        .parse::<f32>()
                        .unwrap()])
                })
                .collect();
            let mut reply = Reply::json(
                200,
                json!({"embeddings": {"float": vectors}, "response_type": "embeddings_by_type"}),
            );
            reply
                .headers
                .push(("x-amzn-bedrock-input-token-count", texts.len().to_string()));
            reply
        }
    })
    .await;
    let p = mock.provider(None, &[], ModelsMode::Fallback);

    let inputs: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let r = p
        .embed(EmbedRequest {
            model: "amazon.titan-embed-text-v2:0".into(),
            inputs: inputs.clone(),
            dimensions: Some(256),
            extra: Default::default(),
        })
        .await
        .unwrap();
    assert_eq!(r.embeddings.len(), 20);
    for (i, v) in r.embeddings.iter().enumerate() {
        assert_eq!(v.to_f32()[0], i as f32);
    }
    assert_eq!(r.input_tokens, 40);
    let titan_calls = mock.requests();
    assert_eq!(titan_calls.len(), 20);
    assert_eq!(
        titan_calls[0].path,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(titan_calls[0].json()["dimensions"], 256);

    let inputs: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let mut extra = serde_json::Map::new();
    extra.insert("input_type".into(), json!("search_query"));
    let r = p
        .embed(EmbedRequest {
            model: "cohere.embed-english-v3".into(),
            inputs,
            dimensions: None,
            extra,
        })
        .await
        .unwrap();
    assert_eq!(r.embeddings.len(), 150);
    for (i, v) in r.embeddings.iter().enumerate() {
        assert_eq!(v.to_f32()[0], i as f32);
    }
    assert_eq!(r.input_tokens, 150);
    assert_eq!(mock.requests().len(), 22);

    let e = p
        .embed(EmbedRequest {
            model: "meta.llama3-8b-instruct-v1:0".into(),
            inputs: vec!["x".into()],
            dimensions: None,
            extra: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), 400);
}

const SONNET4: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

fn converse_ok() -> Reply {
    Reply::json(
        200,
        json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1}
        }),
    )
}

fn profiles_listing(ids: &[&str]) -> Reply {
    let summaries: Vec<Value> = ids
        .iter()
        .map(|id| {
            let base = id.split_once('.').map_or(*id, |(_, b)| b);
            json!({
                "inferenceProfileId": id,
                "inferenceProfileName": id,
                "inferenceProfileArn": format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{id}"),
                "models": [{"modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{base}")}],
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED"
            })
        })
        .collect();
    Reply::json(200, json!({"inferenceProfileSummaries": summaries}))
}

/// A Bedrock stand-in with one profile-only model (`SONNET4`, profiles `eu.`, `us.`, `global.`)
/// and one on-demand model; Converse by the profile-only base id is refused as Bedrock does.
fn profile_world(r: &Recorded) -> Reply {
    let path = r.path.as_str();
    if path.starts_with("/foundation-models") {
        return Reply::json(
            200,
            json!({"modelSummaries": [
                {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/x", "modelId": SONNET4, "providerName": "Anthropic",
                 "outputModalities": ["TEXT"], "inferenceTypesSupported": ["INFERENCE_PROFILE"]},
                {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/y", "modelId": "amazon.nova-lite-v1:0", "providerName": "Amazon",
                 "outputModalities": ["TEXT"], "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"]}
            ]}),
        );
    }
    if path.starts_with("/inference-profiles") {
        return profiles_listing(&[
            &format!("eu.{SONNET4}"),
            &format!("us.{SONNET4}"),
            &format!("global.{SONNET4}"),
        ]);
    }
    if path.starts_with("/model/anthropic.") {
        return Reply::error(400, "ValidationException", "Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.");
    }
    converse_ok()
}

fn paths(mock: &Mock) -> Vec<String> {
    mock.requests().into_iter().map(|r| r.path).collect()
}

#[tokio::test]
async fn profile_only_base_ids_route_to_the_regions_profile() {
    let encoded = |id: &str| id.replace(':', "%3A");
    let cases = [
        // (routing, region, base listed, chat path, chat ok)
        (
            ProfileRouting::Auto,
            "us-east-1",
            true,
            format!("/model/{}/converse", encoded(&format!("us.{SONNET4}"))),
            true,
        ),
        (
            ProfileRouting::Auto,
            "eu-west-1",
            true,
            format!("/model/{}/converse", encoded(&format!("eu.{SONNET4}"))),
            true,
        ),
        (
            ProfileRouting::Auto,
            "sa-east-1",
            true,
            format!("/model/{}/converse", encoded(&format!("global.{SONNET4}"))),
            true,
        ),
        (
            ProfileRouting::Off,
            "us-east-1",
            false,
            format!("/model/{}/converse", encoded(SONNET4)),
            false,
        ),
    ];
    for (routing, region, listed, want_path, ok) in cases {
        let mock = Mock::start(profile_world).await;
        let p = mock.provider_with(None, |s| {
            s.inference_profiles = routing;
            s.region_fallback = Some(region.into());
        });
        let ids: Vec<String> = p
            .list_models()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            ids.iter().any(|id| id == SONNET4),
            listed,
            "{routing:?} {ids:?}"
        );
        assert!(
            ids.contains(&format!("us.{SONNET4}")),
            "profiles stay listed: {ids:?}"
        );
        let got = p.chat(chat(SONNET4, "hi")).await;
        assert_eq!(got.is_ok(), ok, "{routing:?} {region}: {got:?}");
        let last = paths(&mock).pop().unwrap();
        assert_eq!(last, want_path, "{routing:?} {region}");
        // The stream path routes the same way.
        if ok {
            let _ = p.chat_stream(chat(SONNET4, "hi")).await;
            assert_eq!(
                paths(&mock).pop().unwrap(),
                want_path.replace("/converse", "/converse-stream")
            );
        }
    }
}

#[tokio::test]
async fn an_on_demand_refusal_is_retried_once_via_a_profile() {
    // No listing happened (e.g. allowlist mode), so the refusal is the first sign.
    let mock = Mock::start(profile_world).await;
    let p = mock.provider(None, &[SONNET4], ModelsMode::Allowlist);
    p.chat(chat(SONNET4, "hi")).await.unwrap();
    let want_profile = format!(
        "/model/{}/converse",
        format!("us.{SONNET4}").replace(':', "%3A")
    );
    let seen = paths(&mock);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen[1].starts_with("/inference-profiles"), "{seen:?}");
    assert_eq!(seen[2], want_profile);
    // Remembered: the next call goes straight to the profile.
    p.chat(chat(SONNET4, "again")).await.unwrap();
    assert_eq!(paths(&mock)[3..], [want_profile]);

    // Off: the refusal with its advice reaches the client, and nothing else is asked.
    let mock = Mock::start(profile_world).await;
    let p = mock.provider_with(None, |s| s.inference_profiles = ProfileRouting::Off);
    let e = p.chat(chat(SONNET4, "hi")).await.unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.message.contains("inference profile"), "{}", e.message);
    assert_eq!(paths(&mock).len(), 1);
}

#[tokio::test]
async fn retryable_failures_are_retried_with_back_off() {
    struct Case {
        fail: Reply,
        failures: usize,
        max_retries: u32,
        stream: bool,
        want_status: Option<u16>,
        want_calls: usize,
    }
    let throttle = || Reply::error(429, "ThrottlingException", "slow down");
    let cases = [
        Case {
            fail: throttle(),
            failures: 2,
            max_retries: 2,
            stream: false,
            want_status: None,
            want_calls: 3,
        },
        Case {
            fail: throttle(),
            failures: 3,
            max_retries: 2,
            stream: false,
            want_status: Some(429),
            want_calls: 3,
        },
        Case {
            fail: Reply::error(500, "InternalServerException", "oops"),
            failures: 1,
            max_retries: 2,
            stream: false,
            want_status: None,
            want_calls: 2,
        },
        Case {
            fail: Reply::error(503, "ServiceUnavailableException", "busy"),
            failures: 1,
            max_retries: 0,
            stream: false,
            want_status: Some(503),
            want_calls: 1,
        },
        Case {
            fail: throttle(),
            failures: 1,
            max_retries: 2,
            stream: true,
            want_status: None,
            want_calls: 2,
        },
        // Not retryable: a client error is answered at once.
        Case {
            fail: Reply::error(400, "ValidationException", "bad"),
            failures: 1,
            max_retries: 2,
            stream: false,
            want_status: Some(400),
            want_calls: 1,
        },
        // A Retry-After beyond the policy's patience goes back to the client as is.
        Case {
            fail: {
                let mut r = throttle();
                r.headers.push(("retry-after", "120".into()));
                r
            },
            failures: 1,
            max_retries: 2,
            stream: false,
            want_status: Some(429),
            want_calls: 1,
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let Case {
            fail,
            failures,
            max_retries,
            stream,
            want_status,
            want_calls,
        } = case;
        let fail = Arc::new(fail);
        let mock = Mock::start(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) < failures {
                Reply {
                    status: fail.status,
                    headers: fail.headers.clone(),
                    chunks: fail.chunks.clone(),
                }
            } else if stream {
                Reply::stream(stream_frames())
            } else {
                converse_ok()
            }
        })
        .await;
        let p = mock.provider_with(None, |s| s.retry.max_retries = max_retries);
        let status = if stream {
            p.chat_stream(chat(HAIKU, "hi"))
                .await
                .err()
                .map(|e| e.status())
        } else {
            p.chat(chat(HAIKU, "hi")).await.err().map(|e| e.status())
        };
        assert_eq!(status, want_status, "case {i}");
        assert_eq!(calls.load(Ordering::SeqCst), want_calls, "case {i}");
    }
}

#[tokio::test]
async fn a_bedrock_api_key_replaces_sigv4() {
    let mock = Mock::start(|r| {
        if r.method == "GET" {
            profiles_listing(&[])
        } else {
            converse_ok()
        }
    })
    .await;
    let p = mock.provider_with(Some("TOKEN"), |s| {
        s.api_key = Some(ApiKey("bedrock-api-key-1".into()))
    });
    p.chat(chat(HAIKU, "hi")).await.unwrap();
    let req = &mock.requests()[0];
    assert_eq!(
        req.headers.get("authorization").map(String::as_str),
        Some("Bearer bedrock-api-key-1")
    );
    for signed_only in ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"] {
        assert!(
            !req.headers.contains_key(signed_only),
            "{signed_only}: {:?}",
            req.headers
        );
    }
    assert!(!format!(
        "{:?}",
        BedrockSettings {
            api_key: Some(ApiKey("secret-key".into())),
            ..Default::default()
        }
    )
    .contains("secret-key"));
}
