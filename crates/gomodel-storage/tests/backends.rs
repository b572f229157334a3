//! The storage suite, run against both backends: SQLite in a temp dir always, PostgreSQL when
//! `TEST_DATABASE_URL` is set (`.ci/run` starts a throwaway cluster and sets it). Each Postgres
//! run works in its own fresh schema, so runs never see each other's rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gomodel_storage::{
    Cursor, GroupBy, RecorderOptions, RequestsQuery, Storage, StorageConfig, StoredResponse,
    UsageQuery, UsageRecord, UsageRecorder,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const DAY: i64 = 86_400_000;
/// 2023-11-14T22:13:20Z
const T0: i64 = 1_700_000_000_000;

fn rec(i: usize, at: i64, model: &str, provider: &str, status: u16) -> UsageRecord {
    UsageRecord {
        created_at_ms: at,
        request_id: format!("req-{i}"),
        provider: provider.to_owned(),
        model: model.to_owned(),
        resolved_model: format!("us.{model}"),
        endpoint: "chat.completions".to_owned(),
        stream: i.is_multiple_of(2),
        status,
        error_type: (status >= 400).then(|| "ThrottlingException".to_owned()),
        input_tokens: 10,
        output_tokens: 5,
        cached_tokens: 2,
        reasoning_tokens: 1,
        latency_ms: 100,
        ttft_ms: i.is_multiple_of(2).then_some(20),
        key_hash: Some(if i.is_multiple_of(3) { "aaaa" } else { "bbbb" }.to_owned()),
        user: Some("alice".to_owned()),
        metadata: BTreeMap::from([("team".to_owned(), "search".to_owned())]),
    }
}

/// 10 records: 6 on day 0 (model m1, bedrock), 4 on day 1 (model m2, bedrock-us), one error.
fn dataset() -> Vec<UsageRecord> {
    let mut v = Vec::new();
    for i in 0..6 {
        v.push(rec(i, T0 + i as i64 * 1000, "m1", "bedrock", 200));
    }
    for i in 6..10 {
        let status = if i == 9 { 429 } else { 200 };
        v.push(rec(
            i,
            T0 + DAY + i as i64 * 1000,
            "m2",
            "bedrock-us",
            status,
        ));
    }
    v
}

async fn suite(storage: Arc<dyn Storage>) {
    storage.migrate().await.expect("migrate");
    storage.migrate().await.expect("migrate is idempotent");
    storage.ping().await.expect("ping");

    // Empty database: one all-zero group.
    let empty = storage.usage_totals(&UsageQuery::default()).await.unwrap();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].totals.requests, 0);
    assert_eq!(empty[0].totals.avg_latency_ms, None);

    let data = dataset();
    storage.insert_usage(&data[..4]).await.unwrap();
    storage.insert_usage(&data[4..]).await.unwrap();
    storage.insert_usage(&[]).await.unwrap();

    totals(&*storage).await;
    pagination(&*storage, &data).await;
    responses(&*storage).await;
    big_batch(&*storage).await;
    recorder_flushes_on_shutdown(storage.clone()).await;
}

