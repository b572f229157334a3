//! Versioned schema migrations, one list per backend with the same versions and names.
//!
//! Applied at startup (and again by the usage writer if the database was down then) in one
//! transaction: either every pending migration lands or none does. A row per applied version in
//! `gomodel_schema_migrations` records what ran. Never edit a released migration; add one.

/// One schema step: its statements run in order, inside the migration transaction.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

pub(crate) const TRACKING_TABLE_SQLITE: &str =
    "CREATE TABLE IF NOT EXISTS gomodel_schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
pub(crate) const TRACKING_TABLE_POSTGRES: &str = TRACKING_TABLE_SQLITE;

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "usage_records",
        statements: &[
            "CREATE TABLE usage_records (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                created_at BIGINT NOT NULL,
                request_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                resolved_model TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                stream BOOLEAN NOT NULL,
                status INTEGER NOT NULL,
                error_type TEXT,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cached_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                latency_ms BIGINT NOT NULL,
                ttft_ms BIGINT,
                key_hash TEXT,
                user_tag TEXT,
                metadata TEXT
            )",
            // One index: every admin query is bounded by time and the request log pages by
            // (created_at, id). Per-model or per-key indexes would cost every insert (the hot
            // write path) to speed up occasional admin reads.
            "CREATE INDEX usage_records_created_at ON usage_records (created_at, id)",
        ],
    },
    Migration {
        version: 2,
        name: "stored_responses",
        statements: &["CREATE TABLE stored_responses (
                id TEXT PRIMARY KEY,
                created_at BIGINT NOT NULL,
                model TEXT NOT NULL,
                previous_response_id TEXT,
                key_hash TEXT,
                response TEXT NOT NULL,
                input_items TEXT NOT NULL,
                context TEXT NOT NULL
            )"],
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "usage_records",
        statements: &[
            "CREATE TABLE usage_records (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created_at BIGINT NOT NULL,
                request_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                resolved_model TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                stream BOOLEAN NOT NULL,
                status INTEGER NOT NULL,
                error_type TEXT,
                input_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                cached_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                latency_ms BIGINT NOT NULL,
                ttft_ms BIGINT,
                key_hash TEXT,
                user_tag TEXT,
                metadata TEXT
            )",
            // One index: every admin query is bounded by time and the request log pages by
            // (created_at, id). Per-model or per-key indexes would cost every insert (the hot
            // write path) to speed up occasional admin reads.
            "CREATE INDEX usage_records_created_at ON usage_records (created_at, id)",
        ],
    },
    Migration {
        version: 2,
        name: "stored_responses",
        statements: &["CREATE TABLE stored_responses (
                id TEXT PRIMARY KEY,
                created_at BIGINT NOT NULL,
                model TEXT NOT NULL,
                previous_response_id TEXT,
                key_hash TEXT,
                response TEXT NOT NULL,
                input_items TEXT NOT NULL,
                context TEXT NOT NULL
            )"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions_in_order() {
        let versions = |m: &[Migration]| -> Vec<(i64, &str)> {
            m.iter().map(|m| (m.version, m.name)).collect()
        };
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        for (i, m) in SQLITE.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "versions are 1, 2, 3, ... without gaps"
            );
        }
    }
}
