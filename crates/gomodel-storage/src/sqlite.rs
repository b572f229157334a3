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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Storage, UsageRecord};

    /// Startup migrates; later the usage writer migrates again before its first write and
    /// writes at once. That must all run on one connection (each SQLite connection is a worker
    /// thread with its own page and statement caches): sqlx takes a released connection back
    /// asynchronously, so a second acquire right behind the first opens another one.
    #[tokio::test]
    async fn migrating_again_and_writing_reuse_one_connection() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("g.db")).unwrap();
        storage.migrate().await.unwrap();
        for _ in 0..3 {
            // The writer's flush interval (shortened): the pool has its connection back.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            storage.migrate().await.unwrap();
            storage
                .insert_usage(&[UsageRecord::default()])
                .await
                .unwrap();
        }
        assert_eq!(storage.pool.size(), 1);
    }
}
