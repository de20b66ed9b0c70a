//! Crash safety: the real server (or the `rebuild-summaries` command) is killed with SIGKILL
//! in the middle of (a) a 10,000-record ingest batch, (b) a sweeper fold over thousands of
//! dirty rows, (c) a full rebuild; then restarted on the same database (SQLite in WAL mode,
//! and Postgres). After the kill:
//!
//! - the batch is all-or-nothing: the record count is the count before, or before + batch;
//! - every evidence row is old-and-dirty or new-and-clean, never clean-but-stale: the clean
//!   rows are compared with a rebuild from scratch, which must change exactly the dirty rows;
//! - the next read through the restarted server is correct.
//!
//! Each kill waits until the operation is observably under way (another process holds an
//! open writing transaction, and for folds and rebuilds some but not all rows are done), so
//! the test proves the kill landed mid-operation rather than hoping it did.

// Each test binary uses its own part of the shared support.
#[allow(dead_code)]
mod process;

use console_storage::testing::{load_fleet, FleetSpec, TestBackend, TestDatabase};
use process::{count, Deadline, Direct, Server, WriteProbe, NO_SWEEPER};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// The service's batch limit: the largest batch an owner can send.
const BATCH: usize = 10_000;

/// Connections whose evidence is dirty when the fold or rebuild is killed: enough that
/// either takes many transactions.
const FLEET: usize = 2_000;

/// A staleness window nothing else uses, so a read shows whether the write reached it.
const MARK_WINDOW: i64 = 7_777;

