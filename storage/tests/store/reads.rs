//! Page and scoped reads: order, keyset paging, filters, the fold of exactly the dirty rows
//! on the page, selectors, settings.

use crate::harness::{manifest, record, t, Harness};
use console_domain::evidence::{CountState, EvidenceState};
use console_domain::model::{AttentionKind, ConnectionStatus, FailureReason, RunStatus};
use console_storage::{
    ConnectionChange, ListOrder, ListQuery, PagePosition, RunOutcome, RunTrigger, StoreError,
};
use serde_json::json;

both_backends!(
    stable_pages_follow_the_immutable_order,
    a_zero_limit_reads_pages_of_one,
    status_filter_is_exact_even_for_dirty_rows,
    needs_you_first_orders_by_durable_rank,
    page_folds_exactly_its_dirty_rows,
    detail_extraction_matches_folded_evidence,
    a_dirty_row_read_deep_is_folded_with_its_extraction,
    a_connection_named_twice_is_extracted_once,
    selector_candidates_are_exact_then_unambiguous,
    mismatched_page_position_is_refused,
    settings_and_runtime_heartbeats,
    streamed_list_equals_the_full_page_and_folds_first,
    streamed_list_crosses_batch_boundaries,
    writes_of_more_rows_than_one_statement_takes_publish_every_row,
);

fn query(limit: Option<u32>, after: Option<PagePosition>, order: ListOrder) -> ListQuery {
    ListQuery {
        limit,
        after,
        status: None,
        order,
    }
}

async fn stable_pages_follow_the_immutable_order(h: Harness) {
    h.connector("beta").await;
    h.connector("alpha").await;
    let b1 = h.connection("beta", 10).await.connection_id;
    let a1 = h.connection("alpha", 20).await.connection_id;
    let a2 = h.connection("alpha", 30).await.connection_id;
    let b2 = h.connection("beta", 5).await.connection_id;
    let a0 = h.connection("alpha", 1).await.connection_id;
    let expected = vec![a0, a1, a2, b2, b1];

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = h
            .store
            .read_evidence_page(&query(Some(2), after, ListOrder::Stable), t(40))
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.rows.iter().map(|e| e.connection_id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    let all = h.all_evidence(41).await;
    assert_eq!(
        all.iter()
            .map(|e| e.connection_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
}

/// A limit of zero is read as one: the page holds a row and says where the next begins,
/// rather than an empty page that a caller following `next` would ask for forever.
async fn a_zero_limit_reads_pages_of_one(h: Harness) {
    h.connector("alpha").await;
    let first = h.connection("alpha", 10).await.connection_id;
    let second = h.connection("alpha", 20).await.connection_id;
    let page = h
        .store
        .read_evidence_page(&query(Some(0), None, ListOrder::Stable), t(30))
        .await
        .unwrap();
    let ids: Vec<_> = page.rows.iter().map(|e| e.connection_id.clone()).collect();
    assert_eq!(ids, vec![first]);
    let rest = h
        .store
        .read_evidence_page(&query(Some(0), page.next, ListOrder::Stable), t(31))
        .await
        .unwrap();
    let ids: Vec<_> = rest.rows.iter().map(|e| e.connection_id.clone()).collect();
    assert_eq!(ids, vec![second]);
    assert_eq!(rest.next, None);
}

async fn status_filter_is_exact_even_for_dirty_rows(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 10).await.connection_id;
    let b = h.connection("alpha", 11).await.connection_id;
    h.fold_all(12).await;
    h.store
        .update_connection(
            &b,
            &ConnectionChange::Status {
                from: ConnectionStatus::Active,
                to: ConnectionStatus::Paused,
            },
            t(20),
        )
        .await
        .unwrap();
    let mut q = query(None, None, ListOrder::Stable);
    q.status = Some(ConnectionStatus::Paused);
    let page = h.store.read_evidence_page(&q, t(21)).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].connection_id, b);
    assert_eq!(page.rows[0].status, ConnectionStatus::Paused);
    q.status = Some(ConnectionStatus::Active);
    let page = h.store.read_evidence_page(&q, t(22)).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].connection_id, a);
}

