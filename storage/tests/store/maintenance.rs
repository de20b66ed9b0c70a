//! Fold, sweeper, rebuild and failure handling: the compare-and-set race, oldest-dirty-first
//! sweeping, orphan removal, idempotent rebuild equal to incremental maintenance, a failing
//! row that does not block the others, and SQLite/Postgres parity.

use crate::harness::{manifest, record, t, with_both, Harness};
use console_domain::evidence::{CountState, Evidence, EvidenceState};
use console_domain::model::{AttentionKind, FailureReason, Gap, RunStatus};
use console_storage::{ConnectionChange, RecordDeletion, RunOutcome, RunTrigger, ScheduleInput};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

both_backends!(
    write_between_fold_read_and_publish_stays_dirty,
    older_fold_never_overwrites_newer,
    a_fold_read_before_a_rebuild_never_undoes_its_repair,
    sweeper_folds_oldest_dirty_first_within_budget,
    a_large_sweep_batch_takes_exactly_the_oldest_rows,
    a_sweep_of_several_folds_takes_exactly_the_oldest_rows,
    a_sweep_that_fails_part_way_counts_the_folds_it_committed,
    failing_row_is_marked_alone_and_does_not_starve_others,
    rebuild_removes_orphans,
    rebuild_is_idempotent_and_equals_incremental,
    rebuild_repairs_drifted_evidence,
    status_reports_dirty_and_failed_rows,
    concurrent_writers_and_two_folders_converge_to_rebuild,
    a_large_sweep_equals_a_rebuild,
);

fn finished(status: RunStatus, reason: Option<FailureReason>, gaps: Vec<Gap>) -> RunOutcome {
    RunOutcome {
        status,
        failure_reason: reason,
        records_written: 2,
        gaps,
    }
}

async fn write_between_fold_read_and_publish_stays_dirty(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    let b = h.connection("alpha", 2).await.connection_id;
    let prepared = h.admin.fold_prepare(100).await.unwrap();
    assert_eq!(prepared.claims().len(), 2);
    // The write lands after the fold read a's sequence and extracted its evidence.
    h.store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(3))
        .await
        .unwrap();
    let report = h.admin.fold_publish(prepared, t(4)).await.unwrap();
    assert_eq!((report.folded, report.raced, report.failed), (1, 1, 0));
    assert_eq!(h.dirty().await, [a.clone()].into_iter().collect());
    let m = h.maintenance().await;
    let row_b = m.iter().find(|r| r.connection_id == b).unwrap();
    assert_eq!(row_b.folded_seq, row_b.write_seq);
    // Folded next time, with the write.
    let report = h.fold_all(5).await;
    assert_eq!(report.folded, 1);
    assert_eq!(h.evidence(&a, 6).await.total_records, 1);
}

async fn older_fold_never_overwrites_newer(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    let old = h.admin.fold_prepare(10).await.unwrap();
    h.store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(2))
        .await
        .unwrap();
    let new = h.admin.fold_prepare(10).await.unwrap();
    assert_eq!(h.admin.fold_publish(new, t(3)).await.unwrap().folded, 1);
    let report = h.admin.fold_publish(old, t(4)).await.unwrap();
    assert_eq!((report.folded, report.raced), (0, 1));
    let e = h.evidence(&a, 5).await;
    assert_eq!(e.total_records, 1);
    assert_eq!(e.meta.computed_at, Some(t(3)));
}

async fn sweeper_folds_oldest_dirty_first_within_budget(h: Harness) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(h.connection("alpha", 10 * i).await.connection_id);
    }
    let report = h.sweep(2, 100).await;
    assert_eq!(report.folded, 2);
    let dirty = h.dirty().await;
    assert_eq!(dirty, ids[2..].iter().cloned().collect());
    // A row dirtied again keeps its original dirty_since (still the oldest among them).
    h.store
        .ingest_records(&ids[2], &[record("items", "1", json!(1))], t(200))
        .await
        .unwrap();
    let status = h.store.read_model_status().await.unwrap();
    assert_eq!(status.dirty, 3);
    assert_eq!(status.oldest_dirty_since, Some(t(20)));
    h.sweep(1, 201).await;
    assert_eq!(h.dirty().await, ids[3..].iter().cloned().collect());
    assert_eq!(h.sweep(0, 202).await.folded, 0);
    h.sweep(10, 203).await;
    assert!(h.dirty().await.is_empty());
    assert_eq!(h.sweep(10, 204).await.folded, 0);
}

