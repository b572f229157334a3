//! The PostgreSQL backend: for several gateway replicas sharing one usage database.

use crate::backend::storage_impl;
use crate::migrations::{POSTGRES, TRACKING_TABLE_POSTGRES};
use crate::StorageError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub struct PostgresStorage {
    pool: sqlx::PgPool,
    /// Set once this process has migrated the database (see `migrate`).
    migrated: std::sync::atomic::AtomicBool,
}

/// Serializes migrations across replicas starting together (an arbitrary constant key).
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7405912233)";

impl PostgresStorage {
    const BACKEND: &'static str = "postgres";

    /// Parses the URL and prepares a lazy pool: nothing connects yet, so a database that is down
    /// at startup does not keep the gateway from serving (the usage writer retries).
    pub fn open(url: &str) -> Result<Self, StorageError> {
        // sqlx's parse errors can quote the URL; never echo it (it may hold a password).
        let options = PgConnectOptions::from_str(url).map_err(|_| {
            StorageError::Config(
                "the PostgreSQL URL cannot be parsed: use postgres://USER:PASSWORD@HOST:PORT/DATABASE".to_owned(),
            )
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.application_name("gomodel"));
        Ok(PostgresStorage {
            pool,
            migrated: Default::default(),
        })
    }
}

storage_impl!(
    PostgresStorage,
    sqlx::Postgres,
    POSTGRES,
    TRACKING_TABLE_POSTGRES,
    Some(MIGRATION_LOCK)
);
