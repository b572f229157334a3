//! Usage records and stored responses.
//!
//! One [`Storage`] trait, two real backends: embedded SQLite (the default, `data/gomodel.db`)
//! and PostgreSQL (several gateway replicas sharing one database). Both run the same versioned
//! migrations ([`Storage::migrate`]) and the same SQL (see `backend.rs`). The request path never
//! waits on the database: it hands usage records to the [`UsageRecorder`], whose background task
//! batches, writes, retries and flushes on shutdown.

mod backend;
mod error;
mod migrations;
mod postgres;
mod recorder;
mod sqlite;
mod types;

pub use error::StorageError;
pub use postgres::PostgresStorage;
pub use recorder::{metric, RecorderOptions, RecorderTask, UsageRecorder};
pub use sqlite::SqliteStorage;
pub use types::{
    key_hash, now_ms, Cursor, GroupBy, RequestsPage, RequestsQuery, StoredResponse, StoredUsage,
    UsageGroup, UsageQuery, UsageRecord, UsageTotals,
};

use std::path::PathBuf;
use std::sync::Arc;

/// Where usage and stored responses live. Implementations must be cheap to share (`Arc`) and
/// safe to call concurrently; every method may fail when the database is unreachable.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and readiness.
    fn backend(&self) -> &'static str;

    /// Creates or upgrades the schema to this build's version (idempotent).
    async fn migrate(&self) -> Result<(), StorageError>;

    /// A round trip to the database (readiness).
    async fn ping(&self) -> Result<(), StorageError>;

    /// Appends usage records in one transaction.
    async fn insert_usage(&self, batch: &[UsageRecord]) -> Result<(), StorageError>;

    /// Totals over the rows matching `q`, one group per key (ordered by key), or a single group
    /// without grouping.
    async fn usage_totals(&self, q: &UsageQuery) -> Result<Vec<UsageGroup>, StorageError>;

    /// The request log, newest first.
    async fn list_requests(&self, q: &RequestsQuery) -> Result<RequestsPage, StorageError>;

    /// Stores (or replaces) a response.
    async fn put_response(&self, r: &StoredResponse) -> Result<(), StorageError>;

    async fn get_response(&self, id: &str) -> Result<Option<StoredResponse>, StorageError>;

    /// True when a response with that id existed.
    async fn delete_response(&self, id: &str) -> Result<bool, StorageError>;

    /// Closes the connection pool (after the usage writer has flushed).
    async fn close(&self);
}

/// Which backend to open.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageConfig {
    Sqlite {
        path: PathBuf,
    },
    /// The URL may hold a password: `Debug` never prints it.
    Postgres {
        url: String,
    },
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageConfig::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            StorageConfig::Postgres { .. } => f.write_str("Postgres { url: <redacted> }"),
        }
    }
}

/// Opens a backend without connecting yet (see each backend's `open`); call `migrate` next.
pub fn open(config: &StorageConfig) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match config {
        StorageConfig::Sqlite { path } => Arc::new(SqliteStorage::open(path)?),
        StorageConfig::Postgres { url } => Arc::new(PostgresStorage::open(url)?),
    })
}
