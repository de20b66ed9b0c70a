//! Every write seam dirties exactly the right evidence rows, in the writing transaction, and
//! the next read returns the new evidence.

use crate::harness::{manifest, record, t, Harness};
use console_domain::evidence::{CountState, EvidenceState};
use console_domain::model::{AttentionKind, ConnectionStatus, FailureReason, Gap, RunStatus};
use console_storage::{
    ConnectionChange, ListOrder, ListQuery, NewRunEvent, RecordDeletion, RunOutcome, RunTrigger,
    ScheduleInput, StoreError,
};
use serde_json::json;
use std::collections::BTreeSet;

/// Three clean connections: a and b of connector `alpha`, c of `beta`.
async fn fleet(h: &Harness) -> (String, String, String) {
    h.connector("alpha").await;
    h.connector("beta").await;
    let a = h.connection("alpha", 10).await.connection_id;
    let b = h.connection("alpha", 11).await.connection_id;
    let c = h.connection("beta", 12).await.connection_id;
    h.fold_all(20).await;
    assert!(h.dirty().await.is_empty(), "fixture starts clean");
    (a, b, c)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn outcome(status: RunStatus, reason: Option<FailureReason>, gaps: Vec<Gap>) -> RunOutcome {
    RunOutcome {
        status,
        failure_reason: reason,
        records_written: 3,
        gaps,
    }
}

both_backends!(
    create_connection_creates_dirty_row_folded_on_read,
    ingest_dirties_only_that_connection,
    identical_reingest_dirties_nothing,
    record_delete_dirties,
    run_start_dirties,
    heartbeat_dirties_nothing_but_shows_in_open_runs,
    run_finish_dirties,
    run_fail_dirties_and_counts_failures,
    run_cancel_dirties,
    gap_recovery_dirties,
    schedule_put_dirties,
    attention_open_and_resolve_dirty,
    rename_dirties,
    lifecycle_changes_dirty,
    manifest_change_dirties_all_connections_of_that_connector,
    delete_removes_evidence_row,
    start_run_conflict_reports_active_run,
    ingest_is_all_or_nothing,
    sequences_only_grow,
);

async fn create_connection_creates_dirty_row_folded_on_read(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 10).await.connection_id;
    assert_eq!(h.store.backend(), h.backend);
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 30).await;
    assert_eq!(e.meta.state, EvidenceState::Current);
    assert_eq!(e.total_records, 0);
    assert_eq!(e.total_records_state, CountState::Known);
    assert_eq!(e.streams.len(), 2);
    assert_eq!(e.connector_display_name, "alpha connector");
    assert!(e.meta.folded_seq > 0);
    assert_eq!(e.meta.folded_seq, e.meta.write_seq);
    assert!(h.dirty().await.is_empty(), "the read published its fold");
}

async fn ingest_dirties_only_that_connection(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let before = h.write_seq(&a).await;
    let counts = h
        .store
        .ingest_records(
            &a,
            &[
                record("items", "1", json!({"x": 1})),
                record("items", "2", json!({"x": 2})),
                record("extras", "1", json!({"y": 1})),
            ],
            t(30),
        )
        .await
        .unwrap();
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (3, 0, 0)
    );
    assert_eq!(h.dirty().await, set(&[&a]));
    assert!(h.write_seq(&a).await > before);
    let e = h.evidence(&a, 31).await;
    assert_eq!(e.total_records, 3);
    assert_eq!(e.meta.state, EvidenceState::Current);
    let items = e.streams.iter().find(|s| s.name == "items").unwrap();
    assert_eq!(items.record_count, 2);
    assert_eq!(items.count_state, CountState::Known);
    assert_eq!(items.last_updated_at, Some(t(30)));

    // An update of one record changes no count but is a write.
    let counts = h
        .store
        .ingest_records(&a, &[record("items", "1", json!({"x": 100}))], t(40))
        .await
        .unwrap();
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (0, 1, 0)
    );
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 41).await;
    assert_eq!(e.total_records, 3);
    let items = e.streams.iter().find(|s| s.name == "items").unwrap();
    assert_eq!(items.last_updated_at, Some(t(40)));
}

