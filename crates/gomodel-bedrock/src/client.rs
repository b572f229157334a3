//! The Bedrock provider: settings, construction, and the `Provider` implementation over plain,
//! SigV4-signed HTTP on the shared pooled [`HttpClient`].

use crate::catalog;
use crate::egress::EgressPolicy;
use crate::embed::{self, Options};
use crate::endpoint::{self, Endpoints};
use crate::errors::{self, bad_upstream};
use crate::eventstream::MessageDecoder;
use crate::model_urls::{ModelUrls, Operation};
use crate::profiles::{self, ProfileRouting};
use crate::retry::{self, RetryPolicy};
use crate::sign::{self, CredentialCache};
use crate::translate::{replay, request, response, stream, structured};
use crate::transport::{HttpClient, Target};
use crate::wire::converse::ConverseResponse;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::SigningSettings;
use bytes::Bytes;
use futures::StreamExt;
use gomodel_core::chat::{ChatRequest, ChatResponse, StreamEvent};
use gomodel_core::embed::{EmbedRequest, EmbedResponse};
use gomodel_core::model::{is_geo_prefix, ModelInfo, ModelsMode};
use gomodel_core::{EventStream, GatewayError, Provider};
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Percent-encodes everything but RFC 3986 unreserved characters: for the model id as one path
/// segment (`:` → `%3A`, `/` → `%2F`) and for query values.
pub const UNRESERVED_ONLY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const JSON: &str = "application/json";

/// Sent on every call (Bedrock and image downloads), as the shared reqwest client did before.
pub(crate) const GOMODEL_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("gomodel/", env!("CARGO_PKG_VERSION")));
/// reqwest's default `accept`, kept for calls that do not name one.
const ANY: HeaderValue = HeaderValue::from_static("*/*");

/// Time limits for upstream calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect; applied by [`http_client`] (a passed-in client keeps its own).
    pub connect: Duration,
    /// A whole Converse / InvokeModel call, and a ConverseStream call up to its response headers.
    pub request: Duration,
    /// Longest silence between two chunks of a stream before it is cut with a 504.
    pub stream_idle: Duration,
    /// A control-plane listing call (one page).
    pub listing: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            // Long non-streamed answers with extended thinking take minutes.
            request: Duration::from_secs(600),
            stream_idle: Duration::from_secs(300),
            listing: Duration::from_secs(30),
        }
    }
}

/// How one Bedrock provider is configured (see docs/architecture.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockSettings {
    /// Registry name: `bedrock`, `bedrock-us`, or the YAML key.
    pub name: String,
    /// `BEDROCK_BASE_URL` / YAML `base_url`: empty, a region, or a full URL.
    pub base_url: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region_fallback: Option<String>,
    /// `BEDROCK_MODELS` / YAML `models`.
    pub models: Vec<String>,
    pub models_mode: ModelsMode,
    pub timeouts: Timeouts,
    /// A Bedrock API key (YAML `api_key`, else `AWS_BEARER_TOKEN_BEDROCK`): sent as
    /// `Authorization: Bearer` instead of SigV4 signing, as AWS's SDKs do.
    pub api_key: Option<ApiKey>,
    /// YAML `inference_profiles` / `BEDROCK[_<SUFFIX>]_INFERENCE_PROFILES`.
    pub inference_profiles: ProfileRouting,
    pub retry: RetryPolicy,
    /// YAML `guardrail` / `BEDROCK[_<SUFFIX>]_GUARDRAIL_*`: applied to chat calls without their
    /// own `guardrailConfig`.
    pub guardrail: Option<crate::guardrail::GuardrailSettings>,
    /// `IMAGE_FETCH_ALLOW_PRIVATE` / `image_fetch.allow_private`: where the image URLs of
    /// requests may be downloaded from (public addresses only by default).
    pub image_fetch: EgressPolicy,
}

/// A secret that never shows up in `Debug` output (settings are logged at startup).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl Default for BedrockSettings {
    fn default() -> Self {
        Self {
            name: "bedrock".to_owned(),
            base_url: None,
            region_fallback: None,
            models: Vec::new(),
            models_mode: ModelsMode::default(),
            timeouts: Timeouts::default(),
            api_key: None,
            inference_profiles: ProfileRouting::default(),
            retry: RetryPolicy::default(),
            guardrail: None,
            image_fetch: EgressPolicy::default(),
        }
    }
}