async fn needs_you_first_orders_by_durable_rank(h: Harness) {
    h.connector("alpha").await;
    let fine = h.connection("alpha", 1).await.connection_id;
    let paused = h.connection("alpha", 2).await.connection_id;
    let failing = h.connection("alpha", 3).await.connection_id;
    let reauth = h.connection("alpha", 4).await.connection_id;
    let stale_sooner = h.connection("alpha", 5).await.connection_id;
    for (id, at) in [(&fine, 100), (&stale_sooner, 50)] {
        h.store
            .update_connection(id, &ConnectionChange::StalenessOverride(Some(3600)), t(at))
            .await
            .unwrap();
        let run = h
            .store
            .start_run(id, RunTrigger::Schedule, t(at))
            .await
            .unwrap();
        let done = RunOutcome {
            status: RunStatus::Succeeded,
            failure_reason: None,
            records_written: 1,
            gaps: vec![],
        };
        h.store
            .finish_run(&run.run_id, &done, t(at + 1))
            .await
            .unwrap();
    }
    let run = h
        .store
        .start_run(&failing, RunTrigger::Schedule, t(60))
        .await
        .unwrap();
    let failed = RunOutcome {
        status: RunStatus::Failed,
        failure_reason: Some(FailureReason::SourceUnavailable),
        records_written: 0,
        gaps: vec![],
    };
    h.store
        .finish_run(&run.run_id, &failed, t(61))
        .await
        .unwrap();
    h.store
        .open_attention(&reauth, AttentionKind::Reauth, None, t(70))
        .await
        .unwrap();
    h.store
        .update_connection(
            &paused,
            &ConnectionChange::Status {
                from: ConnectionStatus::Active,
                to: ConnectionStatus::Paused,
            },
            t(80),
        )
        .await
        .unwrap();
    h.fold_all(200).await;
    let expected = vec![reauth, failing, stale_sooner, fine, paused];
    // Page through two at a time to exercise the keyset.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = h
            .store
            .read_evidence_page(&query(Some(2), after, ListOrder::NeedsYouFirst), t(201))
            .await
            .unwrap();
        seen.extend(page.rows.iter().map(|e| e.connection_id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
}

async fn page_folds_exactly_its_dirty_rows(h: Harness) {
    h.connector("alpha").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(h.connection("alpha", i).await.connection_id);
    }
    h.fold_all(10).await;
    h.store
        .ingest_records(&ids[1], &[record("items", "k", json!({"v": 1}))], t(20))
        .await
        .unwrap();
    h.store
        .ingest_records(&ids[4], &[record("items", "k", json!({"v": 1}))], t(21))
        .await
        .unwrap();
    let run = h
        .store
        .start_run(&ids[0], RunTrigger::Owner, t(22))
        .await
        .unwrap();
    h.fold_all(23).await;
    h.store
        .ingest_records(&ids[1], &[record("extras", "k", json!({"v": 1}))], t(24))
        .await
        .unwrap();
    h.store
        .ingest_records(&ids[4], &[record("extras", "k", json!({"v": 1}))], t(25))
        .await
        .unwrap();
    // The first page (ids 0..2) folds only id 1; id 4 stays dirty until read.
    let page = h
        .store
        .read_evidence_page(&query(Some(2), None, ListOrder::Stable), t(30))
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 2);
    assert_eq!(page.rows[1].connection_id, ids[1]);
    assert_eq!(page.rows[1].total_records, 2);
    assert_eq!(page.rows[1].meta.state, EvidenceState::Current);
    assert_eq!(page.rows[1].total_records_state, CountState::Known);
    assert_eq!(page.open_runs.len(), 1);
    assert_eq!(page.open_runs[0].run_id, run.run_id);
    assert_eq!(h.dirty().await, [ids[4].clone()].into_iter().collect());
    let row = h.evidence(&ids[4], 31).await;
    assert_eq!(row.total_records, 2);
    assert!(h.dirty().await.is_empty());
}

async fn detail_extraction_matches_folded_evidence(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    h.store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(2))
        .await
        .unwrap();
    let folded = h.evidence(&a, 3).await;
    let deep = h.store.read_deep_evidence(&a, t(4)).await.unwrap().unwrap();
    assert_eq!(deep.extracted, folded);
    assert_eq!(deep.page.rows, [folded]);
    assert!(h
        .store
        .read_deep_evidence("conn_missing", t(4))
        .await
        .unwrap()
        .is_none());
    assert!(h
        .store
        .read_evidence(&[], t(4))
        .await
        .unwrap()
        .rows
        .is_empty());
}

