//! The SQL shared by both backends, written once and instantiated per database by
//! [`storage_impl!`]. A macro rather than generic code: sqlx's generic bounds (`Encode`/`Type`
//! per value type, `Executor` per lifetime) would outweigh the queries themselves. The SQL is the
//! portable subset both databases agree on; the placeholders come from `QueryBuilder`.

/// Everything a query needs, per row, as the types both drivers bind.
pub(crate) struct Row<'a> {
    pub created_at: i64,
    pub rec: &'a crate::UsageRecord,
    pub metadata: Option<String>,
}

pub(crate) fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn unclamp(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) const USAGE_COLUMNS: &str = "created_at, request_id, provider, model, resolved_model, endpoint, stream, status, \
     error_type, input_tokens, output_tokens, cached_tokens, reasoning_tokens, latency_ms, ttft_ms, key_hash, user_tag, metadata";

pub(crate) const TOTALS: &str = "COUNT(*) AS requests, \
     CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT) AS errors, \
     CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
     CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
     CAST(COALESCE(SUM(cached_tokens), 0) AS BIGINT) AS cached_tokens, \
     CAST(COALESCE(SUM(reasoning_tokens), 0) AS BIGINT) AS reasoning_tokens, \
     CAST(AVG(latency_ms) AS DOUBLE PRECISION) AS avg_latency_ms";

/// Rows per INSERT, largest first: far below both databases' bind-parameter limits
/// (18 columns × 64). Only these sizes are ever used, so each connection's prepared-statement
/// cache holds at most four INSERT texts. (One statement per batch length made every flush
/// prepare a fresh ~4,600-parameter statement and kept up to 100 of them cached per connection:
/// tens of MB of RSS and a prepare per flush. 256-row statements, cached per connection, cost
/// ~2 MB more peak RSS at c=100 than 64-row ones, with no CPU difference measured.)
pub(crate) const INSERT_CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Splits `n` rows into INSERT sizes taken greedily from [`INSERT_CHUNKS`].
pub(crate) fn insert_chunks(mut n: usize) -> impl Iterator<Item = usize> {
    let mut sizes = INSERT_CHUNKS.iter().copied();
    let mut size = sizes.next().unwrap_or(1);
    std::iter::from_fn(move || {
        while n > 0 {
            if n >= size {
                n -= size;
                return Some(size);
            }
            size = sizes.next().unwrap_or(1);
        }
        None
    })
}

