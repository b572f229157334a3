//! Retries of upstream calls with jittered exponential back-off.
//!
//! Only calls that have not yet produced anything for the client are retried: a whole
//! Converse/InvokeModel exchange, a listing page, and a ConverseStream up to its first event.
//! Once the first byte went to the client a retry would duplicate output, so the stream path
//! stops retrying there.

use gomodel_core::{ErrorSource, GatewayError};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often and how patiently to retry retryable upstream failures (throttling, 5xx,
/// connection errors, expired credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub max_retries: u32,
    /// Back-off before the first retry; doubles with each further one.
    pub base_delay: Duration,
    /// Upper bound of one back-off.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited out: the client gets the 429 (with the
    /// header) and can decide for itself rather than holding a connection open that long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based) after `err`, or `None` when it must not
    /// be retried. `jitter` in [0, 1) spreads clients that failed together ("full jitter"),
    /// but never below half the back-off so a burst of throttling actually backs off.
    pub fn delay(&self, retry: u32, err: &GatewayError, jitter: f64) -> Option<Duration> {
        // Only Bedrock's own failures: a credential chain that failed has already waited out
        // its own timeouts, and walking it again right away rarely helps.
        if retry >= self.max_retries || !err.retryable || err.source != ErrorSource::Upstream {
            return None;
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let backoff = exp.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
        match err.retry_after {
            Some(after) if after > self.max_retry_after => None,
            Some(after) => Some(after.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// A cheap, good-enough jitter source (no RNG dependency needed for spreading retries).
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mut x = COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    provider: &str,
    what: &str,
    mut attempt: F,
) -> Result<T, GatewayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GatewayError>>,
{
    let mut retry = 0;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(err) => match policy.delay(retry, &err, jitter()) {
                None => return Err(err),
                Some(wait) => {
                    tracing::info!(
                        provider,
                        operation = what,
                        retry = retry + 1,
                        wait_ms = wait.as_millis() as u64,
                        code = err.code.as_deref().unwrap_or(""),
                        "retrying Bedrock call"
                    );
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gomodel_core::ErrorKind;
    use std::sync::atomic::AtomicU32;

    fn err(retryable: bool, after: Option<u64>) -> GatewayError {
        let e = GatewayError::upstream(ErrorKind::RateLimited, "x").retryable(retryable);
        match after {
            Some(s) => e.with_retry_after(Duration::from_secs(s)),
            None => e,
        }
    }

    #[test]
    fn delay_table() {
        let p = RetryPolicy::default();
        let ms = Duration::from_millis;
        let cases = [
            // (retry, retryable, retry-after s, jitter, want)
            (0, true, None, 0.0, Some(ms(100))),
            (0, true, None, 0.999_999, Some(ms(200))),
            (1, true, None, 0.0, Some(ms(200))),
            (5, true, None, 1.0, None), // beyond max_retries
            (0, false, None, 0.5, None),
            (0, true, Some(3), 0.0, Some(Duration::from_secs(3))),
            (0, true, Some(60), 0.0, None),
        ];
        let internal = GatewayError::internal("credential chain failed").retryable(true);
        assert_eq!(
            p.delay(0, &internal, 0.5),
            None,
            "gateway-side failures are not retried"
        );
        for (retry, retryable, after, j, want) in cases {
            let got = p.delay(retry, &err(retryable, after), j);
            match (got, want) {
                (Some(g), Some(w)) => assert!(g.abs_diff(w) < ms(1), "{retry} {g:?} {w:?}"),
                (g, w) => assert_eq!(g, w, "{retry}"),
            }
        }
        let capped = RetryPolicy {
            max_retries: 40,
            ..p
        };
        assert_eq!(
            capped.delay(30, &err(true, None), 1.0),
            Some(p.max_delay),
            "the back-off is capped"
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_or_budget() {
        let cases = [(1, 2, Ok(())), (3, 2, Err(()))];
        for (failures, max_retries, want) in cases {
            let calls = AtomicU32::new(0);
            let policy = RetryPolicy {
                max_retries,
                ..RetryPolicy::default()
            };
            let got = run(&policy, "p", "Converse", || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    Err(err(true, None))
                } else {
                    Ok(())
                }
            })
            .await;
            assert_eq!(got.map_err(|_| ()), want, "{failures} failures");
            assert_eq!(calls.load(Ordering::SeqCst), failures.min(max_retries) + 1);
        }
    }
}