/// A dirty row read deep is folded with the full extraction it returns: the row it reads,
/// the evidence it extracted and the row left stored afterwards are the same evidence.
async fn a_dirty_row_read_deep_is_folded_with_its_extraction(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    h.evidence(&a, 2).await;
    h.store
        .ingest_records(&a, &[record("items", "1", json!(1))], t(3))
        .await
        .unwrap();
    assert_eq!(h.dirty().await, [a.clone()].into_iter().collect());
    let deep = h.store.read_deep_evidence(&a, t(4)).await.unwrap().unwrap();
    assert!(h.dirty().await.is_empty(), "the deep read folded the row");
    assert_eq!(deep.extracted.meta.state, EvidenceState::Current);
    assert_eq!(deep.extracted.total_records, 1);
    assert_eq!(deep.page.rows, std::slice::from_ref(&deep.extracted));
    assert_eq!(h.evidence(&a, 5).await, deep.extracted);
    let clean = h.store.read_deep_evidence(&a, t(6)).await.unwrap().unwrap();
    assert_eq!(clean.extracted, deep.extracted);
}

/// The extraction joins the ids it is given as rows: a read naming a connection twice must
/// still count each of its streams and runs once.
async fn a_connection_named_twice_is_extracted_once(h: Harness) {
    h.connector("alpha").await;
    let a = h.connection("alpha", 1).await.connection_id;
    let b = h.connection("alpha", 2).await.connection_id;
    let records = [
        record("items", "1", json!(1)),
        record("extras", "1", json!(1)),
    ];
    h.store.ingest_records(&a, &records, t(3)).await.unwrap();
    // The manifest drops "extras": its records are listed after the declared streams.
    let narrower = manifest("alpha", &[("items", true)], None);
    h.store.upsert_connector(&narrower, t(3)).await.unwrap();
    let run = h
        .store
        .start_run(&a, RunTrigger::Owner, t(4))
        .await
        .unwrap();
    let failed = RunOutcome {
        status: RunStatus::Failed,
        failure_reason: Some(FailureReason::ConnectorError),
        records_written: 0,
        gaps: vec![],
    };
    h.store
        .finish_run(&run.run_id, &failed, t(5))
        .await
        .unwrap();
    // Still dirty: the read below folds it with the duplicated ids.
    let twice = h
        .store
        .read_evidence(&[a.clone(), b.clone(), a.clone()], t(6))
        .await
        .unwrap();
    let once = h
        .store
        .read_deep_evidence(&a, t(7))
        .await
        .unwrap()
        .unwrap()
        .extracted;
    let row = twice.rows.iter().find(|e| e.connection_id == a).unwrap();
    let names: Vec<&str> = row.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["items", "extras"]);
    assert_eq!(row.total_records, 2);
    assert_eq!(row.consecutive_failures, 1);
    assert_eq!(row.streams, once.streams);
    assert_eq!(row.last_run, once.last_run);
}

async fn selector_candidates_are_exact_then_unambiguous(h: Harness) {
    h.connector("alpha").await;
    h.connector("beta").await;
    let a = h.connection("alpha", 1).await.connection_id;
    let b1 = h.connection("beta", 2).await.connection_id;
    let b2 = h.connection("beta", 3).await.connection_id;
    let c = h.store.selector_candidates(&a).await.unwrap();
    assert_eq!(c.exact.as_deref(), Some(a.as_str()));
    let c = h.store.selector_candidates("alpha").await.unwrap();
    assert_eq!((c.exact, c.by_connector), (None, vec![a.clone()]));
    let c = h.store.selector_candidates("beta").await.unwrap();
    assert_eq!(c.by_connector, vec![b1, b2]);
    let c = h.store.selector_candidates("nothing").await.unwrap();
    assert!(c.exact.is_none() && c.by_connector.is_empty());
}

