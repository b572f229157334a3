//! The usage recorder: the request path hands a record over with a non-blocking `try_send`
//! into a bounded channel; one background task batches records (by count and by time), writes
//! them, retries with back-off while the database is down, and flushes what it holds on
//! graceful shutdown. When the channel is full the record is dropped, counted
//! (`gomodel_usage_dropped_total`) and logged: a storage outage never slows or fails a request.

use crate::{Storage, UsageRecord};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Metric names (Prometheus), registered by whoever installs the metrics recorder.
pub mod metric {
    /// Gauge: records waiting to be written (channel + the batch in hand).
    pub const QUEUE_DEPTH: &str = "gomodel_usage_queue_depth";
    /// Counter: records lost (buffer full, or still unwritten when shutdown gave up).
    pub const DROPPED: &str = "gomodel_usage_dropped_total";
    /// Counter: records written to the database.
    pub const WRITTEN: &str = "gomodel_usage_written_total";
    /// Counter: failed batch writes (each is retried).
    pub const WRITE_ERRORS: &str = "gomodel_usage_write_errors_total";
}

#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Records the channel holds while the writer is busy or the database is down.
    pub capacity: usize,
    /// Most records per write (one transaction).
    pub batch_size: usize,
    /// How long the first record of a batch waits for others, unless a full batch is queued
    /// sooner. The buffer must hold what arrives meanwhile: `capacity / flush_interval` is the
    /// sustained request rate the recorder takes without dropping.
    pub flush_interval: Duration,
    /// Back-off after a failed write starts at `flush_interval / 4` and doubles up to this.
    pub max_backoff: Duration,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            // 65 536 records / 100 ms: over 600 000 requests a second before a record drops.
            capacity: 65_536,
            batch_size: 4096,
            // Records wait in memory until written: at 10 000 req/s, 250 ms held ~2,500 of
            // them (~1.4 MB); 100 ms holds 1,000 for ten small WAL commits a second.
            flush_interval: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// The request-path side. Cheap to clone; `record` never waits.
#[derive(Clone)]
pub struct UsageRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<UsageRecord>,
    dropped: AtomicU64,
    /// Unix ms of the last "dropping records" warning, to log at most every few seconds.
    last_drop_log_ms: AtomicI64,
    dropped_metric: metrics::Counter,
    depth_metric: metrics::Gauge,
}

/// The writer task; `shutdown` flushes and stops it.
pub struct RecorderTask {
    stop: watch::Sender<Option<Instant>>,
    join: JoinHandle<()>,
}

const DROP_LOG_EVERY_MS: i64 = 10_000;

impl UsageRecorder {
    /// Starts the writer. Install the metrics recorder before this: metric handles taken
    /// earlier are no-ops.
    pub fn spawn(
        storage: Arc<dyn Storage>,
        opts: RecorderOptions,
    ) -> (UsageRecorder, RecorderTask) {
        let (tx, rx) = mpsc::channel(opts.capacity.max(1));
        let (stop_tx, stop_rx) = watch::channel(None);
        let inner = Arc::new(Inner {
            tx,
            dropped: AtomicU64::new(0),
            last_drop_log_ms: AtomicI64::new(0),
            dropped_metric: metrics::counter!(metric::DROPPED),
            depth_metric: metrics::gauge!(metric::QUEUE_DEPTH),
        });
        let writer = Writer {
            storage,
            rx,
            stop: stop_rx,
            // Grows to the largest batch seen rather than reserving `batch_size` records
            // (~1.3 MB) that a quiet gateway never fills.
            batch: Vec::new(),
            opts,
            migrated: false,
            failing_since: None,
            recorder: inner.clone(),
        };
        let join = tokio::spawn(writer.run());
        (
            UsageRecorder { inner },
            RecorderTask {
                stop: stop_tx,
                join,
            },
        )
    }

    /// Hands a record to the writer without waiting. A full buffer drops it (counted, logged).
    pub fn record(&self, rec: UsageRecord) {
        match self.inner.tx.try_send(rec) {
            Ok(()) => self.inner.depth_metric.increment(1.0),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.inner.drop_records(1, "the usage buffer is full")
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.inner.drop_records(1, "the usage writer has shut down")
            }
        }
    }

    /// Records lost so far.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting in the channel.
    pub fn queued(&self) -> usize {
        self.inner.tx.max_capacity() - self.inner.tx.capacity()
    }
}

impl Inner {
    fn drop_records(&self, n: u64, why: &str) {
        let total = self.dropped.fetch_add(n, Ordering::Relaxed) + n;
        self.dropped_metric.increment(n);
        let now = crate::now_ms();
        let last = self.last_drop_log_ms.load(Ordering::Relaxed);
        if now - last >= DROP_LOG_EVERY_MS
            && self
                .last_drop_log_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::error!(dropped_total = total, reason = why, "usage records dropped");
        }
    }
}

impl RecorderTask {
    /// Stops accepting records, writes what is queued (retrying until `timeout`), and waits for
    /// the writer to finish. Records still unwritten at the deadline are counted as dropped.
    pub async fn shutdown(self, timeout: Duration) {
        let _ = self.stop.send(Some(Instant::now() + timeout));
        // A little beyond the writer's own deadline: a write in flight may need to finish.
        if tokio::time::timeout(timeout + Duration::from_secs(2), self.join)
            .await
            .is_err()
        {
            tracing::error!("the usage writer did not stop in time");
        }
    }
}