async fn identical_reingest_dirties_nothing(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let batch = [
        record("items", "1", json!({"x": 1, "nested": {"b": 2, "a": 1}})),
        record("items", "2", json!({"x": 2})),
    ];
    h.store.ingest_records(&a, &batch, t(30)).await.unwrap();
    h.fold_all(31).await;
    let seq = h.write_seq(&a).await;
    // Same data, keys in another order: canonical JSON makes it identical.
    let again = [
        record("items", "1", json!({"nested": {"a": 1, "b": 2}, "x": 1})),
        record("items", "2", json!({"x": 2})),
    ];
    let counts = h.store.ingest_records(&a, &again, t(40)).await.unwrap();
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (0, 0, 2)
    );
    assert!(h.dirty().await.is_empty());
    assert_eq!(h.write_seq(&a).await, seq);
}

async fn record_delete_dirties(h: Harness) {
    let (a, b, _c) = fleet(&h).await;
    h.store
        .ingest_records(
            &a,
            &[
                record("items", "1", json!(1)),
                record("items", "2", json!(2)),
            ],
            t(30),
        )
        .await
        .unwrap();
    h.fold_all(31).await;
    let deleted = h
        .store
        .delete_records(
            &a,
            &RecordDeletion {
                stream: "items".into(),
                record_keys: Some(vec!["1".into(), "missing".into()]),
            },
            t(40),
        )
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(h.dirty().await, set(&[&a]));
    assert_eq!(h.evidence(&a, 41).await.total_records, 1);

    // Deleting nothing dirties nothing.
    let none = h
        .store
        .delete_records(
            &b,
            &RecordDeletion {
                stream: "items".into(),
                record_keys: None,
            },
            t(50),
        )
        .await
        .unwrap();
    assert_eq!(none, 0);
    assert!(h.dirty().await.is_empty());

    // A deleted record ingested again is retained again.
    let counts = h
        .store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(60))
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1);
    assert_eq!(h.evidence(&a, 61).await.total_records, 2);
}

async fn run_start_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let run = h
        .store
        .start_run(&a, RunTrigger::Owner, t(30))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert!(run.run_id.starts_with("run_"));
    assert_eq!(h.dirty().await, set(&[&a]));
    let page = h
        .store
        .read_evidence(std::slice::from_ref(&a), t(31))
        .await
        .unwrap();
    assert_eq!(page.open_runs.len(), 1);
    assert_eq!(page.open_runs[0].run_id, run.run_id);
    // A running run is liveness, not "last run".
    assert_eq!(page.rows[0].last_run, None);
}

async fn heartbeat_dirties_nothing_but_shows_in_open_runs(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let run = h.store.start_run(&a, RunTrigger::Api, t(30)).await.unwrap();
    h.fold_all(31).await;
    let seq = h.write_seq(&a).await;
    let beat = h.store.heartbeat_run(&run.run_id, t(90)).await.unwrap();
    assert_eq!(beat.heartbeat_at, Some(t(90)));
    assert!(h.dirty().await.is_empty());
    assert_eq!(h.write_seq(&a).await, seq);
    let page = h
        .store
        .read_evidence(std::slice::from_ref(&a), t(91))
        .await
        .unwrap();
    assert_eq!(page.open_runs[0].heartbeat_at, Some(t(90)));
    // The streamed list reads every open run.
    let everything = ListQuery {
        limit: None,
        after: None,
        status: None,
        order: ListOrder::Stable,
    };
    let stream = h.store.stream_evidence(&everything, t(91)).await.unwrap();
    assert_eq!(stream.open_runs[0].heartbeat_at, Some(t(90)));
    let all = h.store.all_open_runs(10).await.unwrap();
    assert_eq!(all.len(), 1);
}