async fn mismatched_page_position_is_refused(h: Harness) {
    h.connector("alpha").await;
    h.connection("alpha", 1).await;
    h.connection("alpha", 2).await;
    let page = h
        .store
        .read_evidence_page(&query(Some(1), None, ListOrder::Stable), t(3))
        .await
        .unwrap();
    let err = h
        .store
        .read_evidence_page(&query(Some(1), page.next, ListOrder::NeedsYouFirst), t(3))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            code: "invalid_cursor",
            ..
        }
    ));
}

async fn settings_and_runtime_heartbeats(h: Harness) {
    assert_eq!(h.store.get_setting("k").await.unwrap(), None);
    assert_eq!(h.store.init_setting("k", "first").await.unwrap(), "first");
    assert_eq!(h.store.init_setting("k", "second").await.unwrap(), "first");
    h.store.put_setting("k", "third").await.unwrap();
    assert_eq!(
        h.store.get_setting("k").await.unwrap().as_deref(),
        Some("third")
    );
    // Every read returns the runtime's latest heartbeat with its rows' open runs: a page,
    // a read of given connections (also of none) and the streamed list.
    let heartbeats = || async {
        let list = query(None, None, ListOrder::Stable);
        let page = h.store.read_evidence_page(&list, t(30)).await.unwrap();
        let none = h.store.read_evidence(&[], t(30)).await.unwrap();
        let stream = h.store.stream_evidence(&list, t(30)).await.unwrap();
        [
            page.runtime_heartbeat,
            none.runtime_heartbeat,
            stream.runtime_heartbeat,
        ]
    };
    assert_eq!(heartbeats().await, [None, None, None]);
    h.store.runtime_heartbeat("embedded", t(10)).await.unwrap();
    h.store.runtime_heartbeat("other", t(5)).await.unwrap();
    h.store.runtime_heartbeat("embedded", t(20)).await.unwrap();
    let latest = Some(("embedded".to_owned(), t(20)));
    assert_eq!(heartbeats().await, [latest.clone(), latest.clone(), latest]);
    // A tie goes to the first label.
    h.store.runtime_heartbeat("another", t(20)).await.unwrap();
    let tied = Some(("another".to_owned(), t(20)));
    assert_eq!(heartbeats().await, [tied.clone(), tied.clone(), tied]);
    assert!(h.dirty().await.is_empty());
}

#[tokio::test]
async fn open_accepts_memory_and_plain_paths() {
    let (store, db) = console_storage::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert_eq!(store.count_connections().await.unwrap(), 0);
    db.close().await;
    let dir = std::env::temp_dir().join(format!("oc-open-{}", std::process::id()));
    let path = dir.join("nested/dir/console.db");
    let (store, db) = console_storage::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.count_connections().await.unwrap(), 0);
    db.close().await;
    console_storage::migrate(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    assert!(console_storage::open("mysql://x").await.is_err());
}

/// A one-connection in-memory SQLite database (`sqlite::memory:`) holding a generated
/// fleet of `connections` with one record each, its evidence rebuilt at `t(2)`.
async fn memory_fleet(
    connections: usize,
) -> (
    std::sync::Arc<dyn console_storage::Store>,
    console_storage::Database,
) {
    let (store, db) = console_storage::open("sqlite::memory:").await.unwrap();
    let spec = console_storage::testing::FleetSpec {
        connections,
        records_per_connection: 1,
        ..Default::default()
    };
    console_storage::testing::load_fleet(&db, &spec, t(1))
        .await
        .unwrap();
    store.rebuild_evidence(500, t(2), &|_, _| {}).await.unwrap();
    (store, db)
}

/// The unpaged stream reads its context and its rows on one connection, which it holds
/// from `stream_evidence`'s return until the rows are taken or the stream is dropped. On a
/// one-connection database (`sqlite::memory:`) a stream dropped half-way (a client that
/// disconnected) must give that connection back, or every later read waits for the pool's
/// timeout. The fleet is larger than the rows the stream buffers, so its reader is still
/// holding the connection, waiting to send, when the stream is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_gives_its_connection_back() {
    use futures::StreamExt as _;
    let (store, db) = memory_fleet(600).await;
    let all = query(None, None, ListOrder::Stable);
    let mut stream = store.stream_evidence(&all, t(3)).await.unwrap();
    let first = stream.rows.next().await.unwrap().unwrap();
    assert!(first.connection_id.starts_with("conn_"), "{first:?}");
    drop(stream);
    let count = tokio::time::timeout(std::time::Duration::from_secs(5), store.count_connections())
        .await
        .expect("a read after a dropped stream waited for the stream's connection")
        .unwrap();
    assert_eq!(count, 600);
    db.close().await;
}

