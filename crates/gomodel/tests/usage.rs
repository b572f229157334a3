//! The usage pipeline in-process, against a real SQLite database: usage rows for non-streamed,
//! streamed, failed and abandoned requests; the admin API; stored responses; readiness; metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};

use futures::StreamExt;
use gomodel::app::{router, App, AppState, RouterOptions};
use gomodel::auth::MasterKey;
use gomodel::usage::UsageSink;
use gomodel_core::chat::{
    BlockDelta, ChatRequest, ChatResponse, ContentBlock, StopReason, StreamEvent, Usage,
};
use gomodel_core::embed::{EmbedRequest, EmbedResponse};
use gomodel_core::model::{ModelInfo, ModelKind};
use gomodel_core::registry::Registry;
use gomodel_core::{ErrorKind, EventStream, GatewayError, Provider};
use gomodel_storage::{RecorderOptions, Storage, StorageConfig, UsageRecorder};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "sk-usage-test";

struct Fake;

fn usage() -> Usage {
    Usage {
        input_tokens: 7,
        output_tokens: 2,
        total_tokens: 9,
        cache_read_tokens: Some(4),
        reasoning_tokens: Some(1),
        ..Usage::default()
    }
}

fn text(t: &str) -> Result<StreamEvent, GatewayError> {
    Ok(StreamEvent::BlockDelta {
        index: 0,
        delta: BlockDelta::Text(t.into()),
    })
}

#[async_trait]
impl Provider for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>, GatewayError> {
        Ok(["vendor.chat", "vendor.throttled", "vendor.slow"]
            .iter()
            .map(|id| ModelInfo {
                id: (*id).into(),
                owned_by: "vendor".into(),
                created: 1_700_000_000,
                kind: ModelKind::Chat,
            })
            .collect())
    }
    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, GatewayError> {
        if req.model == "vendor.throttled" {
            return Err(GatewayError::upstream(ErrorKind::RateLimited, "slow down")
                .with_code("ThrottlingException"));
        }
        Ok(ChatResponse {
            content: vec![ContentBlock::Text("Hello".into())],
            stop_reason: StopReason::EndTurn,
            usage: usage(),
        })
    }
    async fn chat_stream(&self, req: ChatRequest) -> Result<EventStream, GatewayError> {
        let events = vec![
            Ok(StreamEvent::MessageStart),
            text("Hel"),
            text("lo"),
            Ok(StreamEvent::BlockStop { index: 0 }),
            Ok(StreamEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
            }),
            Ok(StreamEvent::Usage(usage())),
        ];
        if req.model == "vendor.slow" {
            // Never ends: the client abandons it.
            return Ok(futures::stream::iter(events.into_iter().take(2))
                .chain(futures::stream::pending())
                .boxed());
        }
        Ok(futures::stream::iter(events).boxed())
    }
    async fn embed(&self, _req: EmbedRequest) -> Result<EmbedResponse, GatewayError> {
        Err(GatewayError::internal("no embeddings here"))
    }
}

struct Setup {
    app: App,
    storage: Arc<dyn Storage>,
    _writer: gomodel_storage::RecorderTask,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let storage = gomodel_storage::open(&StorageConfig::Sqlite {
        path: dir.path().join("gomodel.db"),
    })
    .unwrap();
    storage.migrate().await.unwrap();
    // The writer must outlive the test: dropping its handle makes it drain and stop.
    let (recorder, writer) = UsageRecorder::spawn(
        storage.clone(),
        RecorderOptions {
            flush_interval: Duration::from_millis(10),
            ..RecorderOptions::default()
        },
    );
    let registry = Arc::new(Registry::new(vec![Arc::new(Fake)]));
    registry.refresh().await;
    let mut state = AppState::new(registry);
    state.storage = Some(storage.clone());
    state.usage = UsageSink::new(Some(recorder));
    let app = router(
        Arc::new(state),
        RouterOptions {
            master_key: Some(MasterKey::new(KEY)),
            body_limit_bytes: 1 << 20,
        },
    );
    Setup {
        app,
        storage,
        _writer: writer,
        _dir: dir,
    }
}

fn post(path: &str, id: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", id)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(Body::empty())
        .unwrap()
}

async fn call(app: &App, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
    )
}

