//! In-process tests of the HTTP surface against a fake provider, plus one real listener.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::response::Response;

use bytes::Bytes;
use futures::StreamExt;
use gomodel::app::{router, App, AppState, RouterOptions};
use gomodel::auth::MasterKey;
use gomodel_core::chat::{
    BlockDelta, ChatRequest, ChatResponse, ContentBlock, StopReason, StreamEvent, Usage,
};
use gomodel_core::embed::{EmbedRequest, EmbedResponse, Vector};
use gomodel_core::model::{ModelInfo, ModelKind};
use gomodel_core::registry::Registry;
use gomodel_core::{ErrorKind, EventStream, GatewayError, Provider};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "sk-test-key";

/// Set when a slow stream is dropped (client disconnect must cancel the upstream stream).
static SLOW_DROPPED: AtomicBool = AtomicBool::new(false);

struct Fake;

fn text_events() -> Vec<Result<StreamEvent, GatewayError>> {
    vec![
        Ok(StreamEvent::MessageStart),
        Ok(StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::Text("Hel".into()),
        }),
        Ok(StreamEvent::BlockDelta {
            index: 0,
            delta: BlockDelta::Text("lo".into()),
        }),
        Ok(StreamEvent::BlockStop { index: 0 }),
        Ok(StreamEvent::MessageStop {
            stop_reason: StopReason::EndTurn,
        }),
        Ok(StreamEvent::Usage(Usage {
            input_tokens: 3,
            output_tokens: 2,
            total_tokens: 5,
            ..Usage::default()
        })),
    ]
}

fn throttled() -> GatewayError {
    GatewayError::upstream(ErrorKind::RateLimited, "Too many requests, please wait.")
        .with_code("ThrottlingException")
        .retryable(true)
        .with_retry_after(Duration::from_millis(1500))
}