/// A batch of one fold big enough that SQLite shares its extraction over two connections:
/// it takes exactly the oldest dirty rows, each once.
async fn a_large_sweep_batch_takes_exactly_the_oldest_rows(h: Harness) {
    two_sweeps_take_the_oldest_rows(h, 300, 201).await;
}

/// A budget of several folds' worth (250 rows per fold on Postgres, four folds at once;
/// 500 on SQLite, one after another): together they take exactly the oldest rows, and a
/// sweep that runs out of dirty rows stops without error.
async fn a_sweep_of_several_folds_takes_exactly_the_oldest_rows(h: Harness) {
    two_sweeps_take_the_oldest_rows(h, 1_100, 1_030).await;
}

/// `rows` new (dirty) connections, then two sweeps of `budget` (more than half of them):
/// the first folds exactly the oldest `budget`, the second the rest.
async fn two_sweeps_take_the_oldest_rows(h: Harness, rows: usize, budget: u32) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..rows as i64 {
        ids.push(h.connection("alpha", i).await.connection_id);
    }
    let first = budget as usize;
    let report = h.sweep(budget, 1_000).await;
    assert_eq!(
        (report.folded, report.raced, report.failed),
        (first as u64, 0, 0)
    );
    assert_eq!(h.dirty().await, ids[first..].iter().cloned().collect());
    let report = h.sweep(budget, 1_001).await;
    assert_eq!(
        (report.folded, report.raced, report.failed),
        ((rows - first) as u64, 0, 0)
    );
    assert!(h.dirty().await.is_empty());
}

/// A sweep is several folds, each committed on its own: when its last fold fails (here a
/// trigger refuses to clean the newest row), the folds before it stand and the report
/// counts exactly the rows they cleaned, with the error. (The sweeper's status showed 0
/// folded for such a tick.)
async fn a_sweep_that_fails_part_way_counts_the_folds_it_committed(h: Harness) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..1_100 {
        ids.push(h.connection("alpha", i).await.connection_id);
    }
    let newest = &ids[1_099];
    console_storage::testing::refuse_to_fold(&h.db, newest).await;
    let sweep = h.store.fold_dirty(1_100, t(2_000)).await;
    let error = sweep.stopped_by.expect("the last fold failed").to_string();
    assert!(error.contains("injected fold failure"), "{error}");
    let folded = sweep.done.folded as usize;
    assert_eq!((sweep.done.raced, sweep.done.failed), (0, 0));
    // Only the fold that claimed the newest row rolled back. On SQLite, folds of 500 one
    // after another, that is the last 100 rows. On Postgres, four folds of 250 at once
    // claim the oldest rows not yet locked: the fold holding the newest row is the last 100,
    // or, when a worker started after another had committed and taken that 100, a 250.
    let lost = ids.len() - folded;
    assert!(
        lost == 100 || (h.backend == "postgres" && lost == 250),
        "{folded} rows folded"
    );
    // The report counts exactly the rows the committed folds cleaned.
    let dirty = h.dirty().await;
    assert_eq!(dirty.len(), lost);
    assert!(dirty.contains(newest));
    if h.backend == "sqlite" {
        assert_eq!(dirty, ids[folded..].iter().cloned().collect());
    }
}

