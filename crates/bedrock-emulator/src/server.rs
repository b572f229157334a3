//! The HTTP server: one router serving Bedrock Runtime, the Bedrock control plane and the
//! `/_emulator` admin API on one port.
//!
//! Every Bedrock route runs the same pipeline: read the body → verify SigV4 / API key → validate
//! URI, query and body against the service model → resolve the model → operation logic. The
//! request is recorded (unless `--fast`) with the status it got.

use crate::catalog::{self, ModelFilter, ModelKind};
use crate::config::EmulatorConfig;
use crate::converse;
use crate::errors::ApiError;
use crate::features;
use crate::invoke;
use crate::recording::{self, RecordedRequest, Recorder};
use crate::service_model::{self, validation_message, Location, ServiceModel, ServiceModels};
use crate::sigv4_verify::{self, Principal, ReceivedRequest};
use crate::stream;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// InvokeModel's `Body` shape allows 25,000,000 bytes; leave room for JSON overhead elsewhere.
const MAX_BODY_BYTES: usize = 26 * 1024 * 1024;

/// Shared state of all handlers.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub config: EmulatorConfig,
    /// Both service models.
    pub models: &'static ServiceModels,
    /// Recorded requests.
    pub recorder: Recorder,
    /// Prompt prefixes seen, for cache read/write usage.
    pub prompt_cache: features::PromptCache,
    /// `fail-times=K`: how often each (error, text) has failed so far.
    pub failures: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// Whether a request asking for an injected error still gets it (`fail-times` not used up).
fn should_fail(app: &AppState, name: &str, directives: &crate::directives::Directives) -> bool {
    let Some(limit) = directives.fail_times else {
        return true;
    };
    let mut failures = app
        .failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = failures
        .entry(format!("{name}|{}", directives.stripped))
        .or_insert(0);
    *seen += 1;
    *seen <= limit
}

type Shared = Arc<AppState>;

/// The operations the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `POST /model/{modelId}/converse`
    Converse,
    /// `POST /model/{modelId}/converse-stream`
    ConverseStream,
    /// `POST /model/{modelId}/invoke`
    InvokeModel,
    /// `GET /foundation-models`
    ListFoundationModels,
    /// `GET /foundation-models/{modelIdentifier}`
    GetFoundationModel,
    /// `GET /inference-profiles`
    ListInferenceProfiles,
}

impl Op {
    /// The operation's name in the service model.
    pub fn name(self) -> &'static str {
        match self {
            Op::Converse => "Converse",
            Op::ConverseStream => "ConverseStream",
            Op::InvokeModel => "InvokeModel",
            Op::ListFoundationModels => "ListFoundationModels",
            Op::GetFoundationModel => "GetFoundationModel",
            Op::ListInferenceProfiles => "ListInferenceProfiles",
        }
    }

    fn model(self, models: &'static ServiceModels) -> &'static ServiceModel {
        match self {
            Op::Converse | Op::ConverseStream | Op::InvokeModel => &models.runtime,
            _ => &models.control,
        }
    }

    /// The still-encoded URI label of this operation (`modelId` / `modelIdentifier`).
    fn raw_label(self, path: &str) -> Option<(&'static str, &str)> {
        match self {
            Op::Converse => label_between(path, "/model/", "/converse").map(|l| ("modelId", l)),
            Op::ConverseStream => {
                label_between(path, "/model/", "/converse-stream").map(|l| ("modelId", l))
            }
            Op::InvokeModel => label_between(path, "/model/", "/invoke").map(|l| ("modelId", l)),
            Op::GetFoundationModel => {
                label_between(path, "/foundation-models/", "").map(|l| ("modelIdentifier", l))
            }
            Op::ListFoundationModels | Op::ListInferenceProfiles => None,
        }
    }
}

fn label_between<'a>(path: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)?.strip_suffix(suffix)
}

fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Query pairs, decoded like a form (`+` is a space).
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_default();
            (decode(k), decode(v))
        })
        .collect()
}