async fn totals(storage: &dyn Storage) {
    let all = storage.usage_totals(&UsageQuery::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    let t = &all[0].totals;
    assert_eq!((t.requests, t.errors), (10, 1));
    assert_eq!(
        (t.input_tokens, t.output_tokens, t.total_tokens),
        (100, 50, 150)
    );
    assert_eq!((t.cached_tokens, t.reasoning_tokens), (20, 10));
    assert_eq!(t.avg_latency_ms, Some(100.0));
    assert_eq!(all[0].key, None);

    let by_day = storage
        .usage_totals(&UsageQuery {
            group_by: GroupBy::Day,
            ..Default::default()
        })
        .await
        .unwrap();
    let days: Vec<(Option<&str>, u64)> = by_day
        .iter()
        .map(|g| (g.key.as_deref(), g.totals.requests))
        .collect();
    assert_eq!(
        days,
        [(Some("2023-11-14"), 6), (Some("2023-11-15"), 4)],
        "{by_day:?}"
    );

    let by_model = storage
        .usage_totals(&UsageQuery {
            group_by: GroupBy::Model,
            ..Default::default()
        })
        .await
        .unwrap();
    let models: Vec<(Option<&str>, u64, u64)> = by_model
        .iter()
        .map(|g| (g.key.as_deref(), g.totals.requests, g.totals.input_tokens))
        .collect();
    assert_eq!(models, [(Some("m1"), 6, 60), (Some("m2"), 4, 40)]);

    let by_provider = storage
        .usage_totals(&UsageQuery {
            group_by: GroupBy::Provider,
            provider: Some("bedrock-us".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_provider.len(), 1);
    assert_eq!(by_provider[0].key.as_deref(), Some("bedrock-us"));
    assert_eq!(
        (by_provider[0].totals.requests, by_provider[0].totals.errors),
        (4, 1)
    );

    // Filters: time range (from inclusive, to exclusive), model (requested or resolved), key.
    let q =
        |f: UsageQuery| async move { storage.usage_totals(&f).await.unwrap()[0].totals.requests };
    assert_eq!(
        q(UsageQuery {
            from_ms: Some(T0 + DAY),
            ..Default::default()
        })
        .await,
        4
    );
    assert_eq!(
        q(UsageQuery {
            from_ms: Some(T0),
            to_ms: Some(T0 + 2000),
            ..Default::default()
        })
        .await,
        2
    );
    assert_eq!(
        q(UsageQuery {
            model: Some("us.m1".into()),
            ..Default::default()
        })
        .await,
        6
    );
    assert_eq!(
        q(UsageQuery {
            model: Some("m2".into()),
            key_hash: Some("aaaa".into()),
            ..Default::default()
        })
        .await,
        2, // records 6 and 9
    );
    assert_eq!(
        q(UsageQuery {
            provider: Some("nope".into()),
            ..Default::default()
        })
        .await,
        0
    );
}

async fn pagination(storage: &dyn Storage, data: &[UsageRecord]) {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = storage
            .list_requests(&RequestsQuery { limit: 3, cursor })
            .await
            .unwrap();
        assert!(page.data.len() <= 3);
        seen.extend(page.data.iter().map(|r| r.record.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(Cursor::decode(&c).expect("cursor decodes")),
            None => break,
        }
    }
    // Newest first, each row exactly once, every field read back as written.
    let mut want: Vec<UsageRecord> = data.to_vec();
    want.reverse();
    assert_eq!(seen, want);

    let first = storage
        .list_requests(&RequestsQuery {
            limit: 10,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(first.data.len(), 10);
    assert_eq!(
        first.next_cursor, None,
        "exactly one full page has no next page"
    );
}

async fn responses(storage: &dyn Storage) {
    assert_eq!(storage.get_response("resp_missing").await.unwrap(), None);
    assert!(!storage.delete_response("resp_missing").await.unwrap());
    let mut r = StoredResponse {
        id: "resp_1".into(),
        created_at: 1_700_000_000,
        model: "m1".into(),
        previous_response_id: None,
        key_hash: Some("aaaa".into()),
        response: json!({"id": "resp_1", "object": "response", "output": [{"type": "message"}]}),
        input_items: vec![json!({"type": "message", "role": "user", "content": "héllo ✓"})],
        context: vec![json!({"type": "message", "role": "user", "content": "héllo ✓"})],
    };
    storage.put_response(&r).await.unwrap();
    assert_eq!(
        storage.get_response("resp_1").await.unwrap(),
        Some(r.clone())
    );
    // Upsert: storing the same id again replaces it.
    r.previous_response_id = Some("resp_0".into());
    r.context
        .insert(0, json!({"role": "user", "content": "earlier"}));
    storage.put_response(&r).await.unwrap();
    assert_eq!(storage.get_response("resp_1").await.unwrap(), Some(r));
    assert!(storage.delete_response("resp_1").await.unwrap());
    assert_eq!(storage.get_response("resp_1").await.unwrap(), None);
}

async fn big_batch(storage: &dyn Storage) {
    let before = storage.usage_totals(&UsageQuery::default()).await.unwrap()[0]
        .totals
        .requests;
    let batch: Vec<UsageRecord> = (0..600)
        .map(|i| rec(100 + i, T0 + 5 * DAY, "bulk", "bedrock", 200))
        .collect();
    storage.insert_usage(&batch).await.unwrap();
    let after = storage.usage_totals(&UsageQuery::default()).await.unwrap()[0]
        .totals
        .requests;
    assert_eq!(after - before, 600);
}

async fn recorder_flushes_on_shutdown(storage: Arc<dyn Storage>) {
    let only = |s: &'static str| UsageQuery {
        model: Some(s.into()),
        ..Default::default()
    };
    let (recorder, task) = UsageRecorder::spawn(
        storage.clone(),
        RecorderOptions {
            // A long interval: only the shutdown flush can write the tail.
            flush_interval: Duration::from_secs(60),
            batch_size: 64,
            ..Default::default()
        },
    );
    for i in 0..1000 {
        recorder.record(rec(i, T0 + 7 * DAY, "recorded", "bedrock", 200));
    }
    task.shutdown(Duration::from_secs(10)).await;
    let n = storage.usage_totals(&only("recorded")).await.unwrap()[0]
        .totals
        .requests;
    assert_eq!(n, 1000);
    assert_eq!(recorder.dropped(), 0);
    // After shutdown, records are refused and counted, not silently lost.
    recorder.record(rec(0, T0, "late", "bedrock", 200));
    assert_eq!(recorder.dropped(), 1);
}

fn sqlite_in(dir: &tempfile::TempDir) -> Arc<dyn Storage> {
    gomodel_storage::open(&StorageConfig::Sqlite {
        path: dir.path().join("data").join("gomodel.db"),
    })
    .unwrap()
}

#[tokio::test]
async fn sqlite_suite() {
    let dir = tempfile::tempdir().unwrap();
    let storage = sqlite_in(&dir);
    suite(storage.clone()).await;
    storage.close().await;
    assert!(
        dir.path().join("data/gomodel.db").is_file(),
        "created on first use"
    );
    // Reopening finds the schema in place and the rows still there.
    let again = sqlite_in(&dir);
    again.migrate().await.unwrap();
    let t = again.usage_totals(&UsageQuery::default()).await.unwrap();
    assert!(t[0].totals.requests >= 1610);
}

#[tokio::test]
async fn postgres_suite() {
    let Some(base) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "SKIPPED postgres_suite: TEST_DATABASE_URL is not set (.ci/run starts a throwaway PostgreSQL and sets it)"
        );
        return;
    };
    // A fresh schema per run, selected through the connection's search_path.
    let schema = format!(
        "gomodel_test_{}_{}",
        std::process::id(),
        gomodel_storage::now_ms()
    );
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let storage = gomodel_storage::open(&StorageConfig::Postgres { url }).unwrap();
    suite(storage.clone()).await;
    storage.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
}

/// A database that cannot be opened (its directory is a regular file, which fails even for
/// root), then becomes available: records queue, nothing blocks, and they land once it works.
#[tokio::test]
async fn recorder_survives_an_outage_and_counts_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let storage = gomodel_storage::open(&StorageConfig::Sqlite {
        path: blocker.join("gomodel.db"),
    })
    .unwrap();
    let (recorder, task) = UsageRecorder::spawn(
        storage.clone(),
        RecorderOptions {
            capacity: 50,
            batch_size: 10,
            flush_interval: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
    );
    let started = std::time::Instant::now();
    for i in 0..100 {
        recorder.record(rec(i, T0, "outage", "bedrock", 200));
    }
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "record never waits"
    );
    // The writer holds at most one batch; the channel 50; the rest is dropped and counted.
    assert!(recorder.dropped() >= 40, "dropped {}", recorder.dropped());
    let dropped_during_outage = recorder.dropped();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The database comes back.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    let written = 100 - dropped_during_outage;
    let mut n = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(t) = storage
            .usage_totals(&UsageQuery {
                model: Some("outage".into()),
                ..Default::default()
            })
            .await
        {
            n = t[0].totals.requests;
            if n == written {
                break;
            }
        }
    }
    assert_eq!(
        n, written,
        "queued records are written once the database is back"
    );
    task.shutdown(Duration::from_secs(5)).await;
    assert_eq!(recorder.dropped(), dropped_during_outage);
}

/// When the database stays down through shutdown, the records still queued are counted as lost.
#[tokio::test]
async fn shutdown_with_the_database_down_counts_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let storage = gomodel_storage::open(&StorageConfig::Sqlite {
        path: blocker.join("gomodel.db"),
    })
    .unwrap();
    let (recorder, task) = UsageRecorder::spawn(storage, RecorderOptions::default());
    for i in 0..7 {
        recorder.record(rec(i, T0, "lost", "bedrock", 200));
    }
    task.shutdown(Duration::from_millis(300)).await;
    assert_eq!(recorder.dropped(), 7);
}
