//! SigV4 signing (signing name `bedrock`) and a credential cache over the AWS default chain.
//!
//! `aws_config::defaults(..).load().await.credentials_provider()` returns the bare
//! `DefaultCredentialsChain` (env → profile incl. SSO and `credential_process` → web identity →
//! ECS container → IMDS). In SDK 1.x caching lives in the orchestrator's identity cache, which
//! plain HTTP callers never go through, so every `provide_credentials()` would walk the chain
//! again (file reads, STS/IMDS calls). [`CredentialCache`] keeps the last credentials and
//! refreshes them before they expire — in the background while they are still valid, so the hot
//! path does no I/O — with at most one refresh in flight.

use arc_swap::ArcSwapOption;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::error::display::DisplayErrorContext;
use gomodel_core::{ErrorKind, GatewayError};
use http::HeaderValue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// The SigV4 service name for both the runtime and the control plane.
pub const SIGNING_NAME: &str = "bedrock";

/// Refresh credentials this long before they expire.
const REFRESH_EARLY: Duration = Duration::from_secs(5 * 60);
/// Stop using credentials this long before they expire (a request signed now must still be
/// valid when it arrives).
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// Upper bound on one walk of the chain (IMDS and STS have their own, shorter timeouts).
const PROVIDE_TIMEOUT: Duration = Duration::from_secs(30);

const CHAIN_TRIED: &str = "tried environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), the shared config and credentials files (AWS_PROFILE, ~/.aws/config, ~/.aws/credentials, incl. IAM Identity Center / SSO and credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), ECS container credentials and EC2 instance metadata (IMDS)";

/// Credentials ready for signing.
#[derive(Debug)]
pub struct CachedIdentity {
    identity: Identity,
    expiry: Option<SystemTime>,
}

impl CachedIdentity {
    pub fn new(credentials: Credentials) -> Self {
        let expiry = credentials.expiry();
        Self {
            identity: credentials.into(),
            expiry,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn state(&self, now: SystemTime) -> Freshness {
        let Some(expiry) = self.expiry else {
            return Freshness::Fresh;
        };
        if now + EXPIRY_MARGIN >= expiry {
            Freshness::Expired
        } else if now + REFRESH_EARLY >= expiry {
            Freshness::RefreshSoon
        } else {
            Freshness::Fresh
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    Fresh,
    RefreshSoon,
    Expired,
}

/// A cache in front of a credentials provider; see the module docs.
#[derive(Debug)]
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    current: ArcSwapOption<CachedIdentity>,
    /// Serialises refreshes (single flight): waiters re-check `current` once they get the lock.
    refresh_lock: tokio::sync::Mutex<()>,
    background_refresh: AtomicBool,
    /// The last failed walk of the chain: callers that queued behind it get its error instead of
    /// walking the (possibly slow) chain again one after another.
    last_failure: std::sync::Mutex<Option<(Instant, GatewayError)>>,
}

impl CredentialCache {
    pub fn new(provider: Option<SharedCredentialsProvider>) -> Arc<Self> {
        Arc::new(Self {
            provider,
            current: ArcSwapOption::empty(),
            refresh_lock: tokio::sync::Mutex::new(()),
            background_refresh: AtomicBool::new(false),
            last_failure: std::sync::Mutex::new(None),
        })
    }

    /// Loads the AWS default credential chain for `region` (used by STS for web identity and
    /// assumed roles). Does not fetch credentials.
    pub async fn from_default_chain(region: &str) -> Arc<Self> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .load()
            .await;
        Self::new(config.credentials_provider())
    }

    /// Credentials for signing now: cached unless missing or (nearly) expired.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<CachedIdentity>, GatewayError> {
        if let Some(cached) = self.current.load_full() {
            match cached.state(SystemTime::now()) {
                Freshness::Fresh => return Ok(cached),
                Freshness::RefreshSoon => {
                    self.refresh_in_background();
                    return Ok(cached);
                }
                Freshness::Expired => {}
            }
        }
        self.refresh().await
    }

    /// Forgets the cached credentials (after Bedrock said they expired).
    pub fn invalidate(&self) {
        self.current.store(None);
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.background_refresh.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(err) = this.refresh().await {
                tracing::warn!(error = %err.message, "refreshing AWS credentials failed; using the current ones until they expire");
            }
            this.background_refresh.store(false, Ordering::Release);
        });
    }

    async fn refresh(&self) -> Result<Arc<CachedIdentity>, GatewayError> {
        let asked = Instant::now();
        let _guard = self.refresh_lock.lock().await;
        if let Some((at, err)) = &*lock(&self.last_failure) {
            if *at >= asked {
                return Err(err.clone());
            }
        }
        // Another caller may have refreshed while we waited for the lock.
        let existing = self.current.load_full();
        if let Some(cached) = &existing {
            if cached.state(SystemTime::now()) == Freshness::Fresh {
                return Ok(Arc::clone(cached));
            }
        }
        let Some(provider) = &self.provider else {
            return Err(credentials_error(&CredentialsError::not_loaded_no_source()));
        };
        let result = tokio::time::timeout(PROVIDE_TIMEOUT, provider.provide_credentials()).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(CredentialsError::provider_timed_out(PROVIDE_TIMEOUT)),
        };
        match result {
            Ok(credentials) => {
                let fresh = Arc::new(CachedIdentity::new(credentials));
                self.current.store(Some(Arc::clone(&fresh)));
                *lock(&self.last_failure) = None;
                Ok(fresh)
            }
            // Still-valid credentials beat an error while the refresh window is open.
            Err(err) => match existing {
                Some(cached) if cached.state(SystemTime::now()) != Freshness::Expired => {
                    tracing::warn!(error = %DisplayErrorContext(&err), "refreshing AWS credentials failed; still using the current ones");
                    Ok(cached)
                }
                _ => {
                    let err = credentials_error(&err);
                    *lock(&self.last_failure) = Some((Instant::now(), err.clone()));
                    Err(err)
                }
            },
        }
    }
}

