//! Read-model benchmark (not a timed test; `#[ignore]`d). Run with
//! `cargo test -p console-storage --release --test bench -- --ignored --nocapture`.
//! Scale: `BENCH_CONNECTIONS` (default 10000) x `BENCH_RECORDS` per connection (default 100).
//! Reports fold time for 1/100/1000 dirty rows, rebuild time, ingest throughput.

#[allow(dead_code, unused_macros)]
#[path = "store/harness.rs"]
mod harness;

use console_storage::{ConnectionChange, ListOrder, ListQuery};
use harness::{record, t, with_postgres, with_sqlite, Harness};
use serde_json::json;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn bench(h: Harness) {
    let n = env("BENCH_CONNECTIONS", 10_000);
    let per = env("BENCH_RECORDS", 100);
    h.connector("alpha").await;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(16) {
        let created = futures::future::join_all(
            (0..16usize.min(n - chunk * 16)).map(|_| h.connection("alpha", 1)),
        )
        .await;
        ids.extend(created.into_iter().map(|c| c.connection_id));
    }
    println!(
        "[{}] created {n} connections in {:?}",
        h.backend,
        started.elapsed()
    );
    h.fold_all(2).await;

    let started = Instant::now();
    let mut total = 0usize;
    for chunk in ids.chunks(8) {
        futures::future::join_all(chunk.iter().map(|id| {
            let batch: Vec<_> = (0..per)
                .map(|i| {
                    record(
                        "items",
                        &format!("k{i}"),
                        json!({"i": i, "body": "x".repeat(64)}),
                    )
                })
                .collect();
            let store = h.store.clone();
            let id = id.clone();
            async move { store.ingest_records(&id, &batch, t(3)).await.unwrap() }
        }))
        .await;
        total += chunk.len() * per;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "[{}] ingested {total} records in {secs:.1}s ({:.0} records/s, batches of {per}, dirty marking included)",
        h.backend,
        total as f64 / secs
    );
    let started = Instant::now();
    h.fold_all(4).await;
    println!(
        "[{}] folded {n} dirty rows in {:?}",
        h.backend,
        started.elapsed()
    );

    for dirty in [1usize, 100, 1_000].map(|d| d.min(n)) {
        for id in ids.iter().take(dirty) {
            h.store
                .update_connection(
                    id,
                    &ConnectionChange::Rename(Some(format!("r{dirty}"))),
                    t(5),
                )
                .await
                .unwrap();
        }
        let started = Instant::now();
        let report = h.store.fold_dirty(dirty as u32, t(6)).await.unwrap();
        assert_eq!(report.folded as usize, dirty);
        println!(
            "[{}] fold {dirty} dirty rows among {n}: {:?}",
            h.backend,
            started.elapsed()
        );
    }

    let started = Instant::now();
    let page = h
        .store
        .read_evidence_page(
            &ListQuery {
                limit: Some(100),
                after: None,
                status: None,
                order: ListOrder::NeedsYouFirst,
            },
            t(7),
        )
        .await
        .unwrap();
    println!(
        "[{}] clean page of {}: {:?}",
        h.backend,
        page.rows.len(),
        started.elapsed()
    );

    let started = Instant::now();
    let report = h
        .store
        .rebuild_evidence(500, t(8), &|_, _| {})
        .await
        .unwrap();
    println!(
        "[{}] rebuild of {n} connections / {total} records: {:?} ({} batches, {} changed)",
        h.backend,
        started.elapsed(),
        report.batches,
        report.changed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn sqlite_read_model_benchmark() {
    with_sqlite(bench).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn postgres_read_model_benchmark() {
    with_postgres(bench).await;
}