/// Builds the router for `config`.
pub fn router(config: EmulatorConfig) -> Result<Router, String> {
    let models = service_model::models()?;
    let recorder = Recorder::new(!config.fast, config.recording_capacity);
    let state: Shared = Arc::new(AppState {
        config,
        models,
        recorder,
        prompt_cache: features::PromptCache::default(),
        failures: Default::default(),
    });
    Ok(Router::new()
        .route("/model/{model_id}/converse", post(converse_route))
        .route(
            "/model/{model_id}/converse-stream",
            post(converse_stream_route),
        )
        .route("/model/{model_id}/invoke", post(invoke_route))
        .route("/foundation-models", get(list_foundation_models_route))
        .route(
            "/foundation-models/{model_identifier}",
            get(get_foundation_model_route),
        )
        .route("/inference-profiles", get(list_inference_profiles_route))
        .route(
            "/_emulator/requests",
            get(admin_requests).delete(admin_clear_requests),
        )
        .route("/_emulator/health", get(admin_health))
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        // Outermost last: a caught panic still gets its x-amzn-RequestId.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send + 'static>| {
                ApiError::modeled(
                    "InternalServerException",
                    "The emulator hit an internal error while processing the request.",
                )
                .into_response()
            },
        ))
        .layer(axum::middleware::map_response(add_request_id))
        .with_state(state))
}

async fn add_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("x-amzn-requestid") {
        if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            response.headers_mut().insert("x-amzn-RequestId", v);
        }
    }
    response
}

async fn unknown_operation() -> Response {
    ApiError::unknown_operation().into_response()
}

async fn converse_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::Converse, req).await
}
async fn converse_stream_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::ConverseStream, req).await
}
async fn invoke_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::InvokeModel, req).await
}
async fn list_foundation_models_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::ListFoundationModels, req).await
}
async fn get_foundation_model_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::GetFoundationModel, req).await
}
async fn list_inference_profiles_route(State(app): State<Shared>, req: Request) -> Response {
    handle(app, Op::ListInferenceProfiles, req).await
}

async fn admin_requests(State(app): State<Shared>) -> Response {
    Json(app.recorder.snapshot()).into_response()
}

async fn admin_clear_requests(State(app): State<Shared>) -> Response {
    app.recorder.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_health(State(app): State<Shared>) -> Response {
    Json(json!({
        "status": "ok",
        "fast": app.config.fast,
        "recording": app.recorder.enabled(),
        "regions": app.config.regions,
        "streams": {
            "open": stream::STREAMS_OPEN.load(std::sync::atomic::Ordering::SeqCst),
            "aborted": stream::STREAMS_ABORTED.load(std::sync::atomic::Ordering::SeqCst),
        },
    }))
    .into_response()
}

fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_string())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&v);
            })
            .or_insert(v);
    }
    out
}

/// Everything a Bedrock operation needs about its request.
struct Incoming<'a> {
    op: Op,
    region: String,
    /// Decoded URI label (model id), for runtime operations and GetFoundationModel.
    label: Option<String>,
    query: Vec<(String, String)>,
    body: &'a [u8],
    started: Instant,
}

async fn handle(app: Shared, op: Op, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::validation(format!(
                "The request body exceeds the maximum of {MAX_BODY_BYTES} bytes."
            ))
            .into_response()
        }
    };
    let label = op
        .raw_label(parts.uri.path())
        .map(|(_, raw)| percent_decode(raw));
    let response = match process(&app, op, &parts, &body, label.clone(), started).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if app.recorder.enabled() {
        app.recorder.record(RecordedRequest {
            seq: 0,
            operation: op.name().to_string(),
            model_id: label.flatten(),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: header_map(&parts.headers),
            body: recording::body_value(&body),
            status: response.status().as_u16(),
        });
    }
    response
}

async fn process(
    app: &Shared,
    op: Op,
    parts: &http::request::Parts,
    body: &[u8],
    label: Option<Option<String>>,
    started: Instant,
) -> Result<Response, ApiError> {
    let received = ReceivedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
        body,
    };
    let principal = sigv4_verify::verify(&app.config, &received, SystemTime::now())?;
    let region = match principal {
        Principal::SigV4 { region, .. } => region,
        Principal::ApiKey => app.config.default_region().to_string(),
    };
    let model = op.model(app.models);

    // URI label: must decode, and must satisfy its shape.
    let label = match label {
        None => None,
        Some(None) => return Err(catalog::invalid_identifier()),
        Some(Some(decoded)) => {
            if let Some((name, _)) = op.raw_label(parts.uri.path()) {
                let violations =
                    model.validate_params(op.name(), Location::Uri, &[(name, decoded.as_str())]);
                if !violations.is_empty() {
                    return Err(ApiError::validation(validation_message(&violations)));
                }
            }
            Some(decoded)
        }
    };
    let query = query_pairs(parts.uri.query());
    let refs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let violations = model.validate_params(op.name(), Location::Querystring, &refs);
    if !violations.is_empty() {
        return Err(ApiError::validation(validation_message(&violations)));
    }

    let incoming = Incoming {
        op,
        region,
        label,
        query,
        body,
        started,
    };
    match op {
        Op::Converse | Op::ConverseStream => converse_op(app, &incoming).await,
        Op::InvokeModel => invoke_op(app, &incoming).await,
        Op::ListFoundationModels => list_foundation_models(app, &incoming),
        Op::GetFoundationModel => get_foundation_model(&incoming),
        Op::ListInferenceProfiles => list_inference_profiles(app, &incoming),
    }
}