/// A poisoned lock only means a panic elsewhere mid-update of a plain value; the value is fine.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps a credential-chain failure to the error a request gets.
pub fn credentials_error(err: &CredentialsError) -> GatewayError {
    let detail = DisplayErrorContext(err).to_string();
    match err {
        CredentialsError::CredentialsNotLoaded(_) => GatewayError::internal(format!(
            "no AWS credentials for Bedrock: {CHAIN_TRIED}; none provided credentials ({detail})"
        ))
        .with_code("aws_credentials_missing"),
        CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
            GatewayError::new(
                ErrorKind::Unavailable,
                gomodel_core::ErrorSource::Internal,
                format!("could not load AWS credentials for Bedrock: {detail} ({CHAIN_TRIED})"),
            )
            .with_code("aws_credentials_unavailable")
            .retryable(true)
        }
        _ => GatewayError::internal(format!(
            "AWS credentials for Bedrock are misconfigured: {detail} ({CHAIN_TRIED})"
        ))
        .with_code("aws_credentials_invalid"),
    }
}

/// Signing settings: the SDK defaults (double percent-encoding of the already-encoded path,
/// path normalisation, session token signed), minus the excluded-header list, which only matters
/// for headers we never pass to the signer.
pub fn settings() -> SigningSettings {
    let mut s = SigningSettings::default();
    s.excluded_headers = None;
    s
}

