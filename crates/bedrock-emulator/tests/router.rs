//! The whole pipeline in-process: requests signed with aws-sigv4 (as the Rust SDK signs them)
//! go through the router, and the answers are checked as a Bedrock client would read them.

#![allow(clippy::unwrap_used, clippy::type_complexity)] // table-driven tests

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use bedrock_emulator::{stream, EmulatorConfig};
use serde_json::{json, Value};
use std::time::SystemTime;
use tower::ServiceExt as _;

const HOST: &str = "localhost:4010";

fn app() -> Router {
    let config = EmulatorConfig {
        denied_models: ["amazon.nova-pro-v1:0".to_string()].into_iter().collect(),
        ..Default::default()
    };
    bedrock_emulator::router(config).unwrap()
}

fn signed(method: &str, path_and_query: &str, body: &[u8], secret: &str) -> Request<Body> {
    let identity: Identity = Credentials::new("AKIDEMULATOR", secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", HOST), ("content-type", "application/json")];
    let signable = SignableRequest::new(
        method,
        format!("http://{HOST}{path_and_query}"),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    instructions.apply_to_request_http1x(&mut request);
    request
}

async fn call(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

fn converse_body(text: &str) -> Vec<u8> {
    json!({"messages": [{"role": "user", "content": [{"text": text}]}]})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn converse_round_trip() {
    let app = app();
    let (status, headers, body) = call(
        &app,
        signed(
            "POST",
            "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
            &converse_body("hi there"),
            "emulator-secret",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(headers.contains_key("x-amzn-requestid"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "You said: hi there"
    );
    assert_eq!(v["usage"]["totalTokens"], 6);
}

#[tokio::test]
async fn pipeline_rejections_table() {
    let app = app();
    let cases: Vec<(&str, &str, Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            "wrong secret",
            "/model/amazon.nova-lite-v1%3A0/converse",
            converse_body("x"),
            "bad",
            StatusCode::FORBIDDEN,
            "InvalidSignatureException",
        ),
        (
            "invalid JSON",
            "/model/amazon.nova-lite-v1%3A0/converse",
            b"{not json".to_vec(),
            "emulator-secret",
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            "unknown model",
            "/model/amazon.nova-giga-v9%3A0/converse",
            converse_body("x"),
            "emulator-secret",
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            "denied model",
            "/model/amazon.nova-pro-v1%3A0/converse",
            converse_body("x"),
            "emulator-secret",
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
        ),
        (
            "profile-only by base id",
            "/model/deepseek.r1-v1%3A0/converse",
            converse_body("x"),
            "emulator-secret",
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            "error directive",
            "/model/amazon.nova-lite-v1%3A0/converse",
            converse_body("[[emu:error=ModelTimeoutException]]"),
            "emulator-secret",
            StatusCode::REQUEST_TIMEOUT,
            "ModelTimeoutException",
        ),
        (
            "unknown operation",
            "/model/amazon.nova-lite-v1%3A0/count-tokens",
            converse_body("x"),
            "emulator-secret",
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
        ),
    ];
    for (name, path, body, secret, status, code) in cases {
        let (got, headers, bytes) = call(&app, signed("POST", path, &body, secret)).await;
        assert_eq!(got, status, "{name}: {}", String::from_utf8_lossy(&bytes));
        let error_type = headers["x-amzn-errortype"].to_str().unwrap();
        assert_eq!(error_type.split(':').next(), Some(code), "{name}");
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn converse_stream_frames() {
    let app = app();
    let (status, headers, bytes) = call(
        &app,
        signed(
            "POST",
            "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
            &converse_body("[[emu:words=3]]"),
            "emulator-secret",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], stream::EVENTSTREAM_CONTENT_TYPE);
    let frames = stream::decode_all(&bytes).unwrap();
    let kinds: Vec<&str> = frames
        .iter()
        .map(|f| stream::header_value(f, ":event-type").unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    let text: String = frames
        .iter()
        .filter_map(|f| {
            let v: Value = serde_json::from_slice(f.payload()).unwrap();
            v.pointer("/delta/text")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "lorem ipsum dolor");
}

#[tokio::test]
async fn control_plane_and_recording() {
    let app = app();
    let (status, _, bytes) = call(
        &app,
        signed(
            "GET",
            "/foundation-models?byProvider=Meta",
            b"",
            "emulator-secret",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let ids: Vec<&str> = v["modelSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["modelId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "meta.llama3-8b-instruct-v1:0",
            "meta.llama3-2-11b-instruct-v1:0"
        ]
    );

    let (status, _, bytes) = call(
        &app,
        signed(
            "GET",
            "/inference-profiles?maxResults=2",
            b"",
            "emulator-secret",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["inferenceProfileSummaries"].as_array().unwrap().len(), 2);
    assert!(v["nextToken"].is_string());

    let request = Request::builder()
        .uri("/_emulator/requests")
        .body(Body::empty())
        .unwrap();
    let (status, _, bytes) = call(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    let recorded: Value = serde_json::from_slice(&bytes).unwrap();
    let ops: Vec<&str> = recorded
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["ListFoundationModels", "ListInferenceProfiles"]);
    assert_eq!(recorded[0]["query"], "byProvider=Meta");
    assert_eq!(recorded[0]["headers"]["host"], HOST);
}

#[tokio::test]
async fn embeddings() {
    let app = app();
    let body = json!({"inputText": "one two three", "dimensions": 512}).to_string();
    let (status, headers, bytes) = call(
        &app,
        signed(
            "POST",
            "/model/amazon.titan-embed-text-v2%3A0/invoke",
            body.as_bytes(),
            "emulator-secret",
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(headers["x-amzn-bedrock-input-token-count"], "3");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["embedding"].as_array().unwrap().len(), 512);
}
