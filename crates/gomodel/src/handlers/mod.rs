//! Route handlers. Each one parses, resolves the model, calls the provider and translates back;
//! the translations themselves live in `gomodel-openai`.

pub mod admin;
pub mod chat;
pub mod embeddings;
pub mod fallback;
pub mod health;
pub mod models;
pub mod ready;
pub mod responses;
pub mod stored_items;
pub mod stored_responses;

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds for `created`. A clock before 1970 gives 0 rather than an error.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
