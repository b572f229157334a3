//! The Bedrock provider: settings, construction, and the `Provider` implementation over plain,
//! SigV4-signed HTTP on the shared pooled `reqwest::Client`.

use crate::catalog;
use crate::embed::{self, Family, Options, COHERE_BATCH, COHERE_CONCURRENCY, TITAN_CONCURRENCY};
use crate::endpoint::{self, Endpoints};
use crate::errors::{self, bad_upstream};
use crate::eventstream::MessageDecoder;
use crate::sign::{self, CredentialCache};
use crate::translate::{request, response, stream};
use crate::wire::converse::ConverseResponse;
use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::SigningSettings;
use futures::{StreamExt, TryStreamExt};
use gomodel_core::chat::{ChatRequest, ChatResponse, StreamEvent};
use gomodel_core::embed::{EmbedRequest, EmbedResponse};
use gomodel_core::model::{is_geo_prefix, ModelInfo, ModelsMode};
use gomodel_core::{ErrorKind, EventStream, GatewayError, Provider};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::de::DeserializeOwned;
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

/// A `reqwest::Client` suited to Bedrock (connect timeout, keep-alive pool, TCP_NODELAY), for
/// callers that do not share one of their own.
pub fn http_client(timeouts: &Timeouts) -> Result<reqwest::Client, GatewayError> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(60))
        .build()
        .map_err(|e| GatewayError::internal(format!("could not build the HTTP client: {e}")))
}

/// Everything needed to send signed requests; shared by the provider and the catalog.
pub struct Upstream {
    name: String,
    endpoints: Endpoints,
    http: reqwest::Client,
    credentials: Arc<CredentialCache>,
    signing: SigningSettings,
    timeouts: Timeouts,
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

    fn model_url(&self, model: &str, operation: &str) -> String {
        let mut url = String::with_capacity(self.endpoints.runtime.len() + model.len() * 2 + 32);
        url.push_str(&self.endpoints.runtime);
        url.push_str("/model/");
        url.extend(utf8_percent_encode(model, UNRESERVED_ONLY));
        url.push('/');
        url.push_str(operation);
        url
    }

    /// Signs and sends one request; a non-2xx answer becomes the mapped `GatewayError`.
    /// `timeout` bounds the whole exchange including the body (None: the caller bounds it).
    #[allow(clippy::too_many_arguments)] // one private call site per operation kind
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
        timeout: Option<Duration>,
        what: &'static str,
        model: Option<&str>,
    ) -> Result<reqwest::Response, GatewayError> {
        let credentials = self.credentials.get().await?;
        let signed = sign::sign_headers(
            credentials.identity(),
            &self.endpoints.region,
            SystemTime::now(),
            &self.signing,
            method.as_str(),
            url,
            headers,
            &body,
        )?;
        let mut builder = self.http.request(method, url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        if !body.is_empty() {
            builder = builder.body(body);
        }
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| errors::from_transport(&e, what))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        // The error body explains the failure; if even that breaks off, the status still maps.
        let body = resp.bytes().await.unwrap_or_default();
        let err = errors::from_response(status.as_u16(), &headers, &body, model);
        if errors::is_expired_credentials(&err) {
            self.credentials.invalidate();
        }
        tracing::debug!(provider = %self.name, operation = what, status = status.as_u16(), code = ?err.code, "Bedrock error");
        Err(err)
    }

    /// A signed GET on the control plane, decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &'static str,
    ) -> Result<T, GatewayError> {
        let resp = self
            .send(
                Method::GET,
                url,
                Vec::new(),
                &[],
                Some(self.timeouts.listing),
                what,
                None,
            )
            .await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| errors::from_transport(&e, what))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| bad_upstream(format!("could not decode the Bedrock {what} answer: {e}")))
    }

    /// A signed POST to `/model/{id}/{operation}` with a JSON body; returns the answer bytes and
    /// Bedrock's input-token header (InvokeModel).
    async fn post_model(
        &self,
        model: &str,
        operation: &str,
        body: Vec<u8>,
        what: &'static str,
    ) -> Result<(bytes::Bytes, Option<u64>), GatewayError> {
        let url = self.model_url(model, operation);
        let resp = self
            .send(
                Method::POST,
                &url,
                body,
                &[("content-type", JSON), ("accept", JSON)],
                Some(self.timeouts.request),
                what,
                Some(model),
            )
            .await?;
        let tokens = resp
            .headers()
            .get("x-amzn-bedrock-input-token-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| errors::from_transport(&e, what))?;
        Ok((bytes, tokens))
    }
}