async fn run_finish_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let run = h
        .store
        .start_run(&a, RunTrigger::Schedule, t(30))
        .await
        .unwrap();
    h.fold_all(31).await;
    let done = h
        .store
        .finish_run(
            &run.run_id,
            &outcome(RunStatus::Succeeded, None, vec![]),
            t(60),
        )
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 61).await;
    let last = e.last_run.clone().unwrap();
    assert_eq!(last.run_id, run.run_id);
    assert_eq!(last.finished_at, Some(t(60)));
    assert_eq!(last.records_written, 3);
    assert_eq!(e.last_successful_run, e.last_run);
    assert!(h
        .store
        .read_evidence(std::slice::from_ref(&a), t(61))
        .await
        .unwrap()
        .open_runs
        .is_empty());
    // Finishing twice is a conflict and changes nothing.
    let again = h
        .store
        .finish_run(
            &run.run_id,
            &outcome(RunStatus::Failed, None, vec![]),
            t(70),
        )
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict {
            code: "run_not_active",
            ..
        })
    ));
    assert!(h.dirty().await.is_empty());
}

async fn run_fail_dirties_and_counts_failures(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let ok = h
        .store
        .start_run(&a, RunTrigger::Schedule, t(30))
        .await
        .unwrap();
    h.store
        .finish_run(
            &ok.run_id,
            &outcome(RunStatus::Succeeded, None, vec![]),
            t(31),
        )
        .await
        .unwrap();
    let reasons = [
        FailureReason::RateLimited,
        FailureReason::ConnectorError,
        FailureReason::ConnectorError,
    ];
    for (i, reason) in reasons.iter().enumerate() {
        let run = h
            .store
            .start_run(&a, RunTrigger::Schedule, t(40 + 10 * i as i64))
            .await
            .unwrap();
        h.fold_all(41 + 10 * i as i64).await;
        h.store
            .finish_run(
                &run.run_id,
                &outcome(RunStatus::Failed, Some(reason.clone()), vec![]),
                t(45 + 10 * i as i64),
            )
            .await
            .unwrap();
        assert_eq!(h.dirty().await, set(&[&a]));
    }
    let e = h.evidence(&a, 100).await;
    assert_eq!(e.consecutive_failures, 3);
    assert_eq!(e.consecutive_connector_errors, 2);
    assert_eq!(
        e.last_run.as_ref().unwrap().failure_reason,
        Some(FailureReason::ConnectorError)
    );
    assert_eq!(e.last_successful_run.as_ref().unwrap().run_id, ok.run_id);
}

async fn run_cancel_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let run = h
        .store
        .start_run(&a, RunTrigger::Owner, t(30))
        .await
        .unwrap();
    h.fold_all(31).await;
    h.store
        .finish_run(
            &run.run_id,
            &outcome(
                RunStatus::Cancelled,
                Some(FailureReason::OwnerCancelled),
                vec![],
            ),
            t(40),
        )
        .await
        .unwrap();
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 41).await;
    assert_eq!(e.last_run.unwrap().status, RunStatus::Cancelled);
    assert_eq!(e.consecutive_failures, 0);
    assert!(e.last_successful_run.is_none());
}