fn json_response(value: &Value) -> Response {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Resolves the model id and applies the access checks every runtime operation shares.
fn resolve_runtime_model(
    app: &Shared,
    incoming: &Incoming<'_>,
) -> Result<catalog::Resolved, ApiError> {
    let id = incoming.label.as_deref().unwrap_or_default();
    let resolved = catalog::resolve(id, &incoming.region)?;
    let denied = &app.config.denied_models;
    if denied.contains(id) || denied.contains(resolved.model.model_id) {
        return Err(ApiError::access_denied(
            "You don't have access to the model with the specified model ID.",
        ));
    }
    Ok(resolved)
}

async fn converse_op(app: &Shared, incoming: &Incoming<'_>) -> Result<Response, ApiError> {
    let op_name = incoming.op.name();
    let body: Value = if incoming.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(incoming.body).map_err(|_| {
            ApiError::validation(
                "Malformed input request, please reformat your input and try again.",
            )
        })?
    };
    let violations = app.models.runtime.validate_body(op_name, &body);
    if !violations.is_empty() {
        return Err(ApiError::validation(validation_message(&violations)));
    }
    let resolved = resolve_runtime_model(app, incoming)?;
    if resolved.model.kind != ModelKind::Chat {
        return Err(ApiError::validation(
            "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
        ));
    }
    catalog::check_on_demand(&resolved)?;
    converse::check_semantics(&body)?;
    features::check_reasoning(&body)?;
    let directives = converse::directives(&body)?;
    if let Some(ms) = directives.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(name) = directives
        .error
        .as_ref()
        .filter(|name| should_fail(app, name, &directives))
    {
        let arn = catalog::foundation_model_arn(&incoming.region, resolved.model.model_id);
        if let Some(error) = ApiError::from_directive(name, &arn) {
            return Err(error);
        }
    }
    let mut answer = converse::answer(&body, &directives);
    features::enrich(&body, &directives, &mut answer, &app.prompt_cache);
    if incoming.op == Op::Converse {
        return Ok(json_response(&converse::response_json(
            &answer,
            elapsed_ms(incoming.started),
        )));
    }
    let items = stream::plan(
        &answer,
        directives
            .stream_error
            .as_ref()
            .map(|(name, n)| (name.as_str(), *n)),
    );
    let body = stream::body_with_fault(
        items,
        directives.frame_delay_ms.map(Duration::from_millis),
        incoming.started,
        directives.stream_fault,
    );
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(stream::EVENTSTREAM_CONTENT_TYPE),
    );
    Ok(response)
}

async fn invoke_op(app: &Shared, incoming: &Incoming<'_>) -> Result<Response, ApiError> {
    let resolved = resolve_runtime_model(app, incoming)?;
    let ModelKind::Embedding(family) = resolved.model.kind else {
        return Err(ApiError::validation(format!(
            "The emulator implements InvokeModel only for embedding models; use Converse for {}.",
            resolved.model.model_id
        )));
    };
    catalog::check_on_demand(&resolved)?;
    let body: Value = serde_json::from_slice(incoming.body).map_err(|_| {
        ApiError::validation("Malformed input request, please reformat your input and try again.")
    })?;
    invoke::validate(family, &body)?;
    let directives =
        crate::directives::parse(invoke::directive_text(&body)).map_err(ApiError::validation)?;
    if let Some(ms) = directives.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(name) = &directives.error {
        let arn = catalog::foundation_model_arn(&incoming.region, resolved.model.model_id);
        if let Some(error) = ApiError::from_directive(name, &arn) {
            return Err(error);
        }
    }
    let (answer, input_tokens) = invoke::embed(family, &body);
    let mut response = json_response(&answer);
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-amzn-bedrock-input-token-count", input_tokens),
        ("x-amzn-bedrock-output-token-count", 0),
        (
            "x-amzn-bedrock-invocation-latency",
            elapsed_ms(incoming.started),
        ),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    Ok(response)
}

fn list_denied(operation: &str) -> ApiError {
    ApiError::access_denied(format!(
        "User: arn:aws:iam::{}:user/emulator is not authorized to perform: bedrock:{operation} because no identity-based policy allows the bedrock:{operation} action",
        catalog::ACCOUNT_ID
    ))
}