impl BedrockSettings {
    /// How the base URL setting is called, for error messages: `BEDROCK_BASE_URL` for `bedrock`,
    /// `BEDROCK_US_BASE_URL` for `bedrock-us`, the YAML path otherwise.
    pub fn base_url_setting(&self) -> String {
        if self.name == "bedrock"
            || self.name.starts_with("bedrock-")
            || self.name.starts_with("bedrock_")
        {
            format!(
                "{}_BASE_URL",
                self.name.to_ascii_uppercase().replace('-', "_")
            )
        } else {
            format!("providers.{}.base_url", self.name)
        }
    }
}

/// A Bedrock client with `timeouts.connect` (keep-alive pool, TCP_NODELAY, environment
/// proxies), for callers that do not share one of their own.
pub fn http_client(timeouts: &Timeouts) -> Result<HttpClient, GatewayError> {
    HttpClient::new(timeouts.connect)
}

/// One request to Bedrock, before signing.
struct Call<'a> {
    method: Method,
    target: Target,
    body: Bytes,
    /// Signed along with `host`; static, so they become header values without a copy.
    headers: &'static [(&'static str, &'static str)],
    /// The operation, for error messages.
    what: &'static str,
    /// The model called, for error hints that name it.
    model: Option<&'a str>,
}

/// Everything needed to send signed requests; shared by the provider and the catalog.
pub struct Upstream {
    name: String,
    endpoints: Endpoints,
    http: HttpClient,
    credentials: Arc<CredentialCache>,
    signing: SigningSettings,
    timeouts: Timeouts,
    /// `Authorization: Bearer` value (with the prefix) replacing SigV4 when set.
    bearer: Option<http::HeaderValue>,
    retry: RetryPolicy,
    routing: ProfileRouting,
    /// Profile-only base id → the inference profile it is sent to (see `profiles`).
    routes: ArcSwap<HashMap<String, String>>,
    urls: ModelUrls,
}

impl Upstream {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn control_base(&self) -> &str {
        &self.endpoints.control
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn routing(&self) -> ProfileRouting {
        self.routing
    }

    /// Replaces the routing table (after a listing).
    pub fn set_routes(&self, routes: HashMap<String, String>) {
        self.routes.store(Arc::new(routes));
    }

    /// The id to call for `model`: its inference profile when it is routed, else itself.
    pub fn route(&self, model: &str) -> String {
        self.routes
            .load()
            .get(model)
            .cloned()
            .unwrap_or_else(|| model.to_owned())
    }

    /// After Bedrock refused `model` on demand although the listing did not say so (or there
    /// was no listing, e.g. in allowlist mode): looks for a fitting system profile and
    /// remembers it, so the next request goes there directly.
    async fn discover_profile(&self, model: &str) -> Option<String> {
        let listed = match catalog::fetch_profiles(self).await {
            Ok(listed) => listed,
            Err(err) => {
                tracing::warn!(provider = %self.name, error = %err, "could not list inference profiles to route a profile-only model");
                return None;
            }
        };
        let profile = profiles::best_profile(&listed, model, &self.endpoints.region)?.to_owned();
        let mut routes = HashMap::clone(&self.routes.load());
        routes.insert(model.to_owned(), profile.clone());
        self.set_routes(routes);
        Some(profile)
    }

    /// Signs and sends one request; a non-2xx answer becomes the mapped `GatewayError`. Not
    /// bounded in time: callers put their deadline around it (and around the body).
    async fn send(&self, call: Call<'_>) -> Result<Response<Incoming>, GatewayError> {
        let req = self
            .signed_request(call.method, call.target, call.body, call.headers)
            .await?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| errors::from_transport(&e, call.what))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let (parts, body) = resp.into_parts();
        // The error body explains the failure; if even that breaks off, the status still maps.
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let err = errors::from_response(parts.status.as_u16(), &parts.headers, &body, call.model);
        if errors::is_expired_credentials(&err) {
            self.credentials.invalidate();
        }
        tracing::debug!(provider = %self.name, operation = call.what, status = parts.status.as_u16(), code = ?err.code, "Bedrock error");
        Err(err)
    }