async fn gap_recovery_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let run = h
        .store
        .start_run(&a, RunTrigger::Owner, t(30))
        .await
        .unwrap();
    let gaps = vec![
        Gap {
            stream: "items".into(),
            reason: "page 3 timed out".into(),
            retryable: true,
        },
        Gap {
            stream: "extras".into(),
            reason: "quota".into(),
            retryable: false,
        },
    ];
    let finished = h
        .store
        .finish_run(
            &run.run_id,
            &outcome(RunStatus::SucceededWithGaps, None, gaps),
            t(40),
        )
        .await
        .unwrap();
    assert_eq!(finished.gaps.len(), 2);
    let e = h.evidence(&a, 41).await;
    assert_eq!(e.unrecovered_gaps.len(), 2);
    assert!(e
        .unrecovered_gaps
        .iter()
        .any(|g| g.stream == "items" && g.required));
    assert!(e
        .unrecovered_gaps
        .iter()
        .any(|g| g.stream == "extras" && !g.required));
    assert_eq!(e.last_run.unwrap().gap_count, 2);

    let n = h
        .store
        .recover_gaps(&a, Some("items"), t(50))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 51).await;
    assert_eq!(e.unrecovered_gaps.len(), 1);
    assert_eq!(e.unrecovered_gaps[0].stream, "extras");

    // Nothing left to recover on that stream: no write.
    assert_eq!(
        h.store
            .recover_gaps(&a, Some("items"), t(60))
            .await
            .unwrap(),
        0
    );
    assert!(h.dirty().await.is_empty());
    let run = h.store.get_run(&run.run_id).await.unwrap().unwrap();
    assert!(run.gaps.iter().any(|g| g.recovered_at == Some(t(50))));
}

async fn schedule_put_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let input = ScheduleInput {
        interval_seconds: 3600,
        jitter_seconds: 60,
        enabled: true,
    };
    h.store.put_schedule(&a, &input, t(30)).await.unwrap();
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 31).await;
    let schedule = e.schedule.clone().unwrap();
    assert_eq!(
        schedule.next_due_at,
        Some(t(90)),
        "never run: creation + jitter"
    );
    assert_eq!(e.window_seconds, Some(2 * 3600 + 60));
    // Same schedule again: no write.
    h.store.put_schedule(&a, &input, t(40)).await.unwrap();
    assert!(h.dirty().await.is_empty());
    assert_eq!(
        h.store.due_connections(t(89), 10).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        h.store.due_connections(t(90), 10).await.unwrap(),
        vec![a.clone()]
    );

    // Disabling is a write; a run start moves next_due_at.
    h.store
        .put_schedule(
            &a,
            &ScheduleInput {
                enabled: false,
                ..input
            },
            t(50),
        )
        .await
        .unwrap();
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 51).await;
    assert!(!e.schedule.as_ref().unwrap().enabled);
    assert_eq!(e.window_seconds, None);
    h.store.put_schedule(&a, &input, t(60)).await.unwrap();
    h.store
        .start_run(&a, RunTrigger::Schedule, t(100))
        .await
        .unwrap();
    let e = h.evidence(&a, 101).await;
    assert_eq!(e.schedule.unwrap().next_due_at, Some(t(100 + 3600)));
}

