//! The records and queries the storage layer deals in. Times are unix milliseconds (UTC): one
//! integer type both databases index and compare the same way.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// One request through the gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageRecord {
    /// When the request started, unix ms.
    pub created_at_ms: i64,
    pub request_id: String,
    /// Registry name of the provider (`bedrock`, `bedrock-us`); empty when the model did not resolve.
    pub provider: String,
    /// The `model` the client asked for.
    pub model: String,
    /// The id sent upstream (e.g. the inference profile); empty when the model did not resolve.
    pub resolved_model: String,
    /// `chat.completions`, `embeddings`, `responses`.
    pub endpoint: String,
    pub stream: bool,
    /// The HTTP status (for streams: 200, or the status of the error that ended the stream;
    /// 499 when the client went away first).
    pub status: u16,
    /// The error code (`ThrottlingException`, `model_not_found`) or type; `None` on success.
    pub error_type: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub latency_ms: u64,
    /// Streams only: time to the first content event.
    pub ttft_ms: Option<u64>,
    /// [`key_hash`] of the API key the client presented, never the key.
    pub key_hash: Option<String>,
    /// The request's `user` (or `safety_identifier`).
    pub user: Option<String>,
    /// The request's `metadata` tags.
    pub metadata: BTreeMap<String, String>,
}

/// A usage record as read back, with its row id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredUsage {
    pub id: i64,
    #[serde(flatten)]
    pub record: UsageRecord,
}

/// How `usage_totals` groups rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// One group with everything.
    #[default]
    None,
    /// Per UTC day.
    Day,
    /// Per requested model.
    Model,
    Provider,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "none" => Some(GroupBy::None),
            "day" => Some(GroupBy::Day),
            "model" => Some(GroupBy::Model),
            "provider" => Some(GroupBy::Provider),
            _ => None,
        }
    }
}

/// Filters for `usage_totals`. `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Inclusive, unix ms.
    pub from_ms: Option<i64>,
    /// Exclusive, unix ms.
    pub to_ms: Option<i64>,
    /// Matches the requested or the resolved model.
    pub model: Option<String>,
    pub provider: Option<String>,
    pub key_hash: Option<String>,
    pub group_by: GroupBy,
}

/// Totals over a set of usage rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageTotals {
    pub requests: u64,
    /// Rows with status >= 400.
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_tokens: u64,
    pub avg_latency_ms: Option<f64>,
}

/// One group of `usage_totals`: `key` is the day (`2025-01-31`), model or provider; `None`
/// without grouping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageGroup {
    pub key: Option<String>,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// A page request for the recent-requests log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestsQuery {
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Cursor>,
}

/// A position in the newest-first request log: rows strictly older than (created_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at_ms: i64,
    pub id: i64,
}

impl Cursor {
    /// Opaque to clients; `<created_at_ms>-<id>` keeps it printable and URL-safe.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.created_at_ms, self.id)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('-')?;
        Some(Cursor {
            created_at_ms: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestsPage {
    pub data: Vec<StoredUsage>,
    /// Present when older rows exist.
    pub next_cursor: Option<String>,
}

/// A Responses API response kept for `GET /v1/responses/{id}` and `previous_response_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// `resp_...`
    pub id: String,
    /// The response's `created_at` (unix seconds).
    pub created_at: i64,
    pub model: String,
    pub previous_response_id: Option<String>,
    pub key_hash: Option<String>,
    /// The `Response` object as returned to the client.
    pub response: serde_json::Value,
    /// This request's own input items (what `GET .../input_items` lists).
    pub input_items: Vec<serde_json::Value>,
    /// The whole conversation input the model saw (earlier turns, then `input_items`): a
    /// follow-up continues from `context` + the response's output without walking the chain, so
    /// deleting an earlier response does not break later ones.
    pub context: Vec<serde_json::Value>,
}

/// The identity of an API key in usage records: the first 16 hex digits (64 bits) of its
/// SHA-256. Enough to tell keys apart and filter by key; the key itself is never stored.
pub fn key_hash(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    hex::encode(&digest[..8])
}

/// Now, unix ms. A clock before 1970 gives 0.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2025-01-31` for a unix-ms day number (`created_at_ms / 86_400_000`).
pub(crate) fn day_label(day: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400)) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => day.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_is_a_stable_prefix_and_never_the_key() {
        let h = key_hash(b"sk-secret");
        assert_eq!(h.len(), 16);
        assert_eq!(h, key_hash(b"sk-secret"));
        assert_ne!(h, key_hash(b"sk-secreT"));
        assert!(!h.contains("secret"));
    }

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let c = Cursor {
            created_at_ms: 1_700_000_000_123,
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "1", "a-b", "1-", "-1"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn day_labels() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(1_700_000_000_000 / 86_400_000), "2023-11-14");
    }
}
