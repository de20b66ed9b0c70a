//! A fold asks the source tables again only for the evidence parts a write since the row's
//! last fold may have changed, and carries the others over from the stored row.
//!
//! To see which parts a fold read, these tests change run-side source rows behind the
//! store's back (raw SQL, no marking): a part the fold asks again shows the change, a part
//! it carries over does not. That is drift no writer produces; the rebuild, which always
//! reads every part, repairs it.

use crate::harness::{manifest, record, t, Harness};
use console_domain::evidence::Evidence;
use console_domain::model::{AttentionKind, FailureReason, Gap, RunStatus};
use console_storage::{RunOutcome, RunTrigger};

both_backends!(
    a_fold_asks_again_only_the_parts_a_write_touched,
    rows_dirtied_before_the_parts_were_kept_fold_in_full,
);

/// Runs `id` from `at` to `at + 10` with this outcome; returns the run's id.
async fn run(h: &Harness, id: &str, outcome: RunOutcome, at: i64) -> String {
    let run = h
        .store
        .start_run(id, RunTrigger::Schedule, t(at))
        .await
        .unwrap();
    h.store
        .finish_run(&run.run_id, &outcome, t(at + 10))
        .await
        .unwrap();
    run.run_id
}

/// A connection with a failed run that left a gap on its required stream, and open
/// attention; folded.
async fn failing_connection(h: &Harness) -> String {
    h.connector("alpha").await;
    let id = h.connection("alpha", 1).await.connection_id;
    let failed = RunOutcome {
        status: RunStatus::Failed,
        failure_reason: Some(FailureReason::ConnectorError),
        records_written: 0,
        gaps: vec![Gap {
            stream: "items".into(),
            reason: "page 3 timed out".into(),
            retryable: true,
        }],
    };
    run(h, &id, failed, 10).await;
    h.store
        .open_attention(&id, AttentionKind::Reauth, None, t(30))
        .await
        .unwrap();
    h.fold_all(40).await;
    id
}

/// Removes every run-side source row without marking anything.
async fn drift_run_side_sources(h: &Harness) {
    for table in ["run_gaps", "run_events", "runs", "attention"] {
        h.exec(&format!("DELETE FROM {table}")).await;
    }
}

fn run_side(e: &Evidence) -> (Option<String>, i64, i64, Vec<AttentionKind>, usize) {
    (
        e.last_run.as_ref().map(|r| r.run_id.clone()),
        e.consecutive_failures,
        e.consecutive_connector_errors,
        e.open_attention.clone(),
        e.unrecovered_gaps.len(),
    )
}

async fn a_fold_asks_again_only_the_parts_a_write_touched(h: Harness) {
    let id = failing_connection(&h).await;
    let before = h.evidence(&id, 41).await;
    assert_eq!(before.consecutive_failures, 1);
    assert_eq!(before.open_attention, vec![AttentionKind::Reauth]);
    assert!(before.unrecovered_gaps[0].required);
    drift_run_side_sources(&h).await;

    // A manifest change that makes the gap's stream optional: the runs, attention and gaps
    // are carried over, and whether the carried gap's stream is required is decided again.
    h.store
        .upsert_connector(
            &manifest("alpha", &[("items", false), ("extras", false)], Some(600)),
            t(50),
        )
        .await
        .unwrap();
    let e = h.evidence(&id, 51).await;
    assert_eq!(run_side(&e), run_side(&before));
    assert!(!e.unrecovered_gaps[0].required);
    assert_eq!(e.manifest_staleness_seconds, Some(600));
    assert_eq!(e.stale_at, before.stale_at, "no success to be stale from");

    // A record batch: stream stats read again, run-side still carried.
    h.store
        .ingest_records(&id, &[record("items", "k", serde_json::json!(1))], t(60))
        .await
        .unwrap();
    let e = h.evidence(&id, 61).await;
    assert_eq!(e.total_records, 1);
    assert_eq!(run_side(&e), run_side(&before));

    // New attention: attention read again (only the new item is left), runs and gaps
    // still carried.
    h.store
        .open_attention(&id, AttentionKind::AddInfo, None, t(70))
        .await
        .unwrap();
    let e = h.evidence(&id, 71).await;
    assert_eq!(e.open_attention, vec![AttentionKind::AddInfo]);
    assert_eq!(
        e.last_run.as_ref().map(|r| &r.run_id),
        before.last_run.as_ref().map(|r| &r.run_id)
    );
    assert_eq!(e.consecutive_failures, 1);
    assert_eq!(e.unrecovered_gaps.len(), 1);

    // A finished run: runs and gaps read again (the drifted ones are gone).
    let succeeded = RunOutcome {
        status: RunStatus::Succeeded,
        failure_reason: None,
        records_written: 1,
        gaps: vec![],
    };
    let run_id = run(&h, &id, succeeded, 80).await;
    let e = h.evidence(&id, 91).await;
    assert_eq!(e.last_run.as_ref().map(|r| &r.run_id), Some(&run_id));
    assert_eq!(e.consecutive_failures, 0);
    assert!(e.unrecovered_gaps.is_empty());
    assert_eq!(e.open_attention, vec![AttentionKind::AddInfo]);

    // Every part has now been read again since the drift: the rebuild finds nothing to fix.
    let report = h
        .store
        .rebuild_evidence(10, t(100), &|_, _| {})
        .await
        .unwrap();
    assert_eq!((report.changed, report.unchanged), (0, 1), "{report:?}");
}

/// A database from before `dirty_parts` existed: its dirty rows were marked by writers that
/// recorded no parts, so the migration must leave them folding every part.
async fn rows_dirtied_before_the_parts_were_kept_fold_in_full(h: Harness) {
    let id = failing_connection(&h).await;
    // Back to migration 1 (the column gone, its migration not applied), and a write as
    // that version's marking made it: dirty, sequence up, no parts.
    h.exec("ALTER TABLE connector_summary_evidence DROP COLUMN dirty_parts")
        .await;
    h.exec("DELETE FROM _sqlx_migrations WHERE version = 2")
        .await;
    drift_run_side_sources(&h).await;
    h.exec(
        "UPDATE connector_summary_evidence SET dirty = TRUE, dirty_since = 0,
            write_seq = write_seq + 1000",
    )
    .await;

    console_storage::run_migrations(&h.db).await.unwrap();
    let report = h.fold_all(50).await;
    assert_eq!(report.folded, 1);
    let e = h.evidence(&id, 51).await;
    assert_eq!(run_side(&e), (None, 0, 0, vec![], 0));
}