async fn failing_row_is_marked_alone_and_does_not_starve_others(h: Harness) {
    h.connector("alpha").await;
    h.connector("beta").await;
    let broken = h.connection("beta", 1).await.connection_id;
    let fine = h.connection("alpha", 2).await.connection_id;
    h.store
        .ingest_records(&broken, &[record("items", "1", json!(1))], t(3))
        .await
        .unwrap();
    h.fold_all(4).await;
    // The broken connection's source cannot be read any more.
    h.exec("UPDATE connectors SET manifest = 'not json' WHERE connector_id = 'beta'")
        .await;
    for (id, at) in [(&broken, 10), (&fine, 11)] {
        h.store
            .update_connection(id, &ConnectionChange::Rename(Some(format!("n{at}"))), t(at))
            .await
            .unwrap();
    }
    let later = h.connection("alpha", 12).await.connection_id;
    // Budget 1, oldest first: the broken row fails and goes to the back of the queue.
    let report = h.sweep(1, 20).await;
    assert_eq!((report.folded, report.failed), (0, 1));
    assert_eq!(h.sweep(1, 21).await.folded, 1);
    assert_eq!(h.sweep(1, 22).await.folded, 1);
    assert_eq!(h.dirty().await, [broken.clone()].into_iter().collect());
    let m = h.maintenance().await;
    let row = m.iter().find(|r| r.connection_id == broken).unwrap();
    let error = row.error.clone().unwrap();
    assert!(error.contains("manifest"), "{error}");
    assert!(!error.contains("not json"), "errors carry no data");
    assert!(m
        .iter()
        .filter(|r| r.connection_id != broken)
        .all(|r| r.error.is_none()));

    // Reads: the broken row is Failed with its last known counts marked stale; others fine.
    let page = h
        .store
        .read_evidence(&[broken.clone(), fine.clone(), later.clone()], t(30))
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 3);
    let e = &page.rows[0];
    assert_eq!(e.meta.state, EvidenceState::Failed);
    assert_eq!(e.total_records, 1);
    assert_eq!(e.total_records_state, CountState::Stale);
    assert_eq!(
        e.display_name.as_deref(),
        Some("n10"),
        "identity stays exact"
    );
    assert_eq!(page.rows[1].meta.state, EvidenceState::Current);
    assert_eq!(page.rows[1].display_name.as_deref(), Some("n11"));
    let status = h.store.read_model_status().await.unwrap();
    assert_eq!((status.dirty, status.failed), (1, 1));

    // Repairing the source heals the row on the next read.
    let fixed = manifest("beta", &[("items", true)], None);
    h.store.upsert_connector(&fixed, t(40)).await.unwrap();
    let e = h.evidence(&broken, 41).await;
    assert_eq!(e.meta.state, EvidenceState::Current);
    assert_eq!(e.meta.error, None);
    assert_eq!(e.total_records_state, CountState::Known);
}

async fn rebuild_removes_orphans(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    let b = h.connection("alpha", 2).await.connection_id;
    h.fold_all(3).await;
    // Bypass the store: the connection goes, its evidence row stays behind.
    h.exec(&format!(
        "DELETE FROM connections WHERE connection_id = '{a}'"
    ))
    .await;
    let progress_calls = AtomicU64::new(0);
    let progress = |_: u64, _: u64| {
        progress_calls.fetch_add(1, Ordering::SeqCst);
    };
    let report = h.store.rebuild_evidence(10, t(4), &progress).await.unwrap();
    assert_eq!(report.removed, 1);
    assert_eq!(report.examined, 1);
    assert_eq!(report.unchanged, 1);
    assert!(progress_calls.load(Ordering::SeqCst) >= 2);
    let rows = h.maintenance().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].connection_id, b);
}

