//! The embedded SQLite backend (the default): one file, created on first start.

use crate::backend::storage_impl;
use crate::migrations::{SQLITE, TRACKING_TABLE_SQLITE};
use crate::StorageError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStorage {
    pool: sqlx::SqlitePool,
    /// Set once this process has migrated the database (see `migrate`).
    migrated: std::sync::atomic::AtomicBool,
}

impl SqliteStorage {
    const BACKEND: &'static str = "sqlite";

    /// Opens (creating the file and its directory if needed) without touching the schema; call
    /// `migrate` next. Connections are opened lazily, so an unwritable path shows up as an error
    /// of the first operation, which the usage writer retries.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Err(e) = std::fs::create_dir_all(dir) {
                // Not fatal: the directory may appear later (a volume mounted late); the first
                // query reports the real problem and the writer keeps retrying.
                tracing::warn!(path = %dir.display(), error = %e, "cannot create the SQLite database directory");
            }
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL: readers (admin queries) never block the usage writer and vice versa.
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose
            // the last transactions, an acceptable risk for usage records.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // 512 KiB of page cache per connection instead of SQLite's 2 MiB: the usage writer
            // appends, so it touches few pages per batch, and the OS page cache holds the rest.
            // Measured: the gateway's RSS under load (see docs/benchmarks.md).
            .pragma("cache_size", "-512");
        let pool = SqlitePoolOptions::new()
            // SQLite serializes writers anyway; a few connections let admin reads run alongside.
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(SqliteStorage {
            pool,
            migrated: Default::default(),
        })
    }
}

storage_impl!(
    SqliteStorage,
    sqlx::Sqlite,
    SQLITE,
    TRACKING_TABLE_SQLITE,
    None::<&str>
);