/// Implements `Storage` for `$name { pool: sqlx::Pool<$db>, .. }`.
macro_rules! storage_impl {
    ($name:ident, $db:ty, $migrations:expr, $tracking:expr, $lock:expr) => {
        #[async_trait::async_trait]
        impl $crate::Storage for $name {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            /// Runs once per process: startup migrates, and the usage writer's call before its
            /// first write then returns at once. (Running it again took a second pooled
            /// connection right behind the first, which sqlx had not yet taken back; for SQLite
            /// that is one more worker thread, page cache and statement cache for good.)
            async fn migrate(&self) -> Result<(), $crate::StorageError> {
                use sqlx::Row as _;
                use std::sync::atomic::Ordering;
                if self.migrated.load(Ordering::Acquire) {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                // Several replicas may start at once: the first migrates, the others wait here
                // and then find nothing pending.
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                sqlx::query($tracking).execute(&mut *tx).await?;
                let current: i64 = sqlx::query(
                    "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM gomodel_schema_migrations",
                )
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
                let known = $migrations.last().map_or(0, |m| m.version);
                if current > known {
                    return Err($crate::StorageError::SchemaTooNew { found: current, known });
                }
                for m in $migrations.iter().filter(|m| m.version > current) {
                    for stmt in m.statements {
                        sqlx::query(stmt).execute(&mut *tx).await.map_err(|source| {
                            $crate::StorageError::Migration { version: m.version, name: m.name, source }
                        })?;
                    }
                    sqlx::query("INSERT INTO gomodel_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind($crate::now_ms())
                        .execute(&mut *tx)
                        .await?;
                    tracing::info!(backend = Self::BACKEND, version = m.version, name = m.name, "applied database migration");
                }
                tx.commit().await?;
                self.migrated.store(true, Ordering::Release);
                Ok(())
            }

            async fn ping(&self) -> Result<(), $crate::StorageError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_usage(&self, batch: &[$crate::UsageRecord]) -> Result<(), $crate::StorageError> {
                use $crate::backend::{clamp, insert_chunks, Row, USAGE_COLUMNS};
                if batch.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                let mut rest = batch;
                for size in insert_chunks(batch.len()) {
                    let (chunk, tail) = rest.split_at(size);
                    rest = tail;
                    let rows = chunk.iter().map(|rec| Row {
                        created_at: rec.created_at_ms,
                        rec,
                        metadata: (!rec.metadata.is_empty())
                            .then(|| serde_json::to_string(&rec.metadata).ok())
                            .flatten(),
                    });
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO usage_records ({USAGE_COLUMNS}) "
                    ));
                    qb.push_values(rows, |mut b, row| {
                        // Borrowed binds: the batch outlives the query, so no string is copied.
                        let r = row.rec;
                        b.push_bind(row.created_at)
                            .push_bind(r.request_id.as_str())
                            .push_bind(r.provider.as_str())
                            .push_bind(r.model.as_str())
                            .push_bind(r.resolved_model.as_str())
                            .push_bind(r.endpoint.as_str())
                            .push_bind(r.stream)
                            .push_bind(i32::from(r.status))
                            .push_bind(r.error_type.as_deref())
                            .push_bind(clamp(r.input_tokens))
                            .push_bind(clamp(r.output_tokens))
                            .push_bind(clamp(r.cached_tokens))
                            .push_bind(clamp(r.reasoning_tokens))
                            .push_bind(clamp(r.latency_ms))
                            .push_bind(r.ttft_ms.map(clamp))
                            .push_bind(r.key_hash.as_deref())
                            .push_bind(r.user.as_deref())
                            .push_bind(row.metadata);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn usage_totals(
                &self,
                q: &$crate::UsageQuery,
            ) -> Result<Vec<$crate::UsageGroup>, $crate::StorageError> {
                use sqlx::Row as _;
                use $crate::backend::{unclamp, TOTALS};
                use $crate::GroupBy;
                let key = match q.group_by {
                    GroupBy::None => None,
                    // Integer division: the UTC day number, formatted below. Portable, unlike
                    // each database's date functions.
                    GroupBy::Day => Some("created_at / 86400000"),
                    GroupBy::Model => Some("model"),
                    GroupBy::Provider => Some("provider"),
                };
                let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT ");
                if let Some(k) = key {
                    qb.push(k).push(" AS group_key, ");
                }
                qb.push(TOTALS).push(" FROM usage_records WHERE 1 = 1");
                if let Some(from) = q.from_ms {
                    qb.push(" AND created_at >= ").push_bind(from);
                }
                if let Some(to) = q.to_ms {
                    qb.push(" AND created_at < ").push_bind(to);
                }
                if let Some(model) = &q.model {
                    qb.push(" AND (model = ").push_bind(model.clone());
                    qb.push(" OR resolved_model = ").push_bind(model.clone()).push(")");
                }
                if let Some(provider) = &q.provider {
                    qb.push(" AND provider = ").push_bind(provider.clone());
                }
                if let Some(key_hash) = &q.key_hash {
                    qb.push(" AND key_hash = ").push_bind(key_hash.clone());
                }
                if key.is_some() {
                    qb.push(" GROUP BY group_key ORDER BY group_key");
                }
                let rows = qb.build().fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let key = match q.group_by {
                        GroupBy::None => None,
                        GroupBy::Day => Some($crate::types::day_label(row.try_get::<i64, _>("group_key")?)),
                        GroupBy::Model | GroupBy::Provider => Some(row.try_get::<String, _>("group_key")?),
                    };
                    let input = unclamp(row.try_get("input_tokens")?);
                    let output = unclamp(row.try_get("output_tokens")?);
                    out.push($crate::UsageGroup {
                        key,
                        totals: $crate::UsageTotals {
                            requests: unclamp(row.try_get("requests")?),
                            errors: unclamp(row.try_get("errors")?),
                            input_tokens: input,
                            output_tokens: output,
                            cached_tokens: unclamp(row.try_get("cached_tokens")?),
                            reasoning_tokens: unclamp(row.try_get("reasoning_tokens")?),
                            total_tokens: input.saturating_add(output),
                            avg_latency_ms: row.try_get("avg_latency_ms")?,
                        },
                    });
                }
                Ok(out)
            }

            async fn list_requests(
                &self,
                q: &$crate::RequestsQuery,
            ) -> Result<$crate::RequestsPage, $crate::StorageError> {
                use sqlx::Row as _;
                use $crate::backend::{unclamp, USAGE_COLUMNS};
                let limit = q.limit.clamp(1, 1000);
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT id, {USAGE_COLUMNS} FROM usage_records"));
                if let Some(c) = q.cursor {
                    qb.push(" WHERE created_at < ").push_bind(c.created_at_ms);
                    qb.push(" OR (created_at = ").push_bind(c.created_at_ms);
                    qb.push(" AND id < ").push_bind(c.id).push(")");
                }
                // One extra row tells whether another page exists.
                qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let rows = qb.build().fetch_all(&self.pool).await?;
                let more = rows.len() > limit as usize;
                let mut data = Vec::with_capacity(rows.len().min(limit as usize));
                for row in rows.into_iter().take(limit as usize) {
                    let metadata: Option<String> = row.try_get("metadata")?;
                    let status: i32 = row.try_get("status")?;
                    data.push($crate::StoredUsage {
                        id: row.try_get("id")?,
                        record: $crate::UsageRecord {
                            created_at_ms: row.try_get("created_at")?,
                            request_id: row.try_get("request_id")?,
                            provider: row.try_get("provider")?,
                            model: row.try_get("model")?,
                            resolved_model: row.try_get("resolved_model")?,
                            endpoint: row.try_get("endpoint")?,
                            stream: row.try_get("stream")?,
                            status: u16::try_from(status).unwrap_or(0),
                            error_type: row.try_get("error_type")?,
                            input_tokens: unclamp(row.try_get("input_tokens")?),
                            output_tokens: unclamp(row.try_get("output_tokens")?),
                            cached_tokens: unclamp(row.try_get("cached_tokens")?),
                            reasoning_tokens: unclamp(row.try_get("reasoning_tokens")?),
                            latency_ms: unclamp(row.try_get("latency_ms")?),
                            ttft_ms: row.try_get::<Option<i64>, _>("ttft_ms")?.map(unclamp),
                            key_hash: row.try_get("key_hash")?,
                            user: row.try_get("user_tag")?,
                            metadata: match metadata {
                                Some(text) => serde_json::from_str(&text)?,
                                None => Default::default(),
                            },
                        },
                    });
                }
                let next_cursor = if more {
                    data.last().map(|last| {
                        $crate::Cursor { created_at_ms: last.record.created_at_ms, id: last.id }.encode()
                    })
                } else {
                    None
                };
                Ok($crate::RequestsPage { data, next_cursor })
            }

            async fn put_response(&self, r: &$crate::StoredResponse) -> Result<(), $crate::StorageError> {
                let response = serde_json::to_string(&r.response)?;
                let input_items = serde_json::to_string(&r.input_items)?;
                let context = serde_json::to_string(&r.context)?;
                sqlx::query(
                    "INSERT INTO stored_responses \
                     (id, created_at, model, previous_response_id, key_hash, response, input_items, context) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, model = excluded.model, \
                     previous_response_id = excluded.previous_response_id, key_hash = excluded.key_hash, \
                     response = excluded.response, input_items = excluded.input_items, context = excluded.context",
                )
                .bind(&r.id)
                .bind(r.created_at)
                .bind(&r.model)
                .bind(&r.previous_response_id)
                .bind(&r.key_hash)
                .bind(response)
                .bind(input_items)
                .bind(context)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_response(
                &self,
                id: &str,
            ) -> Result<Option<$crate::StoredResponse>, $crate::StorageError> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT id, created_at, model, previous_response_id, key_hash, response, input_items, context \
                     FROM stored_responses WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let response: String = row.try_get("response")?;
                let input_items: String = row.try_get("input_items")?;
                let context: String = row.try_get("context")?;
                Ok(Some($crate::StoredResponse {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    model: row.try_get("model")?,
                    previous_response_id: row.try_get("previous_response_id")?,
                    key_hash: row.try_get("key_hash")?,
                    response: serde_json::from_str(&response)?,
                    input_items: serde_json::from_str(&input_items)?,
                    context: serde_json::from_str(&context)?,
                }))
            }

            async fn delete_response(&self, id: &str) -> Result<bool, $crate::StorageError> {
                let done = sqlx::query("DELETE FROM stored_responses WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn close(&self) {
                self.pool.close().await;
            }
        }
    };
}

pub(crate) use storage_impl;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_chunks_cover_every_row_with_few_fixed_sizes() {
        for n in [
            0usize, 1, 3, 4, 5, 63, 64, 255, 256, 257, 1000, 1750, 4096, 4097,
        ] {
            let sizes: Vec<usize> = insert_chunks(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n, "n={n}: {sizes:?}");
            assert!(
                sizes.iter().all(|s| INSERT_CHUNKS.contains(s)),
                "n={n}: {sizes:?}"
            );
            assert!(
                sizes.windows(2).all(|w| w[0] >= w[1]),
                "largest first: {sizes:?}"
            );
            // Whole 64-row statements, then at most three of each smaller size.
            assert!(
                sizes.len() <= n / 64 + 9,
                "n={n}: {} statements",
                sizes.len()
            );
        }
        assert_eq!(
            insert_chunks(250).collect::<Vec<_>>(),
            [64, 64, 64, 16, 16, 16, 4, 4, 1, 1]
        );
    }
}