    /// The request with the caller's headers and the authentication: the API key as `Bearer`,
    /// else SigV4 over the URL text, which is exactly what goes on the wire.
    async fn signed_request(
        &self,
        method: Method,
        target: Target,
        body: Bytes,
        headers: &'static [(&'static str, &'static str)],
    ) -> Result<Request<Full<Bytes>>, GatewayError> {
        // Room for the caller's headers, user-agent, accept and the three signing headers.
        let mut map = HeaderMap::with_capacity(headers.len() + 5);
        for (name, value) in headers {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map.insert(USER_AGENT, GOMODEL_AGENT);
        map.entry(ACCEPT).or_insert(ANY);
        match &self.bearer {
            Some(bearer) => {
                map.insert(AUTHORIZATION, bearer.clone());
            }
            None => {
                let credentials = self.credentials.get().await?;
                let signed = sign::sign_headers(
                    &credentials,
                    &self.endpoints.region,
                    SystemTime::now(),
                    &self.signing,
                    method.as_str(),
                    target.as_str(),
                    headers,
                    &body,
                )?;
                for (name, value) in signed {
                    // `from_static`: a known-valid name without the copy `&str` parsing makes.
                    map.insert(HeaderName::from_static(name), value);
                }
            }
        }
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = target.uri().clone();
        *req.headers_mut() = map;
        Ok(req)
    }

    /// Sends `call` and reads its whole answer within `deadline`, as reqwest's per-request
    /// timeout did; returns the answer headers and body.
    async fn exchange(
        &self,
        call: Call<'_>,
        deadline: Duration,
    ) -> Result<(HeaderMap, Bytes), GatewayError> {
        let what = call.what;
        let whole = async {
            let (parts, body) = self.send(call).await?.into_parts();
            // Usually one chunk, handed over without a copy.
            let bytes = body
                .collect()
                .await
                .map_err(|e| errors::from_transport(&e, what))?
                .to_bytes();
            Ok((parts.headers, bytes))
        };
        tokio::time::timeout(deadline, whole)
            .await
            .unwrap_or_else(|_| Err(errors::deadline(what, deadline)))
    }

    /// A signed GET on the control plane, decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<T, GatewayError> {
        let target = Target::parse(url).map_err(|e| {
            GatewayError::internal(format!("invalid Bedrock {what} URL {url}: {e}"))
        })?;
        let (_, bytes) = retry::run(&self.retry, &self.name, what, || {
            let call = Call {
                method: Method::GET,
                target: target.clone(),
                body: Bytes::new(),
                headers: &[],
                what,
                model: None,
            };
            self.exchange(call, self.timeouts.listing)
        })
        .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| bad_upstream(format!("could not decode the Bedrock {what} answer: {e}")))
    }

    /// A signed POST to `/model/{id}/{operation}` with a JSON body; returns the answer bytes and
    /// Bedrock's input-token header (InvokeModel).
    async fn post_model(
        &self,
        model: &str,
        operation: Operation,
        body: Bytes,
        what: &'static str,
    ) -> Result<(Bytes, Option<u64>), GatewayError> {
        let target = self.urls.get(model, operation)?;
        // Nothing reached the client yet, so the whole exchange may be retried.
        let (headers, bytes) = retry::run(&self.retry, &self.name, what, || {
            let call = Call {
                method: Method::POST,
                target: target.clone(),
                body: body.clone(),
                headers: &[("content-type", JSON), ("accept", JSON)],
                what,
                model: Some(model),
            };
            self.exchange(call, self.timeouts.request)
        })
        .await?;
        let tokens = headers
            .get("x-amzn-bedrock-input-token-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok((bytes, tokens))
    }
}

/// The Amazon Bedrock provider.
pub struct BedrockProvider {
    up: Arc<Upstream>,
    /// Downloads the image URLs of requests (`fetch`): a sibling of the Bedrock client with its
    /// own pool and the settings' [`EgressPolicy`].
    images: HttpClient,
    models: Vec<String>,
    mode: ModelsMode,
    guardrail: Option<crate::guardrail::GuardrailSettings>,
}