fn query_value<'a>(incoming: &'a Incoming<'_>, name: &str) -> Option<&'a str> {
    incoming
        .query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn list_foundation_models(app: &Shared, incoming: &Incoming<'_>) -> Result<Response, ApiError> {
    if app.config.list_fails {
        return Err(list_denied("ListFoundationModels"));
    }
    let filter = ModelFilter {
        provider: query_value(incoming, "byProvider").map(str::to_string),
        customization: query_value(incoming, "byCustomizationType").map(str::to_string),
        output_modality: query_value(incoming, "byOutputModality").map(str::to_string),
        inference_type: query_value(incoming, "byInferenceType").map(str::to_string),
    };
    let summaries: Vec<Value> = if app.config.empty_catalog {
        Vec::new()
    } else {
        catalog::FOUNDATION_MODELS
            .iter()
            .filter(|m| filter.matches(m))
            .map(|m| catalog::model_summary(m, &incoming.region))
            .collect()
    };
    Ok(json_response(&json!({"modelSummaries": summaries})))
}

fn get_foundation_model(incoming: &Incoming<'_>) -> Result<Response, ApiError> {
    let id = incoming.label.as_deref().unwrap_or_default();
    let base = id
        .rsplit_once("foundation-model/")
        .map_or(id, |(_, model_id)| model_id);
    let Some(model) = catalog::find_model(base) else {
        return Err(ApiError::modeled(
            "ResourceNotFoundException",
            format!("The model {id} could not be found."),
        ));
    };
    Ok(json_response(&json!({
        "modelDetails": catalog::model_summary(model, &incoming.region)
    })))
}

fn list_inference_profiles(app: &Shared, incoming: &Incoming<'_>) -> Result<Response, ApiError> {
    if app.config.list_fails {
        return Err(list_denied("ListInferenceProfiles"));
    }
    let wanted = query_value(incoming, "type");
    let profiles: Vec<catalog::InferenceProfile> = if app.config.empty_catalog {
        Vec::new()
    } else {
        catalog::inference_profiles(&incoming.region)
            .into_iter()
            .filter(|p| wanted.is_none_or(|w| p.profile_type.as_str() == w))
            .collect()
    };
    // The service model validated maxResults to 1..=1000 already.
    let page_size = query_value(incoming, "maxResults")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1000);
    let offset = match query_value(incoming, "nextToken") {
        None => 0,
        Some(token) => decode_page_token(token)
            .filter(|o| *o <= profiles.len())
            .ok_or_else(|| ApiError::validation("The provided pagination token is invalid."))?,
    };
    let end = offset.saturating_add(page_size).min(profiles.len());
    let page: Vec<Value> = profiles[offset..end]
        .iter()
        .map(catalog::profile_summary)
        .collect();
    let mut out = json!({"inferenceProfileSummaries": page});
    if end < profiles.len() {
        out["nextToken"] = Value::String(encode_page_token(end));
    }
    Ok(json_response(&out))
}

fn encode_page_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("emulator-offset:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("emulator-offset:")?
        .parse()
        .ok()
}

/// A server running on a background task.
#[derive(Debug)]
pub struct RunningEmulator {
    /// Bound address.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningEmulator {
    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits (at most `grace`) for in-flight requests.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY, event-stream frames written after the response headers wait for the
    // client's delayed ACK (~40 ms on loopback): the real service does not stall like that.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .into_future()
        .await
}

/// Binds `host:port` (port 0 = any free port) and serves on a background task.
pub async fn spawn(
    config: EmulatorConfig,
    host: &str,
    port: u16,
) -> std::io::Result<RunningEmulator> {
    let router = router(config).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind((host, port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, async move {
        let _ = rx.await;
    }));
    Ok(RunningEmulator {
        addr,
        shutdown: Some(tx),
        task,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_queries() {
        assert_eq!(
            Op::Converse.raw_label("/model/us.x%3A0/converse"),
            Some(("modelId", "us.x%3A0"))
        );
        assert_eq!(Op::ConverseStream.raw_label("/model/a/converse"), None);
        assert_eq!(
            percent_decode("arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x"),
            Some("arn:aws:bedrock:us-east-1:1:inference-profile/us.x".into())
        );
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(
            query_pairs(Some("a=1&b=x+y&c=%3D&d")),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "=".into()),
                ("d".into(), "".into())
            ]
        );
    }

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(decode_page_token(&encode_page_token(17)), Some(17));
        assert_eq!(decode_page_token("garbage"), None);
    }
}