/// When the list has dirty rows, the reader that read the context gives its connection
/// back before the fold runs: on a one-connection database the fold would otherwise wait
/// for the reader, and the reader for the fold. (That the reader stops at once rather than
/// after filling its channel, which the caller drops, is `list_reader::sqlite`'s
/// `a_prelude_can_stop_the_reader_or_fail_it`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_folds_its_dirty_rows_on_a_one_connection_database() {
    use futures::StreamExt as _;
    let (store, db) = memory_fleet(600).await;
    let all = query(None, None, ListOrder::Stable);
    let before = store.read_evidence_page(&all, t(3)).await.unwrap().rows;
    let renamed = &before[300].connection_id;
    store
        .update_connection(
            renamed,
            &ConnectionChange::Rename(Some("renamed".to_owned())),
            t(4),
        )
        .await
        .unwrap();
    let read = async {
        let stream = store.stream_evidence(&all, t(5)).await.unwrap();
        stream.rows.map(Result::unwrap).collect::<Vec<_>>().await
    };
    let streamed = tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the stream's fold waited for the stream's own connection");
    assert_eq!(streamed.len(), 600);
    assert_eq!(streamed[300].display_name.as_deref(), Some("renamed"));
    let status = store.read_model_status().await.unwrap();
    assert_eq!(status.dirty, 0, "the stream folded its dirty row");
    db.close().await;
}

/// On SQLite the list reader takes each stored value as the type SQLite holds: a value of
/// the wrong type (text where the row's record total belongs, which SQLite's column
/// affinity lets through) ends the stream with an error after the rows before it, and fails
/// a page read, never a panic or a converted guess.
#[tokio::test]
async fn a_stored_value_of_the_wrong_type_ends_the_sqlite_stream_with_an_error() {
    use futures::StreamExt as _;
    let (store, db) = memory_fleet(100).await;
    let query = query(None, None, ListOrder::Stable);
    let rows = store.read_evidence_page(&query, t(3)).await.unwrap().rows;
    let console_storage::Database::Sqlite(pool) = &db else {
        panic!("a SQLite database")
    };
    sqlx::query(
        "UPDATE connector_summary_evidence SET total_records = 'many' WHERE connection_id = $1",
    )
    .bind(&rows[40].connection_id)
    .execute(pool)
    .await
    .unwrap();

    let streamed: Vec<_> = store
        .stream_evidence(&query, t(3))
        .await
        .unwrap()
        .rows
        .collect()
        .await;
    assert_eq!(
        streamed.len(),
        41,
        "the rows before the bad one, then the error"
    );
    for (row, expected) in streamed.iter().zip(&rows[..40]) {
        assert_eq!(row.as_ref().unwrap(), expected);
    }
    match &streamed[40] {
        Err(StoreError::Corrupt(message)) => assert!(!message.contains("many"), "{message}"),
        other => panic!("expected a corrupt-value error, got {other:?}"),
    }
    // A page that holds the row reads it with the same reader: the same error.
    match store.read_evidence_page(&query, t(3)).await {
        Err(StoreError::Corrupt(message)) => assert!(!message.contains("many"), "{message}"),
        other => panic!("expected a corrupt-value error, got {other:?}"),
    }
    db.close().await;
}