/// The Amazon Bedrock provider.
pub struct BedrockProvider {
    up: Arc<Upstream>,
    models: Vec<String>,
    mode: ModelsMode,
}

impl BedrockProvider {
    /// Resolves the endpoints and loads the AWS default credential chain once. Missing
    /// credentials do not fail construction: they are logged, and requests fail with an error
    /// that lists the chain tried until credentials appear.
    pub async fn new(
        settings: BedrockSettings,
        http: reqwest::Client,
    ) -> Result<Self, GatewayError> {
        let endpoints = endpoint::resolve(
            &settings.base_url_setting(),
            settings.base_url.as_deref(),
            settings.region_fallback.as_deref(),
        )?;
        let credentials = CredentialCache::from_default_chain(&endpoints.region).await;
        let provider = Self::build(settings, http, endpoints, credentials);
        provider.warm_credentials();
        Ok(provider)
    }

    /// Like [`BedrockProvider::new`] with an explicit credentials provider instead of the default
    /// chain (tests, embedding applications).
    pub fn with_credentials(
        settings: BedrockSettings,
        http: reqwest::Client,
        credentials: SharedCredentialsProvider,
    ) -> Result<Self, GatewayError> {
        let endpoints = endpoint::resolve(
            &settings.base_url_setting(),
            settings.base_url.as_deref(),
            settings.region_fallback.as_deref(),
        )?;
        Ok(Self::build(
            settings,
            http,
            endpoints,
            CredentialCache::new(Some(credentials)),
        ))
    }