impl BedrockProvider {
    /// Resolves the endpoints and loads the AWS default credential chain once. Missing
    /// credentials do not fail construction: they are logged, and requests fail with an error
    /// that lists the chain tried until credentials appear.
    /// `http` talks to Bedrock; image URLs are downloaded on a checked sibling of it.
    pub async fn new(
        mut settings: BedrockSettings,
        http: HttpClient,
    ) -> Result<Self, GatewayError> {
        // The SDK's region order: AWS_REGION / AWS_DEFAULT_REGION (already in the settings),
        // then the profile's `region` (IMDS is not asked: a region must be explicit here).
        if settings.region_fallback.is_none() {
            use aws_config::meta::region::ProvideRegion;
            settings.region_fallback = aws_config::profile::ProfileFileRegionProvider::new()
                .region()
                .await
                .map(|r| r.as_ref().to_owned());
        }
        let endpoints = endpoint::resolve(
            &settings.base_url_setting(),
            settings.base_url.as_deref(),
            settings.region_fallback.as_deref(),
        )?;
        // With an API key nothing is signed, so the chain (and its IMDS/STS probes) is skipped.
        if settings.api_key.is_some() {
            return Self::build(settings, http, endpoints, CredentialCache::new(None));
        }
        let credentials = CredentialCache::from_default_chain(&endpoints.region).await;
        let provider = Self::build(settings, http, endpoints, credentials)?;
        provider.warm_credentials();
        Ok(provider)
    }

    /// Like [`BedrockProvider::new`] with an explicit credentials provider instead of the default
    /// chain (tests, embedding applications).
    pub fn with_credentials(
        settings: BedrockSettings,
        http: HttpClient,
        credentials: SharedCredentialsProvider,
    ) -> Result<Self, GatewayError> {
        let endpoints = endpoint::resolve(
            &settings.base_url_setting(),
            settings.base_url.as_deref(),
            settings.region_fallback.as_deref(),
        )?;
        Self::build(
            settings,
            http,
            endpoints,
            CredentialCache::new(Some(credentials)),
        )
    }