struct DropFlag;
impl Drop for DropFlag {
    fn drop(&mut self) {
        SLOW_DROPPED.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provider for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>, GatewayError> {
        let chat = [
            "vendor.chat",
            "vendor.stream-refused",
            "vendor.first-error",
            "vendor.mid-error",
            "vendor.panic",
            "vendor.slow",
        ];
        let mut out: Vec<ModelInfo> = chat
            .iter()
            .map(|id| ModelInfo {
                id: (*id).into(),
                owned_by: "vendor".into(),
                created: 1_700_000_000,
                kind: ModelKind::Chat,
            })
            .collect();
        out.push(ModelInfo {
            id: "vendor.embed".into(),
            owned_by: "vendor".into(),
            created: 1_700_000_000,
            kind: ModelKind::Embedding,
        });
        Ok(out)
    }
    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, GatewayError> {
        if req.model == "vendor.panic" {
            panic!("fake provider panics on purpose");
        }
        Ok(ChatResponse {
            content: vec![ContentBlock::Text("Hello".into())],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: 3,
                output_tokens: 1,
                total_tokens: 4,
                ..Usage::default()
            },
        })
    }
    async fn chat_stream(&self, req: ChatRequest) -> Result<EventStream, GatewayError> {
        match req.model.as_str() {
            "vendor.stream-refused" => Err(throttled()),
            "vendor.first-error" => Ok(futures::stream::iter(vec![Err(throttled())]).boxed()),
            "vendor.mid-error" => {
                let mut events = text_events();
                events.truncate(2);
                events.push(Err(GatewayError::upstream(
                    ErrorKind::UpstreamError,
                    "The model stream failed.",
                )
                .with_code("modelStreamErrorException")));
                // Anything after the error must never be sent.
                events.push(Ok(StreamEvent::BlockDelta {
                    index: 0,
                    delta: BlockDelta::Text("AFTER".into()),
                }));
                Ok(futures::stream::iter(events).boxed())
            }
            "vendor.slow" => {
                let guard = DropFlag;
                Ok(
                    futures::stream::unfold((0u32, guard), |(n, guard)| async move {
                        if n > 0 {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        let ev = if n == 0 {
                            StreamEvent::MessageStart
                        } else {
                            StreamEvent::BlockDelta {
                                index: 0,
                                delta: BlockDelta::Text(format!("w{n} ")),
                            }
                        };
                        Some((Ok(ev), (n + 1, guard)))
                    })
                    .boxed(),
                )
            }
            _ => Ok(futures::stream::iter(text_events()).boxed()),
        }
    }
    async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse, GatewayError> {
        Ok(EmbedResponse {
            embeddings: req
                .inputs
                .iter()
                .map(|_| Vector::from_floats(&[0.5, -0.25]))
                .collect(),
            input_tokens: 2,
        })
    }
    /// Like Bedrock: ARNs are routed without being listed.
    fn accepts_unlisted(&self, model: &str) -> bool {
        model.starts_with("arn:aws:bedrock:")
    }
}

async fn app_with(key: Option<&str>, limit: usize) -> App {
    let registry = Arc::new(Registry::new(vec![Arc::new(Fake)]));
    registry.refresh().await;
    router(
        Arc::new(AppState::new(registry)),
        RouterOptions {
            master_key: key.map(MasterKey::new),
            body_limit_bytes: limit,
        },
    )
}

async fn app() -> App {
    app_with(Some(KEY), 1 << 20).await
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn chat_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

async fn send(app: &App, req: Request<Body>) -> (StatusCode, Response) {
    let resp = app.clone().oneshot(req).await.unwrap();
    (resp.status(), resp)
}

async fn body_text(resp: Response) -> String {
    String::from_utf8(
        to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

async fn body_json(resp: Response) -> Value {
    let text = body_text(resp).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The exact OpenAI error shape: four keys, nothing else.
fn assert_error_shape(v: &Value, ty: &str, code: Option<&str>) {
    let err = v["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {v}"));
    let mut keys: Vec<_> = err.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "param", "type"], "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    assert_eq!(err["type"], ty, "{v}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    if let Some(c) = code {
        assert_eq!(err["code"], c, "{v}");
    }
}

#[tokio::test]
async fn health_needs_no_key() {
    let app = app().await;
    let (status, resp) = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body_json(resp).await, json!({"status": "ok"}));
}

#[tokio::test]
async fn auth_matrix() {
    let keyed = app().await;
    let open = app_with(None, 1 << 20).await;
    let get = |headers: &[(&str, &str)]| {
        let mut b = Request::get("/v1/models");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    };
    let bearer = format!("Bearer {KEY}");
    let lower = format!("bearer {KEY}");
    let cases: [(&str, &App, Vec<(&str, &str)>, StatusCode); 9] = [
        ("no header", &keyed, vec![], StatusCode::UNAUTHORIZED),
        (
            "bearer",
            &keyed,
            vec![("authorization", &bearer)],
            StatusCode::OK,
        ),
        (
            "bearer lowercase scheme",
            &keyed,
            vec![("authorization", &lower)],
            StatusCode::OK,
        ),
        (
            "x-api-key",
            &keyed,
            vec![("x-api-key", KEY)],
            StatusCode::OK,
        ),
        (
            "wrong bearer",
            &keyed,
            vec![("authorization", "Bearer nope")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong x-api-key",
            &keyed,
            vec![("x-api-key", "sk-test-ke")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "basic scheme",
            &keyed,
            vec![("authorization", "Basic c2stdGVzdC1rZXk=")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong bearer, right x-api-key",
            &keyed,
            vec![("authorization", "Bearer x"), ("x-api-key", KEY)],
            StatusCode::OK,
        ),
        ("open mode", &open, vec![], StatusCode::OK),
    ];
    for (name, app, headers, want) in cases {
        let (status, resp) = send(app, get(&headers)).await;
        assert_eq!(status, want, "{name}");
        if want == StatusCode::UNAUTHORIZED {
            let v = body_json(resp).await;
            assert_error_shape(&v, "authentication_error", Some("invalid_api_key"));
            assert_eq!(v["error"]["param"], Value::Null);
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(!msg.contains(KEY), "{name}: key echoed in {msg}");
        }
    }
    // Unknown /v1 routes are behind auth too.
    let (status, _) = send(
        &keyed,
        Request::get("/v1/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_bodies_are_openai_shaped_400s() {
    let app = app().await;
    let raw = |body: &'static str, content_type: &str| {
        Request::post("/v1/chat/completions")
            .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let cases = [
        (
            raw("{not json", "application/json"),
            None,
            "parse the JSON body",
        ),
        (
            raw(r#"{"messages": []}"#, "application/json"),
            Some("model"),
            "model",
        ),
        (
            raw(r#"{"model": "vendor.chat"}"#, "application/json"),
            Some("messages"),
            "messages",
        ),
        (
            raw(r#"{"model": "vendor.chat", "messages": []}"#, "text/plain"),
            None,
            "Content-Type",
        ),
        (raw("", "application/json"), None, "JSON"),
    ];
    for (req, param, needle) in cases {
        let (status, resp) = send(&app, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{needle}");
        let v = body_json(resp).await;
        assert_error_shape(&v, "invalid_request_error", None);
        if let Some(p) = param {
            assert_eq!(v["error"]["param"], p, "{v}");
        }
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    // `application/json; charset=utf-8` is JSON.
    let (status, _) = send(
        &app,
        raw(
            r#"{"model":"vendor.chat","messages":[{"role":"user","content":"x"}]}"#,
            "application/json; charset=utf-8",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_model_route_and_method() {
    let app = app().await;
    let (status, resp) = send(
        &app,
        post("/v1/chat/completions", chat_body("nope.model", false)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v = body_json(resp).await;
    assert_error_shape(&v, "invalid_request_error", Some("model_not_found"));
    assert_eq!(v["error"]["param"], "model");

    let req = Request::get("/no/such/route").body(Body::empty()).unwrap();
    let (status, resp) = send(&app, req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(
        &body_json(resp).await,
        "invalid_request_error",
        Some("unknown_url"),
    );

    let req = Request::get("/v1/chat/completions")
        .header("x-api-key", KEY)
        .body(Body::empty())
        .unwrap();
    let (status, resp) = send(&app, req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error_shape(
        &body_json(resp).await,
        "invalid_request_error",
        Some("method_not_allowed"),
    );
}

#[tokio::test]
async fn body_limit_is_413() {
    let app = app_with(None, 64).await;
    let big =
        json!({"model": "vendor.chat", "messages": [{"role": "user", "content": "x".repeat(200)}]});
    // Declared length over the limit.
    let (status, resp) = send(&app, post("/v1/chat/completions", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let v = body_json(resp).await;
    assert_error_shape(&v, "invalid_request_error", Some("request_too_large"));
    assert!(
        v["error"]["message"].as_str().unwrap().contains("64 bytes"),
        "{v}"
    );
    // Chunked body (no Content-Length) over the limit.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .to_string()
        .into_bytes()
        .chunks(16)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let req = Request::post("/v1/chat/completions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    let (status, resp) = send(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_shape(
        &body_json(resp).await,
        "invalid_request_error",
        Some("request_too_large"),
    );
}

#[tokio::test]
async fn chat_non_stream() {
    let app = app().await;
    let (status, resp) = send(
        &app,
        post("/v1/chat/completions", chat_body("vendor.chat", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v = body_json(resp).await;
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "vendor.chat");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"), "{v}");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["total_tokens"], 4);
    // Provider-prefixed ids route too and are echoed as sent.
    let (status, resp) = send(
        &app,
        post("/v1/chat/completions", chat_body("fake/vendor.chat", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body_json(resp).await["model"], "fake/vendor.chat");
}

fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            f.strip_prefix("data: ")
                .unwrap_or_else(|| panic!("bad frame {f:?}"))
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn chat_stream() {
    let app = app().await;
    let mut body = chat_body("vendor.chat", true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, resp) = send(&app, post("/v1/chat/completions", body)).await;
    assert_eq!(status, StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h["x-accel-buffering"], "no");
    let frames = sse_data(&body_text(resp).await);
    assert_eq!(frames.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello");
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "vendor.chat"));
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-") && chunks.iter().all(|c| c["id"] == id));
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 5);
}

#[tokio::test]
async fn stream_errors_before_first_event_are_http_errors() {
    let app = app().await;
    for model in ["vendor.stream-refused", "vendor.first-error"] {
        let (status, resp) = send(&app, post("/v1/chat/completions", chat_body(model, true))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{model}");
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2", "{model}");
        assert!(resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert_error_shape(
            &body_json(resp).await,
            "rate_limit_error",
            Some("ThrottlingException"),
        );
    }
}

#[tokio::test]
async fn mid_stream_error_is_an_error_frame_then_end() {
    let app = app().await;
    let (status, resp) = send(
        &app,
        post("/v1/chat/completions", chat_body("vendor.mid-error", true)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = body_text(resp).await;
    let frames = sse_data(&text);
    let last: Value = serde_json::from_str(frames.last().unwrap()).unwrap();
    assert_error_shape(&last, "upstream_error", Some("modelStreamErrorException"));
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(!text.contains("AFTER"), "{text}");
    assert!(text.contains("Hel"), "{text}");
}

#[tokio::test]
async fn panic_becomes_500_and_keeps_request_id() {
    let app = app().await;
    let mut req = post("/v1/chat/completions", chat_body("vendor.panic", false));
    req.headers_mut()
        .insert("x-request-id", "req-panic-1".parse().unwrap());
    let (status, resp) = send(&app, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(resp.headers()["x-request-id"], "req-panic-1");
    let v = body_json(resp).await;
    assert_error_shape(&v, "server_error", None);
    assert!(
        !v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on purpose"),
        "panic text leaked: {v}"
    );
    // The service is still alive.
    let (status, _) = send(
        &app,
        post("/v1/chat/completions", chat_body("vendor.chat", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = app().await;
    let req = Request::get("/health")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let (_, resp) = send(&app, req).await;
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let (_, resp) = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    // Errors carry it too.
    let (_, resp) = send(&app, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert!(resp.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn models_list() {
    let app = app().await;
    let req = Request::get("/v1/models")
        .header("x-api-key", KEY)
        .body(Body::empty())
        .unwrap();
    let (status, resp) = send(&app, req).await;
    assert_eq!(status, StatusCode::OK);
    let v = body_json(resp).await;
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"].as_array().unwrap().len(), 7);
    assert_eq!(
        v["data"][0],
        json!({"id": "vendor.chat", "object": "model", "created": 1_700_000_000, "owned_by": "vendor"})
    );
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("x-api-key", KEY)
        .body(Body::empty())
        .unwrap()
}

const PROFILE_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0";

#[tokio::test]
async fn models_retrieve_every_listed_model() {
    let app = app().await;
    let (_, resp) = send(&app, get("/v1/models")).await;
    let listed = body_json(resp).await["data"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 7);
    for want in listed {
        let id = want["id"].as_str().unwrap();
        let (status, resp) = send(&app, get(&format!("/v1/models/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/json",
            "{id}"
        );
        assert_eq!(body_json(resp).await, want, "{id}");
    }
}

#[tokio::test]
async fn models_retrieve_resolves_like_chat() {
    let app = app().await;
    let listed = json!({"object": "model", "created": 1_700_000_000, "owned_by": "vendor"});
    let with_id = |id: &str| {
        let mut v = listed.clone();
        v["id"] = json!(id);
        v
    };
    let encoded_arn = PROFILE_ARN.replace('/', "%2F");
    let all_encoded = PROFILE_ARN.replace(':', "%3A").replace('/', "%2F");
    // (path, the id in the answer)
    let cases = [
        ("/v1/models/vendor.chat".to_owned(), "vendor.chat"),
        // Percent-encoding is decoded.
        ("/v1/models/vendor%2Echat".to_owned(), "vendor.chat"),
        // The provider prefix, raw or encoded (the SDK sends `/` as `%2F`).
        (
            "/v1/models/fake/vendor.embed".to_owned(),
            "fake/vendor.embed",
        ),
        (
            "/v1/models/fake%2Fvendor.embed".to_owned(),
            "fake/vendor.embed",
        ),
    ];
    for (path, id) in cases {
        let (status, resp) = send(&app, get(&path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body_json(resp).await, with_id(id), "{path}");
    }
    // An ARN with `/`, unlisted but routed (as chat would): raw, as the SDK sends it, fully
    // encoded, and behind the provider prefix.
    let arn_paths = [
        (format!("/v1/models/{PROFILE_ARN}"), PROFILE_ARN.to_owned()),
        (format!("/v1/models/{encoded_arn}"), PROFILE_ARN.to_owned()),
        (format!("/v1/models/{all_encoded}"), PROFILE_ARN.to_owned()),
        (
            format!("/v1/models/fake/{PROFILE_ARN}"),
            format!("fake/{PROFILE_ARN}"),
        ),
    ];
    for (path, id) in arn_paths {
        let (status, resp) = send(&app, get(&path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let v = body_json(resp).await;
        assert_eq!(v["id"], id.as_str(), "{path}");
        assert_eq!(v["object"], "model");
        assert_eq!(v["owned_by"], "anthropic", "{v}");
        assert!(v["created"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v.as_object().unwrap().len(), 4, "{v}");
        let (status, _) = send(&app, post("/v1/chat/completions", chat_body(&id, false))).await;
        assert_eq!(status, StatusCode::OK, "chat accepts {id} too");
    }
}

#[tokio::test]
async fn models_retrieve_unknown_is_the_chat_404() {
    let app = app().await;
    for id in [
        "nope.model",
        "other/vendor.chat",
        "fake/nope.model",
        "arn:aws:s3:::bucket/x",
    ] {
        let path = format!("/v1/models/{}", id.replace('/', "%2F"));
        let (status, resp) = send(&app, get(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        let v = body_json(resp).await;
        assert_error_shape(&v, "invalid_request_error", Some("model_not_found"));
        // Word for word what a chat request for the same id gets.
        let (status, chat) = send(&app, post("/v1/chat/completions", chat_body(id, false))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(v, body_json(chat).await, "{id}");
        assert!(v["error"]["message"].as_str().unwrap().contains(id), "{v}");
    }
    // Not valid UTF-8 once decoded: an OpenAI-shaped 400, not axum's plain text.
    let (status, resp) = send(&app, get("/v1/models/%FF")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_shape(&body_json(resp).await, "invalid_request_error", None);
    // No id at all: no such route.
    let (status, resp) = send(&app, get("/v1/models/")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(
        &body_json(resp).await,
        "invalid_request_error",
        Some("unknown_url"),
    );
    // Wrong method: 405.
    let req = Request::delete("/v1/models/vendor.chat")
        .header("x-api-key", KEY)
        .body(Body::empty())
        .unwrap();
    let (status, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn models_retrieve_needs_the_key() {
    let keyed = app().await;
    let open = app_with(None, 1 << 20).await;
    let encoded_arn = PROFILE_ARN.replace('/', "%2F");
    for id in ["vendor.chat", "nope.model", encoded_arn.as_str()] {
        let path = format!("/v1/models/{id}");
        let bare = || Request::get(&path).body(Body::empty()).unwrap();
        let (status, resp) = send(&keyed, bare()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{id}");
        assert_error_shape(
            &body_json(resp).await,
            "authentication_error",
            Some("invalid_api_key"),
        );
        let wrong = Request::get(&path)
            .header(header::AUTHORIZATION, "Bearer nope")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&keyed, wrong).await.0,
            StatusCode::UNAUTHORIZED,
            "{id}"
        );
        let bearer = Request::get(&path)
            .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
            .body(Body::empty())
            .unwrap();
        let want = if id == "nope.model" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(send(&keyed, bearer).await.0, want, "{id}");
        assert_eq!(send(&open, bare()).await.0, want, "open mode: {id}");
    }
}

#[tokio::test]
async fn embeddings() {
    let app = app().await;
    let body = json!({"model": "vendor.embed", "input": ["a", "b"]});
    let (status, resp) = send(&app, post("/v1/embeddings", body)).await;
    assert_eq!(status, StatusCode::OK);
    let v = body_json(resp).await;
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "vendor.embed");
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][0]["embedding"], json!([0.5, -0.25]));
    // Kind mismatches are 400s naming `model`.
    for (path, body) in [
        (
            "/v1/embeddings",
            json!({"model": "vendor.chat", "input": "a"}),
        ),
        ("/v1/chat/completions", chat_body("vendor.embed", false)),
    ] {
        let (status, resp) = send(&app, post(path, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let v = body_json(resp).await;
        assert_error_shape(&v, "invalid_request_error", None);
        assert_eq!(v["error"]["param"], "model");
    }
}

/// A real socket: streaming arrives incrementally, a client disconnect drops the provider
/// stream, and shutdown completes.
#[tokio::test]
async fn real_listener_streams_cancels_and_shuts_down() {
    let app = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(gomodel::shutdown::serve(
        listener,
        app,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(5),
    ));
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    SLOW_DROPPED.store(false, Ordering::SeqCst);
    let resp = client
        .post(format!("http://{addr}/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&chat_body("vendor.slow", true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    // The stream is endless; seeing several frames proves nothing waits for the end.
    while seen.matches("\n\n").count() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(seen.contains("w1 "), "{seen}");
    assert!(!SLOW_DROPPED.load(Ordering::SeqCst));
    drop(body);
    let dropped = async {
        while !SLOW_DROPPED.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), dropped)
        .await
        .expect("client disconnect must drop the provider stream");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
}