    fn build(
        settings: BedrockSettings,
        http: reqwest::Client,
        endpoints: Endpoints,
        credentials: Arc<CredentialCache>,
    ) -> Self {
        tracing::info!(
            provider = %settings.name,
            runtime = %endpoints.runtime,
            control = %endpoints.control,
            region = %endpoints.region,
            "Bedrock provider configured"
        );
        let models = settings
            .models
            .iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        Self {
            up: Arc::new(Upstream {
                name: settings.name,
                endpoints,
                http,
                credentials,
                signing: sign::settings(),
                timeouts: settings.timeouts,
            }),
            models,
            mode: settings.models_mode,
        }
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

    async fn embed_titan(
        &self,
        model: &str,
        options: &Options,
        inputs: &[String],
    ) -> Result<EmbedResponse, GatewayError> {
        // Indices rather than `&String` items: borrowed closure arguments trip the
        // higher-ranked `Send` check of the `async_trait` future.
        let results: Vec<(Vec<f32>, u64)> = futures::stream::iter(0..inputs.len())
            .map(|i| async move {
                let body = options.titan_body(&inputs[i])?;
                let (bytes, header_tokens) = self
                    .up
                    .post_model(model, "invoke", body, "InvokeModel")
                    .await?;
                let (vector, body_tokens) = embed::parse_titan(&bytes)?;
                Ok::<_, GatewayError>((vector, body_tokens.or(header_tokens).unwrap_or(0)))
            })
            .buffered(TITAN_CONCURRENCY)
            .try_collect()
            .await?;
        let input_tokens = results.iter().map(|(_, n)| n).sum();
        Ok(EmbedResponse {
            embeddings: results.into_iter().map(|(v, _)| v).collect(),
            input_tokens,
        })
    }

    async fn embed_cohere(
        &self,
        model: &str,
        options: &Options,
        inputs: &[String],
    ) -> Result<EmbedResponse, GatewayError> {
        let batches: Vec<(Vec<Vec<f32>>, u64)> =
            futures::stream::iter((0..inputs.len()).step_by(COHERE_BATCH))
                .map(|start| async move {
                    let batch = &inputs[start..inputs.len().min(start + COHERE_BATCH)];
                    let body = options.cohere_body(batch)?;
                    let (bytes, tokens) = self
                        .up
                        .post_model(model, "invoke", body, "InvokeModel")
                        .await?;
                    Ok::<_, GatewayError>((
                        embed::parse_cohere(&bytes, batch.len())?,
                        tokens.unwrap_or(0),
                    ))
                })
                .buffered(COHERE_CONCURRENCY)
                .try_collect()
                .await?;
        let input_tokens = batches.iter().map(|(_, n)| n).sum();
        Ok(EmbedResponse {
            embeddings: batches.into_iter().flat_map(|(v, _)| v).collect(),
            input_tokens,
        })
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

fn encode_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, GatewayError> {
    serde_json::to_vec(value)
        .map_err(|e| GatewayError::internal(format!("could not encode the Bedrock request: {e}")))
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
        Self::check_model(&req.model)?;
        let call = request::to_converse(req)?;
        let body = encode_body(&call.body)?;
        drop(call.body);
        let (bytes, _) = self
            .up
            .post_model(&call.model_id, "converse", body, "Converse")
            .await?;
        let parsed: ConverseResponse = serde_json::from_slice(&bytes).map_err(|e| {
            bad_upstream(format!("could not decode the Bedrock Converse answer: {e}"))
        })?;
        response::from_converse(parsed)
    }

    async fn chat_stream(&self, req: ChatRequest) -> Result<EventStream, GatewayError> {
        Self::check_model(&req.model)?;
        let call = request::to_converse(req)?;
        let body = encode_body(&call.body)?;
        drop(call.body);
        let model = call.model_id;
        let url = self.up.model_url(&model, "converse-stream");
        let timeouts = self.up.timeouts;
        // No whole-call timeout here: it would cut long streams. The headers get
        // `timeouts.request`, the body `timeouts.stream_idle` per chunk.
        let resp = tokio::time::timeout(
            timeouts.request,
            self.up.send(
                Method::POST,
                &url,
                body,
                &[("content-type", JSON)],
                None,
                "ConverseStream",
                Some(&model),
            ),
        )
        .await
        .map_err(|_| {
            GatewayError::upstream(
                ErrorKind::Timeout,
                format!(
                    "Bedrock ConverseStream did not answer within {} s",
                    timeouts.request.as_secs()
                ),
            )
            .with_code("timeout")
            .retryable(true)
        })??;

        let body = resp
            .bytes_stream()
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

    async fn embed(&self, req: EmbedRequest) -> Result<EmbedResponse, GatewayError> {
        Self::check_model(&req.model)?;
        let options = Options::new(&req.model, req.dimensions, &req.extra)?;
        if req.inputs.is_empty() {
            return Err(GatewayError::invalid_param(
                "input",
                "input must not be empty",
            ));
        }
        if options.family == Family::CohereV3 || options.family == Family::CohereV4 {
            self.embed_cohere(&req.model, &options, &req.inputs).await
        } else {
            self.embed_titan(&req.model, &options, &req.inputs).await
        }
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
            reqwest::Client::new(),
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
    fn model_urls_encode_the_id_once() {
        let p = provider(ModelsMode::Fallback, &[]);
        let cases = [
            ("anthropic.claude-3-5-haiku-20241022-v1:0", "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"),
            ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x.y-v1:0", "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x.y-v1%3A0/converse"),
        ];
        for (id, want) in cases {
            assert_eq!(p.up.model_url(id, "converse"), want);
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
            reqwest::Client::new(),
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
            reqwest::Client::new(),
            SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "test")),
        )
        .unwrap();
        let models = p.list_models().await.unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(models[0].owned_by, "amazon");
    }
}