/// A fixture exercising every part of the evidence.
pub async fn rich_fixture(h: &Harness) -> Vec<String> {
    h.store
        .upsert_connector(
            &manifest("alpha", &[("items", true), ("extras", false)], None),
            t(0),
        )
        .await
        .unwrap();
    h.store
        .upsert_connector(&manifest("beta", &[("events", true)], Some(86_400)), t(0))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, connector) in ["alpha", "alpha", "beta", "beta", "alpha"]
        .iter()
        .enumerate()
    {
        ids.push(h.connection(connector, i as i64).await.connection_id);
    }
    let (a, b, c, d, e) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    h.store
        .put_schedule(
            a,
            &ScheduleInput {
                interval_seconds: 3600,
                jitter_seconds: 30,
                enabled: true,
            },
            t(10),
        )
        .await
        .unwrap();
    let records: Vec<_> = (0..20)
        .map(|i| {
            record(
                if i % 3 == 0 { "extras" } else { "items" },
                &format!("k{i}"),
                json!({"i": i}),
            )
        })
        .collect();
    h.store.ingest_records(a, &records, t(20)).await.unwrap();
    h.store
        .delete_records(
            a,
            &RecordDeletion {
                stream: "items".into(),
                record_keys: Some(vec!["k1".into(), "k2".into()]),
            },
            t(25),
        )
        .await
        .unwrap();
    h.store
        .ingest_records(a, &[record("items", "k4", json!({"i": "changed"}))], t(26))
        .await
        .unwrap();
    let run = h
        .store
        .start_run(a, RunTrigger::Schedule, t(30))
        .await
        .unwrap();
    h.store
        .finish_run(
            &run.run_id,
            &finished(RunStatus::Succeeded, None, vec![]),
            t(40),
        )
        .await
        .unwrap();
    // b: success, then failures ending in two connector errors.
    let run = h
        .store
        .start_run(b, RunTrigger::Owner, t(50))
        .await
        .unwrap();
    h.store
        .finish_run(
            &run.run_id,
            &finished(RunStatus::Succeeded, None, vec![]),
            t(51),
        )
        .await
        .unwrap();
    for (i, reason) in [
        FailureReason::RateLimited,
        FailureReason::ConnectorError,
        FailureReason::ConnectorError,
    ]
    .into_iter()
    .enumerate()
    {
        let run = h
            .store
            .start_run(b, RunTrigger::Schedule, t(60 + 10 * i as i64))
            .await
            .unwrap();
        h.store
            .finish_run(
                &run.run_id,
                &finished(RunStatus::Failed, Some(reason), vec![]),
                t(65 + 10 * i as i64),
            )
            .await
            .unwrap();
    }
    let run = h
        .store
        .start_run(b, RunTrigger::Owner, t(95))
        .await
        .unwrap();
    h.store
        .finish_run(
            &run.run_id,
            &finished(
                RunStatus::Cancelled,
                Some(FailureReason::OwnerCancelled),
                vec![],
            ),
            t(96),
        )
        .await
        .unwrap();
    // c: gaps, one recovered; reauth attention.
    let run = h
        .store
        .start_run(c, RunTrigger::Owner, t(100))
        .await
        .unwrap();
    let gaps = vec![
        Gap {
            stream: "events".into(),
            reason: "timeout".into(),
            retryable: true,
        },
        Gap {
            stream: "events".into(),
            reason: "quota".into(),
            retryable: false,
        },
    ];
    h.store
        .finish_run(
            &run.run_id,
            &finished(RunStatus::SucceededWithGaps, None, gaps),
            t(110),
        )
        .await
        .unwrap();
    h.store
        .open_attention(c, AttentionKind::Reauth, Some("expired"), t(120))
        .await
        .unwrap();
    let att = h
        .store
        .open_attention(c, AttentionKind::AddInfo, None, t(121))
        .await
        .unwrap();
    h.store
        .resolve_attention(&att.attention_id, t(122))
        .await
        .unwrap();
    // d: renamed, paused, override; an open run.
    h.store
        .update_connection(
            d,
            &ConnectionChange::Rename(Some("Old bank".into())),
            t(130),
        )
        .await
        .unwrap();
    h.store
        .update_connection(d, &ConnectionChange::StalenessOverride(Some(600)), t(131))
        .await
        .unwrap();
    h.store
        .start_run(d, RunTrigger::Owner, t(132))
        .await
        .unwrap();
    h.store
        .update_connection(
            d,
            &ConnectionChange::Status {
                from: console_domain::model::ConnectionStatus::Active,
                to: console_domain::model::ConnectionStatus::Paused,
            },
            t(133),
        )
        .await
        .unwrap();
    // e: revoked, never ran.
    h.store
        .update_connection(
            e,
            &ConnectionChange::Status {
                from: console_domain::model::ConnectionStatus::Active,
                to: console_domain::model::ConnectionStatus::Revoked,
            },
            t(140),
        )
        .await
        .unwrap();
    ids
}

/// Evidence without maintenance timestamps/sequences, for comparisons.
fn durable(mut rows: Vec<Evidence>) -> Vec<Evidence> {
    for e in &mut rows {
        e.meta.computed_at = None;
        e.meta.write_seq = 0;
        e.meta.folded_seq = 0;
    }
    rows
}