/// The request-log rows by request id, once `n` rows exist.
async fn rows(app: &App, n: usize) -> std::collections::HashMap<String, Value> {
    for _ in 0..200 {
        let (status, page) = call(app, get("/admin/requests?limit=100")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().unwrap();
        if data.len() >= n {
            return data
                .iter()
                .map(|r| (r["request_id"].as_str().unwrap().to_owned(), r.clone()))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} usage rows");
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "user": "u1", "metadata": {"team": "a"},
           "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn usage_rows_for_every_kind_of_ending() {
    let s = setup().await;
    let (status, _) = call(
        &s.app,
        post("/v1/chat/completions", "plain", chat("vendor.chat", false)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &s.app,
        post(
            "/v1/chat/completions",
            "streamed",
            chat("vendor.chat", true),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.as_str().unwrap().ends_with("data: [DONE]\n\n"));
    let (status, _) = call(
        &s.app,
        post(
            "/v1/chat/completions",
            "throttled",
            chat("vendor.throttled", false),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = call(
        &s.app,
        post("/v1/chat/completions", "unknown", chat("nope", false)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A client that reads the head and two frames of a never-ending stream, then goes away.
    let resp = s
        .app
        .clone()
        .oneshot(post(
            "/v1/chat/completions",
            "abandoned",
            chat("vendor.slow", true),
        ))
        .await
        .unwrap();
    let mut body = resp.into_body().into_data_stream();
    // The role chunk, then the first content chunk (ready together, they may share a frame).
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while seen.windows(6).filter(|w| w == b"data: ").count() < 2 {
            seen.extend_from_slice(&body.next().await.unwrap().unwrap());
        }
    })
    .await
    .expect("the role chunk and a content chunk within 5 s");
    drop(body);

    let rows = rows(&s.app, 5).await;
    let plain = &rows["plain"];
    assert_eq!(plain["provider"], "fake");
    assert_eq!(plain["model"], "vendor.chat");
    assert_eq!(plain["endpoint"], "chat.completions");
    assert_eq!(
        (
            &plain["input_tokens"],
            &plain["output_tokens"],
            &plain["cached_tokens"],
            &plain["reasoning_tokens"]
        ),
        (&json!(7), &json!(2), &json!(4), &json!(1))
    );
    assert_eq!(plain["stream"], false);
    assert_eq!(plain["ttft_ms"], Value::Null);
    assert_eq!(plain["user"], "u1");
    assert_eq!(plain["metadata"], json!({"team": "a"}));
    assert_eq!(plain["key_hash"], gomodel_storage::key_hash(KEY.as_bytes()));
    let streamed = &rows["streamed"];
    assert_eq!(
        (&streamed["stream"], &streamed["status"]),
        (&json!(true), &json!(200))
    );
    assert_eq!(streamed["output_tokens"], 2);
    assert!(streamed["ttft_ms"].is_u64());
    let throttled = &rows["throttled"];
    assert_eq!(
        (&throttled["status"], &throttled["error_type"]),
        (&json!(429), &json!("ThrottlingException"))
    );
    let unknown = &rows["unknown"];
    assert_eq!(
        (&unknown["status"], &unknown["provider"]),
        (&json!(404), &json!(""))
    );
    assert_eq!(unknown["error_type"], "model_not_found");
    let abandoned = &rows["abandoned"];
    assert_eq!(
        (&abandoned["status"], &abandoned["error_type"]),
        (&json!(499), &json!("client_closed"))
    );
    assert!(
        abandoned["ttft_ms"].is_u64(),
        "a token arrived before the client left"
    );

    let (status, usage) = call(&s.app, get("/admin/usage?group_by=model")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usage["totals"]["requests"], 5);
    assert_eq!(usage["totals"]["errors"], 3);
    let groups: Vec<(&str, u64)> = usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["requests"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        groups,
        [
            ("nope", 1),
            ("vendor.chat", 2),
            ("vendor.slow", 1),
            ("vendor.throttled", 1)
        ]
    );
    s.storage.close().await;
}

#[tokio::test]
async fn metrics_ready_and_admin_auth() {
    let s = setup().await;
    call(
        &s.app,
        post("/v1/chat/completions", "m1", chat("vendor.chat", false)),
    )
    .await;
    let resp = s
        .app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("gomodel_requests_total{"), "{text}");
    assert!(
        text.contains("gomodel_request_duration_seconds_bucket{"),
        "{text}"
    );

    let (status, ready) = call(
        &s.app,
        Request::get("/health/ready").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["checks"]["storage"], "ok");

    let (status, err) = call(
        &s.app,
        Request::get("/admin/usage").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "invalid_api_key");
    let (status, err) = call(&s.app, get("/admin/usage?group_by=week")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "group_by");
    s.storage.close().await;
}

#[tokio::test]
async fn stored_responses_round_trip() {
    let s = setup().await;
    let (status, first) = call(
        &s.app,
        post(
            "/v1/responses",
            "r1",
            json!({"model": "vendor.chat", "input": "hello there"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["store"], true);
    let id = first["id"].as_str().unwrap().to_owned();

    let (status, got) = call(&s.app, get(&format!("/v1/responses/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, first);
    let (_, items) = call(&s.app, get(&format!("/v1/responses/{id}/input_items"))).await;
    assert_eq!(items["object"], "list");
    assert_eq!(items["data"][0]["content"][0]["text"], "hello there");
    assert_eq!(items["first_id"], items["data"][0]["id"]);

    let (status, second) = call(
        &s.app,
        post(
            "/v1/responses",
            "r2",
            json!({"model": "vendor.chat", "input": "again", "previous_response_id": id}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["previous_response_id"], id.as_str());

    let del = Request::delete(format!("/v1/responses/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(Body::empty())
        .unwrap();
    let (status, deleted) = call(&s.app, del).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        deleted,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
    let (status, err) = call(&s.app, get(&format!("/v1/responses/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not found"));

    let (status, err) = call(
        &s.app,
        post(
            "/v1/responses",
            "r3",
            json!({"model": "vendor.chat", "input": "x", "previous_response_id": "resp_gone"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["param"], "previous_response_id");
    s.storage.close().await;
}