struct Writer {
    storage: Arc<dyn Storage>,
    rx: mpsc::Receiver<UsageRecord>,
    stop: watch::Receiver<Option<Instant>>,
    batch: Vec<UsageRecord>,
    opts: RecorderOptions,
    migrated: bool,
    failing_since: Option<Instant>,
    recorder: Arc<Inner>,
}

impl Writer {
    /// One wake-up per flush, not per record: after the first record of a batch arrives the
    /// writer sleeps for the flush interval (unless a full batch is already waiting), then takes
    /// everything queued, up to a batch, and writes it in one transaction.
    async fn run(mut self) {
        let batch_size = self.opts.batch_size.max(1);
        let mut backoff = self.initial_backoff();
        loop {
            let stopping = *self.stop.borrow();
            if let Some(deadline) = stopping {
                return self.drain(deadline).await;
            }
            self.publish_depth();
            if self.batch.is_empty() {
                tokio::select! {
                    biased;
                    changed = self.stop.changed() => {
                        if changed.is_err() {
                            // The task handle was dropped without `shutdown`: flush briefly.
                            return self.drain(Instant::now() + Duration::from_secs(2)).await;
                        }
                        continue;
                    }
                    n = self.rx.recv_many(&mut self.batch, batch_size) => {
                        if n == 0 {
                            return self.drain(Instant::now() + Duration::from_secs(2)).await;
                        }
                    }
                }
                if self.batch.len() + self.rx.len() < batch_size {
                    tokio::select! {
                        biased;
                        _ = self.stop.changed() => {}
                        () = tokio::time::sleep(self.opts.flush_interval) => {}
                    }
                }
            }
            while self.batch.len() < batch_size {
                match self.rx.try_recv() {
                    Ok(rec) => self.batch.push(rec),
                    Err(_) => break,
                }
            }
            if self.write_batch().await {
                backoff = self.initial_backoff();
            } else {
                tokio::select! {
                    biased;
                    _ = self.stop.changed() => {}
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(self.opts.max_backoff);
            }
        }
    }

    fn initial_backoff(&self) -> Duration {
        (self.opts.flush_interval / 4).max(Duration::from_millis(50))
    }

    fn publish_depth(&self) {
        let depth = self.rx.len() + self.batch.len();
        self.recorder.depth_metric.set(depth as f64);
    }

    /// Writes the batch in hand; true when it is written (and cleared).
    async fn write_batch(&mut self) -> bool {
        let result = async {
            if !self.migrated {
                self.storage.migrate().await?;
                self.migrated = true;
            }
            self.storage.insert_usage(&self.batch).await
        }
        .await;
        match result {
            Ok(()) => {
                let n = self.batch.len();
                metrics::counter!(metric::WRITTEN).increment(n as u64);
                if let Some(since) = self.failing_since.take() {
                    tracing::info!(
                        records = n,
                        down_for_secs = since.elapsed().as_secs(),
                        queued = self.rx.len(),
                        "usage storage is reachable again: writing the queued records"
                    );
                }
                self.batch.clear();
                self.publish_depth();
                true
            }
            Err(e) => {
                metrics::counter!(metric::WRITE_ERRORS).increment(1);
                match self.failing_since {
                    None => {
                        self.failing_since = Some(Instant::now());
                        tracing::warn!(
                            backend = self.storage.backend(), error = %e, records = self.batch.len(),
                            "cannot write usage records: keeping them queued and retrying"
                        );
                    }
                    Some(_) => tracing::debug!(error = %e, "usage write retry failed"),
                }
                false
            }
        }
    }

    /// Shutdown: takes everything queued, writes it until `deadline`, counts the rest as lost.
    async fn drain(mut self, deadline: Instant) {
        // No new records from here on; `record` counts late arrivals as dropped.
        self.rx.close();
        let mut pending: Vec<UsageRecord> = std::mem::take(&mut self.batch);
        while let Ok(rec) = self.rx.try_recv() {
            pending.push(rec);
        }
        let total = pending.len();
        let batch_size = self.opts.batch_size.max(1);
        let mut backoff = self.initial_backoff();
        while !pending.is_empty() && Instant::now() < deadline {
            let take = pending.len().min(batch_size);
            self.batch = pending.drain(..take).collect();
            let attempt = tokio::time::timeout_at(deadline, self.write_batch()).await;
            if !matches!(attempt, Ok(true)) {
                // Put the batch back in front and retry until the deadline.
                let mut back = std::mem::take(&mut self.batch);
                back.append(&mut pending);
                pending = back;
                tokio::time::sleep_until((Instant::now() + backoff).min(deadline)).await;
                backoff = (backoff * 2).min(self.opts.max_backoff);
            }
        }
        self.recorder.depth_metric.set(0.0);
        if pending.is_empty() {
            if total > 0 {
                tracing::info!(records = total, "usage records flushed");
            }
        } else {
            let lost = pending.len() as u64;
            self.recorder.dropped.fetch_add(lost, Ordering::Relaxed);
            self.recorder.dropped_metric.increment(lost);
            tracing::error!(
                records = lost,
                "usage storage unreachable at shutdown: these usage records are lost"
            );
        }
    }
}