async fn attention_open_and_resolve_dirty(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let att = h
        .store
        .open_attention(&a, AttentionKind::Reauth, Some("token expired"), t(30))
        .await
        .unwrap();
    assert!(att.attention_id.starts_with("att_"));
    assert_eq!(h.dirty().await, set(&[&a]));
    assert_eq!(
        h.evidence(&a, 31).await.open_attention,
        vec![AttentionKind::Reauth]
    );
    // Opening the same kind again returns the open one and writes nothing.
    let same = h
        .store
        .open_attention(&a, AttentionKind::Reauth, None, t(35))
        .await
        .unwrap();
    assert_eq!(same.attention_id, att.attention_id);
    assert!(h.dirty().await.is_empty());

    let resolved = h
        .store
        .resolve_attention(&att.attention_id, t(40))
        .await
        .unwrap();
    assert_eq!(resolved.resolved_at, Some(t(40)));
    assert_eq!(h.dirty().await, set(&[&a]));
    assert!(h.evidence(&a, 41).await.open_attention.is_empty());
    // Resolving again changes nothing.
    h.store
        .resolve_attention(&att.attention_id, t(50))
        .await
        .unwrap();
    assert!(h.dirty().await.is_empty());
    assert_eq!(h.store.list_attention(&a).await.unwrap().len(), 1);
    assert!(matches!(
        h.store.resolve_attention("att_missing", t(50)).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn rename_dirties(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let row = h
        .store
        .update_connection(
            &a,
            &ConnectionChange::Rename(Some("Work mail".into())),
            t(30),
        )
        .await
        .unwrap();
    assert_eq!(row.display_name.as_deref(), Some("Work mail"));
    assert_eq!(h.dirty().await, set(&[&a]));
    let e = h.evidence(&a, 31).await;
    assert_eq!(e.display_name.as_deref(), Some("Work mail"));
    assert_eq!(e.updated_at, t(30));
    // Same label: no write.
    h.store
        .update_connection(
            &a,
            &ConnectionChange::Rename(Some("Work mail".into())),
            t(40),
        )
        .await
        .unwrap();
    assert!(h.dirty().await.is_empty());
    h.store
        .update_connection(&a, &ConnectionChange::StalenessOverride(Some(7200)), t(50))
        .await
        .unwrap();
    assert_eq!(h.dirty().await, set(&[&a]));
    assert_eq!(h.evidence(&a, 51).await.window_seconds, Some(7200));
}

async fn lifecycle_changes_dirty(h: Harness) {
    use ConnectionStatus::*;
    let (a, _b, _c) = fleet(&h).await;
    let steps = [
        (Active, Paused),
        (Paused, Active),
        (Active, Revoked),
        (Revoked, Active),
    ];
    for (i, (from, to)) in steps.into_iter().enumerate() {
        let at = 30 + 10 * i as i64;
        let row = h
            .store
            .update_connection(&a, &ConnectionChange::Status { from, to }, t(at))
            .await
            .unwrap();
        assert_eq!(row.status, to);
        assert_eq!(h.dirty().await, set(&[&a]), "{from} -> {to}");
        let e = h.evidence(&a, at + 1).await;
        assert_eq!(e.status, to);
        assert_eq!(e.revoked_at, (to == Revoked).then(|| t(at)));
    }
    // A stale `from` is a conflict with the current status, and writes nothing.
    let stale = h
        .store
        .update_connection(
            &a,
            &ConnectionChange::Status {
                from: Paused,
                to: Active,
            },
            t(100),
        )
        .await;
    match stale {
        Err(StoreError::Conflict { existing, .. }) => {
            assert_eq!(existing.as_deref(), Some("active"))
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(h.dirty().await.is_empty());
}

async fn manifest_change_dirties_all_connections_of_that_connector(h: Harness) {
    let (a, b, _c) = fleet(&h).await;
    // The same manifest again is no change.
    let same = manifest("alpha", &[("items", true), ("extras", false)], None);
    assert!(!h.store.upsert_connector(&same, t(30)).await.unwrap());
    assert!(h.dirty().await.is_empty());
    let changed = manifest("alpha", &[("items", true), ("extras", true)], Some(86_400));
    assert!(h.store.upsert_connector(&changed, t(40)).await.unwrap());
    assert_eq!(h.dirty().await, set(&[&a, &b]));
    let e = h.evidence(&b, 41).await;
    assert_eq!(e.manifest_staleness_seconds, Some(86_400));
    assert!(e.streams.iter().all(|s| s.required));
    assert_eq!(
        h.store.get_connector("alpha").await.unwrap().unwrap(),
        changed
    );
}

async fn delete_removes_evidence_row(h: Harness) {
    let (a, b, _c) = fleet(&h).await;
    h.store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(30))
        .await
        .unwrap();
    h.store
        .start_run(&a, RunTrigger::Owner, t(31))
        .await
        .unwrap();
    h.store.delete_connection(&a).await.unwrap();
    let rows = h.maintenance().await;
    assert!(rows.iter().all(|m| m.connection_id != a));
    assert_eq!(rows.len(), 2);
    assert!(h.store.get_connection(&a).await.unwrap().is_none());
    assert!(h
        .store
        .read_evidence(std::slice::from_ref(&a), t(40))
        .await
        .unwrap()
        .rows
        .is_empty());
    assert!(
        h.dirty().await.is_empty(),
        "deleting one connection dirties no other"
    );
    assert!(matches!(
        h.store.delete_connection(&a).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(h.store.count_connections().await.unwrap(), 2);
    let _ = b;
}

async fn start_run_conflict_reports_active_run(h: Harness) {
    let (a, b, _c) = fleet(&h).await;
    let first = h
        .store
        .start_run(&a, RunTrigger::Owner, t(30))
        .await
        .unwrap();
    h.fold_all(31).await;
    match h.store.start_run(&a, RunTrigger::Owner, t(32)).await {
        Err(StoreError::Conflict { code, existing, .. }) => {
            assert_eq!(code, "run_already_active");
            assert_eq!(existing, Some(first.run_id.clone()));
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(h.dirty().await.is_empty(), "a refused start writes nothing");
    // Concurrent starts on another connection: exactly one wins.
    let results = futures::future::join_all(
        (0..4).map(|i| h.store.start_run(&b, RunTrigger::Api, t(40 + i))),
    )
    .await;
    let wins: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    assert_eq!(wins.len(), 1);
    let winner = wins[0].as_ref().unwrap().run_id.clone();
    for r in &results {
        if let Err(e) = r {
            match e {
                StoreError::Conflict { existing, .. } => {
                    assert_eq!(existing.as_deref(), Some(winner.as_str()))
                }
                other => panic!("unexpected error {other:?}"),
            }
        }
    }
    assert!(matches!(
        h.store
            .start_run("conn_missing", RunTrigger::Owner, t(50))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn ingest_is_all_or_nothing(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let bad_stream = [
        record("items", "1", json!(1)),
        record("no_such_stream", "2", json!(2)),
    ];
    let err = h
        .store
        .ingest_records(&a, &bad_stream, t(30))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            code: "unknown_stream",
            ..
        }
    ));
    let duplicate = [
        record("items", "1", json!(1)),
        record("items", "1", json!(2)),
    ];
    let err = h
        .store
        .ingest_records(&a, &duplicate, t(31))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            code: "duplicate_record_key",
            ..
        }
    ));
    let empty_key = [
        record("items", "1", json!(1)),
        record("items", "", json!(2)),
    ];
    assert!(h.store.ingest_records(&a, &empty_key, t(32)).await.is_err());
    assert!(h.dirty().await.is_empty());
    let e = h.evidence(&a, 33).await;
    assert_eq!(e.total_records, 0);
    assert!(matches!(
        h.store
            .ingest_records("conn_missing", &[record("items", "1", json!(1))], t(34))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // The good record alone goes in.
    let counts = h
        .store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(35))
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1);
}

async fn sequences_only_grow(h: Harness) {
    let (a, _b, _c) = fleet(&h).await;
    let first = h.write_seq(&a).await;
    h.store.delete_connection(&a).await.unwrap();
    let again = h.connection("alpha", 40).await.connection_id;
    assert_ne!(again, a);
    assert!(
        h.write_seq(&again).await > first,
        "a recreated connection starts above every old sequence"
    );
    // Run events are the deep timeline, not evidence.
    let run = h
        .store
        .start_run(&again, RunTrigger::Owner, t(41))
        .await
        .unwrap();
    h.fold_all(42).await;
    h.store
        .append_run_events(
            &run.run_id,
            &[
                NewRunEvent {
                    kind: "page".into(),
                    message: "page 1".into(),
                    stream: Some("items".into()),
                },
                NewRunEvent {
                    kind: "page".into(),
                    message: "page 2".into(),
                    stream: None,
                },
            ],
            t(43),
        )
        .await
        .unwrap();
    h.store
        .append_run_events(
            &run.run_id,
            &[NewRunEvent {
                kind: "done".into(),
                message: "ok".into(),
                stream: None,
            }],
            t(44),
        )
        .await
        .unwrap();
    assert!(h.dirty().await.is_empty());
    let events = h.store.run_events(&run.run_id).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(events[2].at, t(44));
}