async fn rebuild_is_idempotent_and_equals_incremental(h: Harness) {
    let ids = rich_fixture(&h).await;
    h.fold_all(200).await;
    let incremental = durable(h.all_evidence(201).await);
    assert_eq!(incremental.len(), ids.len());

    let first = h
        .store
        .rebuild_evidence(2, t(202), &|_, _| {})
        .await
        .unwrap();
    assert_eq!((first.created, first.changed, first.removed), (0, 0, 0));
    assert_eq!(first.unchanged, 5);
    assert_eq!(first.batches, 3);

    // From scratch: no evidence rows, no stream stats.
    h.exec("DELETE FROM connector_summary_evidence").await;
    h.exec("DELETE FROM record_stats").await;
    let scratch = h
        .store
        .rebuild_evidence(2, t(203), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (scratch.created, scratch.changed, scratch.examined),
        (5, 0, 5)
    );
    assert!(h.dirty().await.is_empty());
    let rebuilt = durable(h.all_evidence(204).await);
    assert_eq!(rebuilt, incremental);

    let again = h
        .store
        .rebuild_evidence(100, t(205), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.changed, again.removed, again.unchanged),
        (0, 0, 0, 5)
    );
    // Incremental maintenance continues on top of the rebuilt rows.
    h.store
        .ingest_records(&ids[0], &[record("items", "new", json!(1))], t(300))
        .await
        .unwrap();
    assert_eq!(
        h.evidence(&ids[0], 301).await.total_records,
        incremental[0].total_records + 1
    );
}

/// A fold that read a row before a rebuild repaired it publishes nothing over the repair:
/// the rebuild cleans the row without moving its write sequence, so the sequence check
/// alone would let the fold's evidence, extracted from the drifted stats, back in.
async fn a_fold_read_before_a_rebuild_never_undoes_its_repair(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    h.store
        .ingest_records(
            &a,
            &[
                record("items", "1", json!(1)),
                record("items", "2", json!(2)),
            ],
            t(2),
        )
        .await
        .unwrap();
    h.fold_all(3).await;
    // Drift behind the store's back, then a write that dirties the row.
    h.exec("UPDATE record_stats SET record_count = record_count + 5")
        .await;
    h.store
        .update_connection(&a, &ConnectionChange::StalenessOverride(Some(7200)), t(4))
        .await
        .unwrap();
    let prepared = h.admin.fold_prepare(10).await.unwrap();
    assert_eq!(prepared.claims().len(), 1);
    h.store
        .rebuild_evidence(10, t(5), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        h.evidence(&a, 6).await.total_records,
        2,
        "the rebuild repaired it"
    );
    let report = h.admin.fold_publish(prepared, t(7)).await.unwrap();
    assert_eq!((report.folded, report.raced), (0, 1), "{report:?}");
    let e = h.evidence(&a, 8).await;
    assert_eq!(e.total_records, 2);
    assert_eq!(e.meta.computed_at, Some(t(5)));
    assert!(h.dirty().await.is_empty());
}

async fn rebuild_repairs_drifted_evidence(h: Harness) {
    let ids = rich_fixture(&h).await;
    h.fold_all(200).await;
    let good = durable(h.all_evidence(201).await);
    // Drift: a wrong count and a wrong stat, written behind the store's back.
    h.exec("UPDATE connector_summary_evidence SET total_records = 999")
        .await;
    h.exec("UPDATE record_stats SET record_count = record_count + 5")
        .await;
    let report = h
        .store
        .rebuild_evidence(10, t(202), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.changed, 5);
    assert_eq!(durable(h.all_evidence(203).await), good);
    let _ = ids;
}

async fn status_reports_dirty_and_failed_rows(h: Harness) {
    let status = h.store.read_model_status().await.unwrap();
    assert_eq!((status.rows, status.dirty, status.failed), (0, 0, 0));
    assert_eq!(status.oldest_dirty_since, None);
    h.connector("alpha").await;
    h.connection("alpha", 5).await;
    h.connection("alpha", 6).await;
    let status = h.store.read_model_status().await.unwrap();
    assert_eq!((status.rows, status.dirty), (2, 2));
    assert_eq!(status.oldest_dirty_since, Some(t(5)));
    h.fold_all(7).await;
    let status = h.store.read_model_status().await.unwrap();
    assert_eq!(
        (status.rows, status.dirty, status.oldest_dirty_since),
        (2, 0, None)
    );
}