/// An embedded SQLite connection cannot be broken by a network or a server restart, so its
/// pool skips sqlx's ping before every acquire (a round trip to the connection's worker
/// thread per statement a request issues).
#[tokio::test]
async fn sqlite_pools_do_not_ping_before_every_acquire() {
    let dir = std::env::temp_dir().join(format!("oc-ping-{}", std::process::id()));
    let path = dir.join("console.db");
    for url in ["sqlite::memory:", path.to_str().unwrap()] {
        let (_, db) = console_storage::open(url).await.unwrap();
        match &db {
            console_storage::Database::Sqlite(pool) => {
                assert!(!pool.options().get_test_before_acquire(), "{url}");
            }
            console_storage::Database::Postgres(_) => panic!("{url} opened Postgres"),
        }
        db.close().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A Postgres connection cut while it sat idle (a server restart, a dropped network) is
/// replaced before a read uses it: the pool pings connections idle for more than a second
/// instead of before every acquire, and replaces those that fail.
#[tokio::test]
async fn postgres_reads_survive_connections_cut_while_idle() {
    use console_storage::testing::{TestBackend, TestDatabase};
    use sqlx::Connection as _;
    let test_db = TestDatabase::create(TestBackend::Postgres).await;
    let (store, db) = console_storage::open(test_db.url()).await.unwrap();
    store.count_connections().await.unwrap();
    let console_storage::Database::Postgres(pool) = &db else {
        panic!("{} opened SQLite", test_db.url());
    };
    let idle = pool.num_idle();
    assert!(idle > 0, "the pool keeps idle connections");
    let mut admin = sqlx::PgConnection::connect(test_db.url()).await.unwrap();
    let cut: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        cut.len() >= idle,
        "every pooled connection was cut: {cut:?}"
    );
    admin.close().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    for attempt in 0..=idle {
        store
            .count_connections()
            .await
            .unwrap_or_else(|e| panic!("read {attempt} after the cut: {e}"));
    }
    db.close().await;
    test_db.remove().await;
}

/// The streamed full list (`stream_evidence`) returns what the unpaged page read returns, in
/// the same order, in both orders and with a status filter; it folds the dirty rows first
/// (they come back current, with the write applied) and reports every open run.
async fn streamed_list_equals_the_full_page_and_folds_first(h: Harness) {
    use futures::StreamExt as _;
    h.connector("alpha").await;
    h.connector("beta").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let connector = if i % 3 == 0 { "beta" } else { "alpha" };
        ids.push(h.connection(connector, i).await.connection_id);
    }
    // Names holding JSON's marks and multi-byte characters (and what the SQLite list's
    // former framed text used as marks) must stream back exactly as a page reads them.
    let tricky = [
        (2, "3:a~#1;~ \"quoted\" \\ back\\slash"),
        (5, ""),
        (8, "¥€ 🙂 [1,{\"x\":null}]"),
    ];
    for (i, name) in tricky {
        h.store
            .update_connection(
                &ids[i],
                &ConnectionChange::Rename(Some(name.to_owned())),
                t(19),
            )
            .await
            .unwrap();
    }
    h.fold_all(20).await;
    let run = h
        .store
        .start_run(&ids[1], RunTrigger::Owner, t(21))
        .await
        .unwrap();
    h.store
        .update_connection(
            &ids[4],
            &ConnectionChange::Status {
                from: ConnectionStatus::Active,
                to: ConnectionStatus::Paused,
            },
            t(22),
        )
        .await
        .unwrap();
    h.store
        .ingest_records(&ids[7], &[record("items", "k1", json!({"v": 1}))], t(23))
        .await
        .unwrap();
    assert_eq!(h.dirty().await.len(), 3);

    let collect = |status: Option<ConnectionStatus>, order: ListOrder| {
        let store = h.store.clone();
        async move {
            let q = ListQuery {
                limit: None,
                after: None,
                status,
                order,
            };
            let stream = store.stream_evidence(&q, t(30)).await.unwrap();
            let rows: Vec<_> = stream.rows.map(|r| r.unwrap()).collect::<Vec<_>>().await;
            (rows, stream.open_runs)
        }
    };
    let (streamed, open_runs) = collect(None, ListOrder::Stable).await;
    assert!(
        h.dirty().await.is_empty(),
        "the stream folded its dirty rows first"
    );
    assert_eq!(streamed.len(), ids.len());
    assert!(streamed
        .iter()
        .all(|e| e.meta.state == EvidenceState::Current));
    let ingested = streamed.iter().find(|e| e.connection_id == ids[7]).unwrap();
    assert_eq!(ingested.total_records, 1);
    assert_eq!(ingested.total_records_state, CountState::Known);
    assert_eq!(open_runs.len(), 1);
    assert_eq!(open_runs[0].run_id, run.run_id);
    for (i, name) in tricky {
        let row = streamed.iter().find(|e| e.connection_id == ids[i]).unwrap();
        assert_eq!(row.display_name.as_deref(), Some(name));
    }

    for (status, order) in [
        (None, ListOrder::Stable),
        (None, ListOrder::NeedsYouFirst),
        (Some(ConnectionStatus::Paused), ListOrder::Stable),
        (Some(ConnectionStatus::Active), ListOrder::NeedsYouFirst),
    ] {
        let (streamed, _) = collect(status, order).await;
        let page = h
            .store
            .read_evidence_page(
                &ListQuery {
                    limit: None,
                    after: None,
                    status,
                    order,
                },
                t(30),
            )
            .await
            .unwrap();
        assert_eq!(streamed, page.rows, "{status:?} {order:?}");
    }
}

