//! The HTTP client every call to Bedrock goes through: hyper_util's pooled legacy client over
//! rustls (HTTP/1.1 and HTTP/2 by ALPN), with environment proxies ([`crate::proxy`]).
//!
//! It replaced `reqwest` on this path because a signed call to a fixed AWS endpoint needs none
//! of what reqwest adds per request: its redirect and retry policies clone the header map three
//! times, its timeout is a boxed future plus a request extension, and it parses a `Url` out of
//! every response; about 15 allocations and 4 % of gateway CPU. Timeouts are applied by the
//! caller (`tokio::time::timeout`), URLs are parsed once ([`Target`]). Image downloads
//! (`fetch`) use a sibling client ([`HttpClient::with_egress_policy`]) and follow redirects
//! themselves.

use crate::egress::{EgressPolicy, Resolver};
use crate::proxy::ProxyConnector;
use bytes::Bytes;
use gomodel_core::GatewayError;
use http::header::{HeaderValue, PROXY_AUTHORIZATION};
use http::uri::Scheme;
use http::{Request, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

/// The request body type: one contiguous buffer (every Bedrock request body is JSON built
/// before the call), so nothing is boxed.
pub type Body = Full<Bytes>;

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle connections kept per host: enough for a burst of concurrent calls to one region.
const POOL_MAX_IDLE_PER_HOST: usize = 64;

/// The shared, pooled Bedrock client. Clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<ProxyConnector, Body>,
    proxies: Arc<Matcher>,
    /// Kept to build sibling clients ([`HttpClient::with_egress_policy`]) without loading the
    /// OS trust store again.
    tls: Arc<rustls::ClientConfig>,
    connect_timeout: Duration,
}

impl HttpClient {
    /// A client with the proxies of the environment (`HTTPS_PROXY`, `NO_PROXY`, ...).
    pub fn new(connect_timeout: Duration) -> Result<Self, GatewayError> {
        Self::with_proxies(connect_timeout, Matcher::from_env())
    }

    /// A client with explicit proxy rules (tests, embedding applications).
    pub fn with_proxies(connect_timeout: Duration, proxies: Matcher) -> Result<Self, GatewayError> {
        let tls = Arc::new(tls_config()?);
        Ok(Self::build(
            Resolver::system(),
            tls,
            Arc::new(proxies),
            connect_timeout,
        ))
    }

    /// A client for URLs that come from requests (image downloads): every destination checked
    /// against `policy` (see [`crate::egress`]), the same TLS setup and proxies, and a pool of its
    /// own, so a connection opened to Bedrock (which may be local) never serves a client's URL.
    pub fn with_egress_policy(&self, policy: EgressPolicy) -> Self {
        Self::build(
            Resolver::checked(Arc::new(policy)),
            Arc::clone(&self.tls),
            Arc::clone(&self.proxies),
            self.connect_timeout,
        )
    }

    fn build(
        resolver: Resolver,
        tls: Arc<rustls::ClientConfig>,
        proxies: Arc<Matcher>,
        connect_timeout: Duration,
    ) -> Self {
        let connector = ProxyConnector::new(
            resolver,
            Arc::clone(&tls),
            Arc::clone(&proxies),
            connect_timeout,
        );
        let inner = Client::builder(TokioExecutor::new())
            // Without a timer the pool never expires idle connections.
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .build(connector);
        Self {
            inner,
            proxies,
            tls,
            connect_timeout,
        }
    }

    /// Sends `req` on a pooled connection (opening one when none is free).
    pub fn request(&self, mut req: Request<Body>) -> ResponseFuture {
        // A forwarding proxy sees the request itself, so it carries the proxy credentials; an
        // `https` request is tunnelled and the credentials went with the CONNECT instead.
        if req.uri().scheme() == Some(&Scheme::HTTP) {
            if let Some(auth) = self.proxy_auth(req.uri()) {
                req.headers_mut().insert(PROXY_AUTHORIZATION, auth);
            }
        }
        self.inner.request(req)
    }

    fn proxy_auth(&self, uri: &Uri) -> Option<HeaderValue> {
        self.proxies.intercept(uri)?.basic_auth().cloned()
    }
}

/// The TLS setup reqwest 0.13 (feature `rustls`) used: the process-wide rustls crypto provider
/// if one is installed, else aws-lc-rs; certificates checked by the platform verifier (the OS
/// trust store); HTTP/2 offered first by ALPN.
fn tls_config() -> Result<rustls::ClientConfig, GatewayError> {
    let failed = |e: rustls::Error| {
        GatewayError::internal(format!("could not set up TLS for the Bedrock client: {e}"))
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier =
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(failed)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A request URL parsed once: its text (what SigV4 signs) and the `Uri` hyper sends, both
/// cheap to clone (reference counted), so a cached target costs no parsing per request.
#[derive(Clone, Debug)]
pub struct Target {
    text: Arc<str>,
    uri: Uri,
}

impl Target {
    /// Parses `raw` the way reqwest did (WHATWG URL normalisation), so the signed text is
    /// exactly the URL on the wire.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
        let text: Arc<str> = Arc::from(url.as_str());
        let uri =
            Uri::from_maybe_shared(Bytes::from(String::from(url))).map_err(|e| e.to_string())?;
        Ok(Self { text, uri })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn uri(&self) -> &Uri {
        &self.uri
    }
}
