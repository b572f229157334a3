//! Per-worker recording into HDR histograms (nanoseconds, 3 significant digits), merged once at
//! the end so workers never contend on a shared lock while measuring.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// 1 ns .. 10 min covers a 30 µs loopback hop and the slowest peer's stream at c=100.
const HIGHEST_NS: u64 = 600_000_000_000;
/// Error messages kept verbatim per worker, enough to diagnose without flooding the JSON.
const MAX_SAMPLES: usize = 5;

#[allow(clippy::expect_used)] // constant bounds: failing here is a programming error, caught by tests
pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("constant histogram bounds are valid")
}

pub struct Recorder {
    pub latency: Histogram<u64>,
    pub ttft: Histogram<u64>,
    pub gap: Histogram<u64>,
    pub ok: u64,
    pub content_events: u64,
    pub errors: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            latency: new_hist(),
            ttft: new_hist(),
            gap: new_hist(),
            ok: 0,
            content_events: 0,
            errors: BTreeMap::new(),
            error_samples: Vec::new(),
        }
    }
}

impl Recorder {
    pub fn error(&mut self, msg: String) {
        *self.errors.entry(error_kind(&msg)).or_default() += 1;
        if self.error_samples.len() < MAX_SAMPLES {
            self.error_samples.push(msg);
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        // `add` fails only when the other histogram's range exceeds ours; all share new_hist().
        let _ = self.latency.add(&other.latency);
        let _ = self.ttft.add(&other.ttft);
        let _ = self.gap.add(&other.gap);
        self.ok += other.ok;
        self.content_events += other.content_events;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for s in other.error_samples {
            if self.error_samples.len() < MAX_SAMPLES {
                self.error_samples.push(s);
            }
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Groups messages into a few stable kinds (`status 503`, `timeout`, `connect`, ...) for counting.
fn error_kind(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("status ") {
        return format!("status {}", rest.chars().take(3).collect::<String>());
    }
    msg.split([':', ' ']).next().unwrap_or("error").to_owned()
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Milliseconds; `None` when nothing was recorded (e.g. TTFT of a non-stream scenario).
pub fn summarize(h: &Histogram<u64>) -> Option<Summary> {
    if h.is_empty() {
        return None;
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    Some(Summary {
        count: h.len(),
        min: ms(h.min()),
        mean: h.mean() / 1e6,
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_summarize() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for v in 1..=100u64 {
            a.latency.record(v * 1_000_000).unwrap();
        }
        b.latency.record(500_000_000).unwrap();
        b.error("status 502: bad".into());
        b.error("timeout after 1s".into());
        a.merge(b);
        let s = summarize(&a.latency).unwrap();
        assert_eq!(s.count, 101);
        assert!((s.p50 - 51.0).abs() < 0.1, "{s:?}");
        assert!((s.max - 500.0).abs() < 1.0);
        assert_eq!(a.error_count(), 2);
        assert_eq!(a.errors["status 502"], 1);
        assert_eq!(a.errors["timeout"], 1);
        assert!(summarize(&a.ttft).is_none());
    }
}