/// The stream's reader hands rows over in batches (on SQLite a first batch of 16, then 64;
/// on Postgres up to 64 as they arrive): across batch boundaries it still returns every row
/// once, in order, for a fleet that fills SQLite's batches exactly (16 + 32 x 64) and for
/// filtered subsets that do not.
async fn streamed_list_crosses_batch_boundaries(h: Harness) {
    use futures::StreamExt as _;
    h.small_fleet(2_064, 500).await;
    for (status, order) in [
        (None, ListOrder::Stable),
        (None, ListOrder::NeedsYouFirst),
        (Some(ConnectionStatus::Active), ListOrder::Stable),
        (Some(ConnectionStatus::Active), ListOrder::NeedsYouFirst),
    ] {
        let q = ListQuery {
            limit: None,
            after: None,
            status,
            order,
        };
        let stream = h.store.stream_evidence(&q, t(3)).await.unwrap();
        let streamed: Vec<_> = stream.rows.map(|r| r.unwrap()).collect::<Vec<_>>().await;
        let page = h.store.read_evidence_page(&q, t(3)).await.unwrap();
        if status.is_none() {
            assert_eq!(streamed.len(), 2_064);
        } else {
            assert!(streamed.len() > 1_000 && streamed.len() < 2_064);
        }
        let ids: std::collections::HashSet<_> =
            streamed.iter().map(|e| e.connection_id.clone()).collect();
        assert_eq!(ids.len(), streamed.len(), "every row once");
        assert!(streamed == page.rows, "{status:?} {order:?}");
    }
}

/// On SQLite a set-based write binds at most 500 rows per statement (SQLite's parameter
/// limit): a rebuild batch and a fold larger than that write every row, in several
/// statements. (Postgres takes any number in one; the test holds for both.)
async fn writes_of_more_rows_than_one_statement_takes_publish_every_row(h: Harness) {
    use futures::StreamExt as _;
    let report = h.small_fleet(1_300, 1_300).await;
    assert_eq!(report.created, 1_300);
    let all = ListQuery {
        limit: None,
        after: None,
        status: None,
        order: ListOrder::Stable,
    };
    let rebuilt = h.store.read_evidence_page(&all, t(3)).await.unwrap().rows;
    assert_eq!(rebuilt.len(), 1_300);
    assert!(rebuilt
        .iter()
        .all(|e| e.meta.state == EvidenceState::Current && e.meta.error.is_none()));

    // A manifest change dirties every row; the streamed list folds them all in one fold.
    for mut connector in h.store.list_connectors().await.unwrap() {
        connector.version = format!("{}-changed", connector.version);
        h.store.upsert_connector(&connector, t(4)).await.unwrap();
    }
    assert_eq!(h.dirty().await.len(), 1_300);
    let stream = h.store.stream_evidence(&all, t(5)).await.unwrap();
    let streamed: Vec<_> = stream.rows.map(|r| r.unwrap()).collect::<Vec<_>>().await;
    assert!(h.dirty().await.is_empty(), "every row was published");
    assert_eq!(streamed.len(), 1_300);
    assert!(streamed
        .iter()
        .all(|e| e.meta.state == EvidenceState::Current && e.meta.folded_seq > 0));
    let page = h.store.read_evidence_page(&all, t(5)).await.unwrap().rows;
    assert!(
        streamed == page,
        "the published rows read back as the fold returned them"
    );
}