    fn build(
        settings: BedrockSettings,
        http: HttpClient,
        endpoints: Endpoints,
        credentials: Arc<CredentialCache>,
    ) -> Result<Self, GatewayError> {
        let bearer = match &settings.api_key {
            None => None,
            Some(ApiKey(key)) => {
                let mut value = http::HeaderValue::try_from(format!("Bearer {}", key.trim()))
                    .map_err(|_| {
                        GatewayError::internal(format!(
                            "provider {}: the Bedrock API key contains characters not allowed in an HTTP header",
                            settings.name
                        ))
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        tracing::info!(
            provider = %settings.name,
            runtime = %endpoints.runtime,
            control = %endpoints.control,
            region = %endpoints.region,
            auth = if bearer.is_some() { "bedrock-api-key" } else { "sigv4" },
            inference_profiles = ?settings.inference_profiles,
            max_retries = settings.retry.max_retries,
            image_fetch_allow_private = settings.image_fetch.allow_private,
            "Bedrock provider configured"
        );
        let models = settings
            .models
            .iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        Ok(Self {
            images: http.with_egress_policy(settings.image_fetch),
            up: Arc::new(Upstream {
                name: settings.name,
                http,
                credentials,
                signing: sign::settings(),
                timeouts: settings.timeouts,
                bearer,
                retry: settings.retry,
                routing: settings.inference_profiles,
                routes: ArcSwap::from_pointee(HashMap::new()),
                urls: ModelUrls::new(&endpoints.runtime),
                endpoints,
            }),
            models,
            mode: settings.models_mode,
            guardrail: settings.guardrail,
        })
    }

    /// Calls `call` with the id to send for `model` (its profile when routed). When Bedrock
    /// refuses a base id on demand that was not routed, retries once through the fitting
    /// system profile; when there is none, the refusal (with its advice) stands.
    async fn routed<T, F, Fut>(&self, model: &str, call: F) -> Result<T, GatewayError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, GatewayError>>,
    {
        let target = self.up.route(model);
        let routed = target != model;
        let err = match call(target).await {
            Err(err)
                if !routed
                    && self.up.routing == ProfileRouting::Auto
                    && errors::is_on_demand_refusal(&err) =>
            {
                err
            }
            other => return other,
        };
        match self.up.discover_profile(model).await {
            Some(profile) => {
                tracing::info!(provider = %self.up.name, model, profile = %profile, "routing a profile-only model to its inference profile");
                call(profile).await
            }
            None => Err(err),
        }
    }

    /// Opens a ConverseStream for `model` and waits for its first event, retrying (nothing has
    /// reached the client yet) on retryable failures.
    async fn open_stream(&self, model: String, body: Bytes) -> Result<EventStream, GatewayError> {
        let up = &self.up;
        retry::run(&up.retry, &up.name, "ConverseStream", || {
            self.open_stream_once(model.clone(), body.clone())
        })
        .await
    }

    /// Fetches credentials once in the background so the log says early whether (and why not)
    /// the chain found any, without delaying startup by slow probes such as IMDS.
    fn warm_credentials(&self) {
        let up = Arc::clone(&self.up);
        tokio::spawn(async move {
            match up.credentials.get().await {
                Ok(_) => tracing::info!(provider = %up.name, "AWS credentials loaded for Bedrock"),
                Err(err) => tracing::warn!(
                    provider = %up.name,
                    error = %err.message,
                    "no usable AWS credentials for Bedrock yet; requests will fail until the credential chain provides some"
                ),
            }
        });
    }

    pub fn endpoints(&self) -> &Endpoints {
        self.up.endpoints()
    }

    fn check_model(model: &str) -> Result<(), GatewayError> {
        if model.trim().is_empty() {
            return Err(GatewayError::invalid_param(
                "model",
                "model must not be empty",
            ));
        }
        Ok(())
    }

    /// One InvokeModel call per Titan input or per Cohere batch, fanned out with bounded
    /// concurrency; a failing call fails the request at once and cancels the others.
    async fn embed_calls(
        &self,
        model: &str,
        options: &Options,
        inputs: &[String],
    ) -> Result<EmbedResponse, GatewayError> {
        let (per_call, concurrency) = options.batching();
        let calls = inputs.len().div_ceil(per_call);
        // Indices rather than borrowed items: borrowed closure arguments trip the
        // higher-ranked `Send` check of the `async_trait` future.
        let results = embed::fan_out(calls, concurrency, |c| async move {
            let start = c * per_call;
            let batch = inputs
                .get(start..inputs.len().min(start + per_call))
                .unwrap_or_default();
            let body = Bytes::from(options.body(batch)?);
            let (bytes, header_tokens) = self
                .up
                .post_model(model, Operation::Invoke, body, "InvokeModel")
                .await?;
            options.parse(&bytes, batch.len(), header_tokens)
        })
        .await?;
        Ok(embed::merge(results))
    }

    async fn open_stream_once(
        &self,
        model: String,
        body: Bytes,
    ) -> Result<EventStream, GatewayError> {
        let call = Call {
            method: Method::POST,
            target: self.up.urls.get(&model, Operation::ConverseStream)?,
            body,
            headers: &[("content-type", JSON)],
            what: "ConverseStream",
            model: Some(&model),
        };
        let timeouts = self.up.timeouts;
        // No whole-call deadline here: it would cut long streams. The headers get
        // `timeouts.request`, the body `timeouts.stream_idle` per chunk.
        let resp = tokio::time::timeout(timeouts.request, self.up.send(call))
            .await
            .unwrap_or_else(|_| Err(errors::deadline("ConverseStream", timeouts.request)))?;
        // Chunks go to the decoder as they arrive.
        let body = resp
            .into_body()
            .into_data_stream()
            .map(|r| r.map_err(|e| errors::from_transport(&e, "ConverseStream")));
        let mut pump = EventPump {
            decoder: MessageDecoder::new(body, timeouts.stream_idle),
            model,
            saw_stop: false,
            done: false,
        };
        // Wait for the first event so an exception sent before any content (throttling,
        // validation) becomes a normal HTTP error rather than a broken stream.
        match pump.next().await {
            Some(Ok(first)) => Ok(futures::stream::once(async move { Ok(first) })
                .chain(pump.into_stream())
                .boxed()),
            Some(Err(e)) => Err(e),
            None => Err(bad_upstream("Bedrock stream ended before any event")),
        }
    }
}

/// Turns decoded messages into neutral events: skips events with no neutral meaning, ends after
/// the first error, and reports a body that ends before `messageStop` instead of ending
/// silently.
struct EventPump {
    decoder: MessageDecoder,
    model: String,
    saw_stop: bool,
    done: bool,
}

impl EventPump {
    async fn next(&mut self) -> Option<Result<StreamEvent, GatewayError>> {
        if self.done {
            return None;
        }
        loop {
            let item = match self.decoder.next_message().await {
                None if self.saw_stop => None,
                None => Some(Err(bad_upstream(
                    "Bedrock stream ended before messageStop (connection closed early)",
                )
                .retryable(true))),
                Some(Err(e)) => Some(Err(e)),
                Some(Ok(msg)) => match stream::event(&msg, Some(&self.model)) {
                    Ok(None) => continue,
                    Ok(Some(ev)) => {
                        if matches!(ev, StreamEvent::MessageStop { .. }) {
                            self.saw_stop = true;
                        }
                        Some(Ok(ev))
                    }
                    Err(e) => Some(Err(e)),
                },
            };
            if !matches!(item, Some(Ok(_))) {
                self.done = true;
            }
            return item;
        }
    }

    fn into_stream(self) -> impl futures::Stream<Item = Result<StreamEvent, GatewayError>> + Send {
        futures::stream::unfold(self, |mut pump| async move {
            let item = pump.next().await?;
            Some((item, pump))
        })
    }
}

fn encode_body<T: serde::Serialize>(value: &T) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| GatewayError::internal(format!("could not encode the Bedrock request: {e}")))
}

impl BedrockProvider {
    /// What chat and chat_stream share before the call: model check, image URL downloads, the
    /// provider guardrail, and the translation.
    async fn prepare(
        &self,
        mut req: ChatRequest,
        stream: bool,
    ) -> Result<request::ConverseCall, GatewayError> {
        Self::check_model(&req.model)?;
        crate::fetch::resolve_image_urls(&mut req, &self.images).await?;
        if let Some(g) = &self.guardrail {
            g.apply(&mut req.extra, stream);
        }
        crate::guardrail::drop_stream_mode(&mut req.extra, stream);
        request::to_converse(req)
    }

    /// A non-streamed Converse call and its answer.
    async fn converse(&self, call: request::ConverseCall) -> Result<ChatResponse, GatewayError> {
        let body = encode_body(&call.body)?;
        drop(call.body);
        let (bytes, _) = self
            .routed(&call.model_id, |model| {
                let body = body.clone();
                async move {
                    self.up
                        .post_model(&model, Operation::Converse, body, "Converse")
                        .await
                }
            })
            .await?;
        let parsed: ConverseResponse = serde_json::from_slice(&bytes).map_err(|e| {
            bad_upstream(format!("could not decode the Bedrock Converse answer: {e}"))
        })?;
        let answer = response::from_converse(parsed)?;
        Ok(match &call.structured_tool {
            Some(tool) => structured::answer(answer, tool),
            None => answer,
        })
    }
}

#[async_trait]
impl Provider for BedrockProvider {
    fn name(&self) -> &str {
        &self.up.name
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, GatewayError> {
        catalog::list(&self.up, &self.models, self.mode).await
    }

    async fn chat(&self, req: ChatRequest) -> Result<ChatResponse, GatewayError> {
        let call = self.prepare(req, false).await?;
        self.converse(call).await
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<EventStream, GatewayError> {
        let mut call = self.prepare(req, true).await?;
        if !request::streams_tools(&call) {
            // The family takes tools only in Converse: answer through it and replay the answer
            // as stream events, which is faithful (the client gets the same content), only
            // not incremental.
            if let Some(g) = call.body.guardrail_config.as_mut() {
                g.stream_processing_mode = None;
            }
            let answer = self.converse(call).await?;
            return Ok(futures::stream::iter(replay::events(answer).into_iter().map(Ok)).boxed());
        }
        let body = encode_body(&call.body)?;
        drop(call.body);
        let events = self
            .routed(&call.model_id, |model| {
                self.open_stream(model, body.clone())
            })
            .await?;
        Ok(match call.structured_tool {
            Some(tool) => structured::stream(events, tool),
            None => events,
        })
    }

    async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse, GatewayError> {
        Self::check_model(&req.model)?;
        let options = Options::new(&req.model, req.dimensions, &req.extra)?;
        if req.inputs.is_empty() {
            return Err(GatewayError::invalid_param(
                "input",
                "input must not be empty",
            ));
        }
        let model = self.up.route(&req.model);
        self.embed_calls(&model, &options, &req.inputs).await
    }

    fn accepts_unlisted(&self, model: &str) -> bool {
        if self.models.iter().any(|m| m == model) {
            return true;
        }
        if self.mode == ModelsMode::Allowlist {
            return false;
        }
        is_bedrock_arn(model) || is_inference_profile_id(model)
    }
}

/// `arn:aws:bedrock:...`, `arn:aws-us-gov:bedrock:...`, `arn:aws-cn:bedrock:...`.
pub fn is_bedrock_arn(model: &str) -> bool {
    model.starts_with("arn:aws") && model.contains(":bedrock:")
}

/// A cross-region inference-profile id such as `us.anthropic.claude-...` or `global.cohere...`.
pub fn is_inference_profile_id(model: &str) -> bool {
    match model.split_once('.') {
        Some((prefix, rest)) => {
            is_geo_prefix(prefix) && rest.contains('.') && !rest.starts_with('.')
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    fn provider(mode: ModelsMode, models: &[&str]) -> BedrockProvider {
        BedrockProvider::with_credentials(
            BedrockSettings {
                base_url: Some("us-east-1".into()),
                models: models.iter().map(|m| (*m).to_owned()).collect(),
                models_mode: mode,
                ..Default::default()
            },
            http_client(&Timeouts::default()).unwrap(),
            SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test")),
        )
        .unwrap()
    }

    #[test]
    fn accepts_unlisted_ids() {
        let cases = [
            (ModelsMode::Fallback, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0", true),
            (ModelsMode::Fallback, "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:provisioned-model/abc", true),
            (ModelsMode::Fallback, "us.anthropic.claude-3-7-sonnet-20250219-v1:0", true),
            (ModelsMode::Fallback, "eu.amazon.nova-lite-v1:0", true),
            (ModelsMode::Fallback, "apac.amazon.nova-pro-v1:0", true),
            (ModelsMode::Fallback, "global.anthropic.claude-sonnet-4-20250514-v1:0", true),
            (ModelsMode::Fallback, "anthropic.claude-3-5-haiku-20241022-v1:0", false),
            (ModelsMode::Fallback, "us.nothing", false),
            (ModelsMode::Fallback, "arn:aws:s3:::bucket", false),
            (ModelsMode::Fallback, "configured.model-v1", true),
            (ModelsMode::Allowlist, "us.anthropic.claude-3-7-sonnet-20250219-v1:0", false),
            (ModelsMode::Allowlist, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/x", false),
            (ModelsMode::Allowlist, "configured.model-v1", true),
        ];
        for (mode, id, want) in cases {
            let p = provider(mode, &["configured.model-v1"]);
            assert_eq!(p.accepts_unlisted(id), want, "{mode:?} {id}");
        }
    }

    #[test]
    fn base_url_setting_names() {
        let cases = [
            ("bedrock", "BEDROCK_BASE_URL"),
            ("bedrock-us", "BEDROCK_US_BASE_URL"),
            ("aws-main", "providers.aws-main.base_url"),
        ];
        for (name, want) in cases {
            let s = BedrockSettings {
                name: name.into(),
                ..Default::default()
            };
            assert_eq!(s.base_url_setting(), want);
        }
    }

    #[tokio::test]
    async fn allowlist_lists_configured_without_calling_upstream() {
        // The endpoint is unreachable; an upstream call would fail the test.
        let p = BedrockProvider::with_credentials(
            BedrockSettings {
                base_url: Some("http://127.0.0.1:9".into()),
                region_fallback: Some("us-east-1".into()),
                models: vec![
                    "us.anthropic.claude-3-7-sonnet-20250219-v1:0".into(),
                    "amazon.titan-embed-text-v2:0".into(),
                ],
                models_mode: ModelsMode::Allowlist,
                ..Default::default()
            },
            http_client(&Timeouts::default()).unwrap(),
            SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test")),
        )
        .unwrap();
        let models = p.list_models().await.unwrap();
        let ids: Vec<_> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "amazon.titan-embed-text-v2:0"
            ]
        );
    }

    #[tokio::test]
    async fn fallback_uses_configured_when_listing_fails() {
        let p = BedrockProvider::with_credentials(
            BedrockSettings {
                base_url: Some("http://127.0.0.1:9".into()),
                region_fallback: Some("us-east-1".into()),
                models: vec!["amazon.nova-lite-v1:0".into()],
                ..Default::default()
            },
            http_client(&Timeouts::default()).unwrap(),
            SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test")),
        )
        .unwrap();
        let models = p.list_models().await.unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(models[0].owned_by, "amazon");
    }
}
