//! The one error type of the storage layer.

/// A storage operation failed. The message never contains credentials: connection URLs are
/// not part of sqlx's error text, and the variants below only carry driver messages.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached or answered with an error (retryable).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed; the database is left at the last version that succeeded.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    /// The database holds a schema newer than this binary knows (a newer gateway migrated it).
    #[error("the database schema is at version {found}, newer than this gateway's {known}: upgrade the gateway")]
    SchemaTooNew { found: i64, known: i64 },
    /// Stored JSON could not be read back (a corrupt or hand-edited row).
    #[error("stored data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The configuration cannot be used (bad URL or path).
    #[error("{0}")]
    Config(String),
}