/// Replaces generated ids with stable labels so two databases compare field by field.
fn normalized(rows: Vec<Evidence>, conn_ids: &[String]) -> serde_json::Value {
    let mut text = serde_json::to_string(&durable(rows)).unwrap();
    for (i, id) in conn_ids.iter().enumerate() {
        text = text.replace(id.as_str(), &format!("conn#{i}"));
    }
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn scrub(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) if s.starts_with("run_") => *s = "run#".into(),
            serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
            serde_json::Value::Object(map) => map.values_mut().for_each(scrub),
            _ => {}
        }
    }
    scrub(&mut value);
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_produce_identical_evidence() {
    with_both(|sqlite, pg| async move {
        let sqlite_ids = rich_fixture(&sqlite).await;
        let pg_ids = rich_fixture(&pg).await;
        let a = normalized(sqlite.all_evidence(500).await, &sqlite_ids);
        let b = normalized(pg.all_evidence(500).await, &pg_ids);
        assert_eq!(a, b);
        // The same after a rebuild on both.
        sqlite
            .store
            .rebuild_evidence(2, t(501), &|_, _| {})
            .await
            .unwrap();
        pg.store
            .rebuild_evidence(3, t(501), &|_, _| {})
            .await
            .unwrap();
        assert_eq!(normalized(sqlite.all_evidence(502).await, &sqlite_ids), a);
        assert_eq!(normalized(pg.all_evidence(502).await, &pg_ids), b);
        // Same "needs you first" order.
        let order = |h: &Harness, ids: &[String]| {
            let store = h.store.clone();
            let ids = ids.to_vec();
            async move {
                let page = store
                    .read_evidence_page(
                        &console_storage::ListQuery {
                            limit: None,
                            after: None,
                            status: None,
                            order: console_storage::ListOrder::NeedsYouFirst,
                        },
                        t(503),
                    )
                    .await
                    .unwrap();
                page.rows
                    .iter()
                    .map(|e| ids.iter().position(|id| *id == e.connection_id).unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(order(&sqlite, &sqlite_ids).await, order(&pg, &pg_ids).await);
    })
    .await;
}

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

async fn random_writes(
    store: std::sync::Arc<dyn console_storage::Store>,
    ids: Vec<String>,
    seed: u64,
    clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
) {
    use console_storage::StoreError;
    let mut rng = Lcg(seed);
    let now = || t(clock.fetch_add(1, Ordering::SeqCst));
    for _ in 0..40 {
        let id = &ids[rng.next(ids.len() as u64) as usize];
        let result: Result<(), StoreError> = match rng.next(8) {
            0 | 1 => {
                let n = 1 + rng.next(4);
                let batch: Vec<_> = (0..n)
                    .map(|_| {
                        let k = rng.next(12);
                        let stream = if k.is_multiple_of(2) {
                            "items"
                        } else {
                            "extras"
                        };
                        record(stream, &format!("k{k}"), json!({"v": rng.next(3)}))
                    })
                    .fold(
                        Vec::new(),
                        |mut acc: Vec<console_storage::RecordInput>, r| {
                            if !acc
                                .iter()
                                .any(|x| x.stream == r.stream && x.record_key == r.record_key)
                            {
                                acc.push(r);
                            }
                            acc
                        },
                    );
                store.ingest_records(id, &batch, now()).await.map(|_| ())
            }
            2 => store
                .delete_records(
                    id,
                    &RecordDeletion {
                        stream: "items".into(),
                        record_keys: Some(vec![format!("k{}", 2 * rng.next(6))]),
                    },
                    now(),
                )
                .await
                .map(|_| ()),
            3 => match store.start_run(id, RunTrigger::Schedule, now()).await {
                Ok(run) => {
                    let (status, reason) = match rng.next(3) {
                        0 => (RunStatus::Succeeded, None),
                        1 => (RunStatus::Failed, Some(FailureReason::ConnectorError)),
                        _ => (RunStatus::Failed, Some(FailureReason::RateLimited)),
                    };
                    let gaps = if rng.next(3) == 0 {
                        vec![Gap {
                            stream: "items".into(),
                            reason: "x".into(),
                            retryable: true,
                        }]
                    } else {
                        vec![]
                    };
                    store
                        .finish_run(&run.run_id, &finished(status, reason, gaps), now())
                        .await
                        .map(|_| ())
                }
                Err(e) => Err(e),
            },
            4 => store.recover_gaps(id, None, now()).await.map(|_| ()),
            5 => {
                let kind = if rng.next(2) == 0 {
                    AttentionKind::Reauth
                } else {
                    AttentionKind::AddInfo
                };
                match store.open_attention(id, kind, None, now()).await {
                    Ok(att) if rng.next(2) == 0 => store
                        .resolve_attention(&att.attention_id, now())
                        .await
                        .map(|_| ()),
                    other => other.map(|_| ()),
                }
            }
            // Every connection of the connector, with parts carried over by their folds:
            // the gaps' required flags follow the manifest.
            6 => store
                .upsert_connector(
                    &manifest(
                        "alpha",
                        &[("items", rng.next(2) == 0), ("extras", false)],
                        Some(600 * (1 + rng.next(3) as i64)),
                    ),
                    now(),
                )
                .await
                .map(|_| ()),
            _ => store
                .update_connection(
                    id,
                    &ConnectionChange::Rename(Some(format!("name {}", rng.next(3)))),
                    now(),
                )
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("writer failed: {e}"),
        }
    }
}

async fn concurrent_writers_and_two_folders_converge_to_rebuild(h: Harness) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(h.connection("alpha", i).await.connection_id);
    }
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(100));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each writer owns two connections (per-row clocks stay monotonic); folders and readers
    // race them over every row.
    let writers: Vec<_> = (0..3)
        .map(|w| {
            tokio::spawn(random_writes(
                h.store.clone(),
                ids[2 * w..2 * w + 2].to_vec(),
                17 + w as u64,
                clock.clone(),
            ))
        })
        .collect();
    let folders: Vec<_> = (0..2)
        .map(|f| {
            let store = h.store.clone();
            let done = done.clone();
            let clock = clock.clone();
            let ids = ids.clone();
            tokio::spawn(async move {
                while !done.load(Ordering::SeqCst) {
                    let at = t(clock.load(Ordering::SeqCst));
                    if f == 0 {
                        store.fold_dirty(2, at).await.into_result().expect("fold");
                    } else {
                        store.read_evidence(&ids[..3], at).await.expect("page fold");
                        store.fold_dirty(3, at).await.into_result().expect("fold");
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    for f in folders {
        f.await.expect("folder");
    }
    let end = clock.load(Ordering::SeqCst) + 10;
    h.fold_all(end).await;
    assert!(h.dirty().await.is_empty());
    let incremental = durable(h.all_evidence(end).await);
    h.exec("DELETE FROM connector_summary_evidence").await;
    h.exec("DELETE FROM record_stats").await;
    h.store
        .rebuild_evidence(4, t(end), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(durable(h.all_evidence(end).await), incremental);
}

/// A sweep big enough that its extraction is shared between two connections (half the rows
/// each) publishes the same evidence as a rebuild from scratch, for every row. The rows were
/// folded once between two rounds of writes, so the sweep carries over the parts the second
/// round left alone (every row is dirtied by its manifest changes).
async fn a_large_sweep_equals_a_rebuild(h: Harness) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(h.connection("alpha", i).await.connection_id);
    }
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(100));
    for round in 0..2u64 {
        for (w, chunk) in ids.chunks(10).enumerate() {
            random_writes(
                h.store.clone(),
                chunk.to_vec(),
                31 + 100 * round + w as u64,
                clock.clone(),
            )
            .await;
        }
        // `items` required at the first fold, optional at the sweep: every carried gap's
        // required flag has to follow the manifest.
        let items_required = round == 0;
        h.store
            .upsert_connector(
                &manifest(
                    "alpha",
                    &[("items", items_required), ("extras", false)],
                    Some(900),
                ),
                t(clock.fetch_add(1, Ordering::SeqCst)),
            )
            .await
            .unwrap();
        if round == 0 {
            h.fold_all(clock.load(Ordering::SeqCst)).await;
        }
    }
    let end = clock.load(Ordering::SeqCst) + 10;
    let dirty = h.dirty().await.len() as u64;
    assert!(dirty > 100, "{dirty} dirty rows");
    let report = h.sweep(1_000, end).await;
    assert_eq!((report.folded, report.raced), (dirty, 0), "{report:?}");
    assert!(h.dirty().await.is_empty());
    let swept = durable(h.all_evidence(end).await);
    h.exec("DELETE FROM connector_summary_evidence").await;
    h.exec("DELETE FROM record_stats").await;
    h.store
        .rebuild_evidence(1_000, t(end), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(durable(h.all_evidence(end).await), swept);
}