/// Signs one request and returns the headers to add (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` when the credentials carry one). `url` must already be
/// percent-encoded; `headers` are the ones to sign besides `host` (which comes from the URL).
#[allow(clippy::too_many_arguments)]
pub fn sign_headers(
    identity: &Identity,
    region: &str,
    time: SystemTime,
    settings: &SigningSettings,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(&'static str, HeaderValue)>, GatewayError> {
    let fail = |what: &str, e: &dyn std::error::Error| {
        GatewayError::internal(format!("could not sign the Bedrock request ({what}): {e}"))
    };
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| fail("request", &e))?;
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(settings.clone())
        .build()
        .map_err(|e| fail("parameters", &e))?
        .into();
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| fail("signature", &e))?
        .into_parts();
    let (signed, _query) = instructions.into_parts();
    signed
        .into_iter()
        .map(|h| {
            let mut value =
                HeaderValue::from_str(h.value()).map_err(|e| fail("header value", &e))?;
            value.set_sensitive(h.sensitive());
            Ok((h.name(), value))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    /// 2024-01-02T03:04:05Z
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    fn identity(token: Option<&str>) -> Identity {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
        .into()
    }

    /// Expected values computed once with botocore's `SigV4Auth(creds, "bedrock", "us-east-1")`
    /// (botocore 1.43, clock pinned to 2024-01-02T03:04:05Z), independently of aws-sigv4.
    #[test]
    fn matches_botocore() {
        let body = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
        struct Case {
            method: &'static str,
            url: &'static str,
            token: Option<&'static str>,
            headers: &'static [(&'static str, &'static str)],
            body: &'static [u8],
            authorization: &'static str,
        }
        let cases = [
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
                token: None,
                headers: &[("content-type", "application/json")],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=2168127d09cf792414e209fe48e6c1f03f21ac65f200b37313fcf993ce3c272d",
            },
            Case {
                method: "POST",
                url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",
                token: Some("SESSIONTOKEN/+="),
                headers: &[("content-type", "application/json")],
                body,
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=9f311a2054282b16f768ee8dfa64943d53acfb4c412586274f34e196bee054c2",
            },
            Case {
                method: "GET",
                url: "http://127.0.0.1:4566/inference-profiles?type=SYSTEM_DEFINED&maxResults=1000&nextToken=abc%2Fdef%3D%3D",
                token: None,
                headers: &[],
                body: b"",
                authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=b02fc392cedb5c72c918347d1c7c05cc9e21f6f377aa58d9c77a9904dddcf387",
            },
        ];
        for c in cases {
            let signed = sign_headers(
                &identity(c.token),
                "us-east-1",
                fixed_time(),
                &settings(),
                c.method,
                c.url,
                c.headers,
                c.body,
            )
            .unwrap();
            let get = |name: &str| {
                signed
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_str().unwrap().to_owned())
            };
            assert_eq!(
                get("authorization").as_deref(),
                Some(c.authorization),
                "{}",
                c.url
            );
            assert_eq!(get("x-amz-date").as_deref(), Some("20240102T030405Z"));
            assert_eq!(get("x-amz-security-token").as_deref(), c.token);
        }
    }

    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Option<Duration>,
        fail: bool,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                // Slow, like a chain that probes IMDS, so concurrent callers overlap.
                return future::ProvideCredentials::new(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err(CredentialsError::not_loaded("nothing configured"))
                });
            }
            let expiry = self.lifetime.map(|l| SystemTime::now() + l);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                expiry,
                "counting",
            )))
        }
    }

    fn cache(lifetime: Option<Duration>, fail: bool) -> (Arc<CredentialCache>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Counting {
            calls: Arc::clone(&calls),
            lifetime,
            fail,
        });
        (CredentialCache::new(Some(provider)), calls)
    }

    fn akid(c: &CachedIdentity) -> String {
        c.identity()
            .data::<Credentials>()
            .unwrap()
            .access_key_id()
            .to_owned()
    }

    #[tokio::test]
    async fn caches_long_lived_credentials() {
        let (cache, calls) = cache(Some(Duration::from_secs(3600)), false);
        let a = cache.get().await.unwrap();
        let b = cache.get().await.unwrap();
        assert_eq!(akid(&a), akid(&b));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.invalidate();
        let c = cache.get().await.unwrap();
        assert_eq!(akid(&c), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn static_credentials_never_refresh() {
        let (cache, calls) = cache(None, false);
        for _ in 0..5 {
            cache.get().await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_in_background_before_expiry() {
        // Four minutes left: inside the five-minute window, still usable.
        let (cache, calls) = cache(Some(Duration::from_secs(240)), false);
        let first = cache.get().await.unwrap();
        assert_eq!(akid(&first), "AKID0");
        let second = cache.get().await.unwrap();
        // Served from cache while the refresh runs in the background.
        assert_eq!(akid(&second), "AKID0");
        for _ in 0..50 {
            if calls.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(calls.load(Ordering::SeqCst) >= 2);
    }

    #[tokio::test]
    async fn expired_credentials_refresh_inline_single_flight() {
        // Five seconds left: inside the expiry margin, so each get must fetch anew.
        let (cache, calls) = cache(Some(Duration::from_secs(5)), false);
        let results = futures::future::join_all((0..8).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_ok));
        // Every waiter found the credentials still expired and refreshed in turn, one at a time;
        // what matters is that none failed and each refresh ran under the lock.
        assert!(calls.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn single_flight_for_concurrent_first_use() {
        let (cache, calls) = cache(Some(Duration::from_secs(3600)), false);
        let results = futures::future::join_all((0..16).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_waiters_share_one_failure() {
        let (cache, calls) = cache(None, true);
        let results = futures::future::join_all((0..8).map(|_| cache.get())).await;
        assert!(results.iter().all(Result::is_err));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A later request walks the chain again (credentials may have appeared).
        assert!(cache.get().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn missing_credentials_explain_the_chain() {
        let (cache, _) = cache(None, true);
        let err = cache.get().await.unwrap_err();
        assert_eq!(err.status(), 500);
        assert!(err.message.contains("AWS_ACCESS_KEY_ID"), "{}", err.message);
        assert!(err.message.contains("IMDS"), "{}", err.message);
        let none = CredentialCache::new(None);
        assert_eq!(none.get().await.unwrap_err().status(), 500);
    }
}
