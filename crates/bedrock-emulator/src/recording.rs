//! Request recording for `GET /_emulator/requests`: a bounded ring of the last N Bedrock
//! requests, so tests can assert what the gateway actually sent (headers, signed body).

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// One recorded request.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// Sequence number since start (survives `DELETE`, so tests can tell requests apart).
    pub seq: u64,
    /// Operation name, e.g. `Converse`.
    pub operation: String,
    /// Decoded model id from the path, for runtime operations.
    pub model_id: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Raw path as received.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers (lower-case names; repeated headers joined with ", ").
    pub headers: BTreeMap<String, String>,
    /// The body as JSON, or as a string when it is not JSON, or null when empty.
    pub body: Value,
    /// The status the emulator answered with.
    pub status: u16,
}

/// Thread-safe bounded ring of recorded requests.
#[derive(Debug)]
pub struct Recorder {
    enabled: bool,
    capacity: usize,
    inner: Mutex<(u64, VecDeque<RecordedRequest>)>,
}

impl Recorder {
    /// A recorder keeping the last `capacity` requests; disabled recorders keep nothing.
    pub fn new(enabled: bool, capacity: usize) -> Self {
        Self {
            enabled: enabled && capacity > 0,
            capacity,
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Whether anything is recorded (false in `--fast` mode).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Stores a request, evicting the oldest when full.
    pub fn record(&self, mut request: RecordedRequest) {
        if !self.enabled {
            return;
        }
        // A poisoned lock only means another thread panicked mid-push; the ring is still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        request.seq = guard.0;
        if guard.1.len() == self.capacity {
            guard.1.pop_front();
        }
        guard.1.push_back(request);
    }

    /// Everything recorded, oldest first.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.iter().cloned().collect()
    }

    /// Forgets every recorded request.
    pub fn clear(&self) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.clear();
    }
}

/// Parses a body for recording.
pub fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(op: &str) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            operation: op.into(),
            model_id: None,
            method: "POST".into(),
            path: "/".into(),
            query: None,
            headers: BTreeMap::new(),
            body: Value::Null,
            status: 200,
        }
    }

    #[test]
    fn ring_is_bounded_and_clearable() {
        let r = Recorder::new(true, 2);
        r.record(req("a"));
        r.record(req("b"));
        r.record(req("c"));
        let s = r.snapshot();
        assert_eq!(
            s.iter().map(|x| x.operation.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert_eq!(s[1].seq, 3);
        r.clear();
        assert!(r.snapshot().is_empty());
    }

    #[test]
    fn disabled_records_nothing() {
        let r = Recorder::new(false, 10);
        r.record(req("a"));
        assert!(r.snapshot().is_empty());
    }

    #[test]
    fn bodies() {
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(body_value(br#"{"a":1}"#)["a"], 1);
        assert_eq!(body_value(b"not json"), Value::String("not json".into()));
    }
}