async fn kill_mid_ingest(backend: TestBackend) {
    let db = TestDatabase::create(backend).await;
    let url = db.url().to_owned();
    let server = Server::start(&url, NO_SWEEPER, "ingest-a").await;
    let id = server.create_connection("spotify").await;
    let records = |range: std::ops::Range<usize>| {
        range
            .map(|i| {
                json!({"stream": "plays", "record_key": format!("play-{i}"),
                       "data": {"track": format!("track {i}"), "ms_played": i * 7}})
            })
            .collect::<Vec<_>>()
    };
    let (status, body) = server
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/records"),
            &json!(records(0..100)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let count_sql = format!("SELECT COUNT(*) FROM records WHERE connection_id = '{id}'");
    let before = count(&url, &count_sql).await;
    assert_eq!(before, 100);

    // The big batch, sent from a task: the server dies before it can answer.
    let batch = json!(records(100..100 + BATCH));
    let request = server
        .owner(Method::POST, &format!("/_ref/connections/{id}/records"))
        .json(&batch)
        .send();
    let in_flight = tokio::spawn(request);
    let mut probe = WriteProbe::connect(&db).await;
    let deadline = Deadline::new(Duration::from_secs(60), "the ingest transaction");
    while !probe.writer_active().await {
        deadline.tick().await;
    }
    let waited = deadline.elapsed();
    server.kill().await;
    let answered = in_flight.await.unwrap();
    assert!(
        answered.is_err(),
        "the kill must come before the answer: {answered:?}"
    );
    crash_over(backend, &url, &mut probe).await;

    let after = count(&url, &count_sql).await;
    assert!(
        after == before || after == before + BATCH as i64,
        "{backend:?}: half a batch survived the kill: {after} records, {before} before"
    );
    eprintln!(
        "{backend:?} ingest: killed {waited:?} into the request, during the write; \
         {after} records after ({before} before)"
    );

    let server = Server::start(&url, NO_SWEEPER, "ingest-b").await;
    audit_then_read(&url, &server).await;
    let (_, list) = server
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    assert_eq!(list["data"][0]["total_records"], json!(after), "{list}");

    // The same batch again: all of it is new, or all of it was already there.
    let (status, counts) = server
        .send_json(
            Method::POST,
            &format!("/_ref/connections/{id}/records"),
            &batch,
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    let inserted = counts["inserted"].as_i64().unwrap();
    assert_eq!(inserted, before + BATCH as i64 - after, "{counts}");
    assert_eq!(counts["updated"], json!(0), "{counts}");
    let (_, list) = server
        .get_json(&format!("/_ref/connectors?connection={id}"))
        .await;
    assert_eq!(
        list["data"][0]["total_records"],
        json!(before + BATCH as i64),
        "{list}"
    );
    drop(server);
    db.remove().await;
}

/// A fleet of `FLEET` connections whose evidence is built, then made dirty by one real write
/// per connector: a manifest whose staleness window changed, which marks every connection of
/// the connector in one transaction. Every row is then old-and-dirty until folded.
async fn dirty_fleet(db: &TestDatabase) {
    let direct = Direct::open(db.url()).await;
    let now = chrono::Utc::now();
    let spec = FleetSpec {
        connections: FLEET,
        connectors: 4,
        runs_per_connection: 2,
        records_per_connection: 3,
        seed: 7,
    };
    let fleet = load_fleet(&direct.database, &spec, now).await.unwrap();
    direct
        .store
        .rebuild_evidence(1000, now, &|_, _| {})
        .await
        .unwrap();
    for connector in &fleet.connector_ids {
        let mut manifest = direct
            .store
            .get_connector(connector)
            .await
            .unwrap()
            .unwrap();
        manifest.refresh_policy.maximum_staleness_seconds = Some(MARK_WINDOW);
        assert!(direct.store.upsert_connector(&manifest, now).await.unwrap());
    }
    let snapshot = direct.evidence_snapshot().await;
    assert_eq!(snapshot.dirty.len(), FLEET, "every row starts dirty");
    direct.close().await;
}

/// The manifest change reached every row.
async fn assert_window_marked(url: &str) {
    let direct = Direct::open(url).await;
    let ids = direct.connection_ids().await;
    let page = direct
        .store
        .read_evidence(&ids, chrono::Utc::now())
        .await
        .unwrap();
    for evidence in page.rows {
        assert_eq!(
            evidence.manifest_staleness_seconds,
            Some(MARK_WINDOW),
            "the manifest change was lost: {evidence:?}"
        );
    }
    direct.close().await;
}

fn dirty_rows_sql() -> &'static str {
    "SELECT COUNT(*) FROM connector_summary_evidence WHERE dirty"
}

/// True while some but not all rows are folded and a writing transaction is open: a fold or
/// rebuild is between its first and last batch, inside a batch.
async fn mid_way(url: &str, probe: &mut WriteProbe) -> bool {
    let dirty = count(url, dirty_rows_sql()).await;
    dirty > 0 && dirty < FLEET as i64 && probe.writer_active().await
}

async fn kill_mid_fold(backend: TestBackend) {
    let db = TestDatabase::create(backend).await;
    let url = db.url().to_owned();
    dirty_fleet(&db).await;

    // The sweeper starts folding as soon as the server is up.
    let server = Server::start(&url, Duration::from_millis(10), "fold-a").await;
    let mut probe = WriteProbe::connect(&db).await;
    let deadline = Deadline::new(Duration::from_secs(60), "a fold under way");
    while !mid_way(&url, &mut probe).await {
        deadline.tick().await;
    }
    server.kill().await;
    crash_over(backend, &url, &mut probe).await;
    let dirty = count(&url, dirty_rows_sql()).await;
    assert!(
        dirty > 0 && dirty < FLEET as i64,
        "the kill landed mid-sweep: {dirty} of {FLEET} rows dirty"
    );
    eprintln!("{backend:?} fold: killed with {dirty} of {FLEET} rows dirty");

    let server = Server::start(&url, NO_SWEEPER, "fold-b").await;
    audit_then_read(&url, &server).await;
    assert_window_marked(&url).await;
    drop(server);
    db.remove().await;
}

async fn kill_mid_rebuild(backend: TestBackend) {
    let db = TestDatabase::create(backend).await;
    let url = db.url().to_owned();
    dirty_fleet(&db).await;

    let (mut cmd, log) = process::command(
        &[
            "rebuild-summaries",
            "--database-url",
            &url,
            "--batch-size",
            "25",
        ],
        "rebuild",
    );
    let mut rebuild = cmd.spawn().unwrap();
    let mut probe = WriteProbe::connect(&db).await;
    let deadline = Deadline::new(Duration::from_secs(60), "a rebuild under way");
    while !mid_way(&url, &mut probe).await {
        deadline.tick().await;
    }
    process::kill(&mut rebuild).await;
    crash_over(backend, &url, &mut probe).await;
    let dirty = count(&url, dirty_rows_sql()).await;
    assert!(
        dirty > 0 && dirty < FLEET as i64,
        "the kill landed mid-rebuild: {dirty} of {FLEET} rows dirty; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    eprintln!("{backend:?} rebuild: killed with {dirty} of {FLEET} rows still dirty");
    let _ = std::fs::remove_file(&log);

    let server = Server::start(&url, NO_SWEEPER, "rebuild-b").await;
    audit_then_read(&url, &server).await;
    assert_window_marked(&url).await;
    drop(server);
    db.remove().await;
}

/// What a kill mid-write leaves, checked before anything reopens the database: on SQLite,
/// its write-ahead log for the next opener to recover; on Postgres, a transaction the
/// database rolls back once it notices the client is gone (waited for here).
async fn crash_over(backend: TestBackend, url: &str, probe: &mut WriteProbe) {
    if backend == TestBackend::Sqlite {
        assert_wal_left_behind(url);
    }
    probe.until_writers_gone().await;
}

/// A killed SQLite writer leaves its write-ahead log for the next opener to recover.
fn assert_wal_left_behind(url: &str) {
    let path = format!("{}-wal", url.trim_start_matches("sqlite://"));
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(len > 0, "no WAL left at {path}");
}

/// After a kill, with a fresh server up but idle: (1) what the evidence table holds is
/// old-and-dirty or new-and-clean; (2) the server's next full read folds what is dirty and
/// shows every write (each connection's schedule, each count); (3) nothing it then holds
/// differs from a rebuild from scratch.
async fn audit_then_read(url: &str, server: &Server) {
    let direct = Direct::open(url).await;
    let at_kill = direct.evidence_snapshot().await;
    assert!(at_kill.missing.is_empty(), "{:?}", at_kill.missing);

    let (status, list) = server.get_json("/_ref/connectors").await;
    assert_eq!(status, 200, "{list}\n{}", server.log_text());
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), direct.connection_ids().await.len());
    let records = direct.live_record_counts().await;
    for row in rows {
        let id = row["connection_id"].as_str().unwrap();
        assert_eq!(row["evidence"]["state"], "current", "{row}");
        let retained = records.get(id).copied().unwrap_or(0);
        assert_eq!(row["total_records"], json!(retained), "{row}");
    }

    // The read folded the dirty rows; the rows clean at the kill were left as they were.
    let problems = direct.rebuild_and_compare(&at_kill).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    direct.close().await;
}

macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(console_storage::testing::TestBackend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(console_storage::testing::TestBackend::Postgres).await
                }
            )+
        }
    };
}

on_both_backends!(kill_mid_ingest, kill_mid_fold, kill_mid_rebuild);
