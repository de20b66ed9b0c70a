//! Storage statements per page read, counted from sqlx's per-statement `sqlx::query` events:
//! the same for 10 and 1,000 connections, and the same for 5 and 40 dirty rows on the page.
//! Its own test binary: the counter is process-wide, so these tests run one at a time.

#[allow(dead_code, unused_macros)]
#[path = "store/harness.rs"]
mod harness;

use console_storage::{ConnectionChange, ListOrder, ListQuery};
use harness::{t, with_postgres, with_sqlite, Harness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Count;

impl<S: tracing::Subscriber> Layer<S> for Count {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
    }
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(
            Count.with_filter(
                Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE)
                    .with_target(console_storage::STATEMENT_LOG, tracing::Level::TRACE),
            ),
        );
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    });
}

async fn grow(h: &Harness, to: usize, ids: &mut Vec<String>) {
    while ids.len() < to {
        let connector = if ids.len().is_multiple_of(2) {
            "alpha"
        } else {
            "beta"
        };
        ids.push(
            h.connection(connector, ids.len() as i64)
                .await
                .connection_id,
        );
    }
    h.fold_all(5_000).await;
}

fn page(limit: Option<u32>) -> ListQuery {
    ListQuery {
        limit,
        after: None,
        status: None,
        order: ListOrder::Stable,
    }
}

async fn count_once(h: &Harness, query: &ListQuery) -> (u64, usize) {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let page = h.store.read_evidence_page(query, t(6_000)).await.unwrap();
    (STATEMENTS.load(Ordering::SeqCst) - before, page.rows.len())
}

/// The fewest statements over three identical clean reads: a pool that happens to open a
/// new connection mid-read logs that connection's set-up statements too, which is not the
/// read's cost.
async fn count(h: &Harness, query: &ListQuery) -> (u64, usize) {
    let mut best = count_once(h, query).await;
    for _ in 0..2 {
        let next = count_once(h, query).await;
        best.0 = best.0.min(next.0);
    }
    best
}

/// The same for a read that folds `n` freshly dirtied rows (dirtied again before each try).
async fn count_dirty(h: &Harness, n: usize, label: &str) -> u64 {
    let mut best = u64::MAX;
    for round in 0..3 {
        dirty_first_page(h, n, &format!("{label}{round}")).await;
        best = best.min(count_once(h, &page(Some(50))).await.0);
        assert!(h.dirty().await.is_empty(), "the read folded its dirty rows");
    }
    best
}

async fn dirty_first_page(h: &Harness, n: usize, label: &str) {
    let first = h
        .store
        .read_evidence_page(&page(Some(50)), t(6_000))
        .await
        .unwrap();
    for e in first.rows.iter().take(n) {
        h.store
            .update_connection(
                &e.connection_id,
                &ConnectionChange::Rename(Some(label.to_owned())),
                t(6_001),
            )
            .await
            .unwrap();
    }
    assert_eq!(h.dirty().await.len(), n);
}

async fn counts_do_not_grow(h: Harness) {
    h.connector("alpha").await;
    h.connector("beta").await;
    let mut ids = Vec::new();
    grow(&h, 10, &mut ids).await;
    let (small_page, rows) = count(&h, &page(Some(50))).await;
    assert_eq!(rows, 10);
    let (small_all, _) = count(&h, &page(None)).await;
    assert!(small_page > 0, "statement events are observed");
    assert!(
        small_page <= 3,
        "a clean page is at most 3 statements, got {small_page}"
    );

    grow(&h, 1_000, &mut ids).await;
    let (big_page, rows) = count(&h, &page(Some(50))).await;
    assert_eq!(rows, 50);
    let (big_all, rows) = count(&h, &page(None)).await;
    assert_eq!(rows, 1_000);
    assert_eq!(
        big_page, small_page,
        "page statements do not depend on fleet size"
    );
    assert_eq!(
        big_all, small_all,
        "full-list statements do not depend on fleet size"
    );

    let five_dirty = count_dirty(&h, 5, "five").await;
    let forty_dirty = count_dirty(&h, 40, "forty").await;
    assert_eq!(
        five_dirty, forty_dirty,
        "folding does not fan out per dirty row"
    );
    // The fold's own statements: the extraction and the publish (two passes on SQLite, one
    // on Postgres). Postgres also claims the rows, locking them in the fold's transaction
    // (and logs its commit); SQLite takes their sequences from the rows the read has just
    // read instead of reading them again.
    let fold_statements = match h.backend {
        "sqlite" => 3,
        _ => 4,
    };
    assert_eq!(
        five_dirty - big_page,
        fold_statements,
        "{}: a page with dirty rows is the clean page and its fold",
        h.backend
    );
    eprintln!(
        "{}: clean page {big_page}, full list {big_all}, page with dirty rows {five_dirty}",
        h.backend
    );
    let (clean_again, _) = count(&h, &page(Some(50))).await;
    assert_eq!(clean_again, big_page);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_page_statements_are_bounded() {
    let _serial = SERIAL.lock().await;
    install();
    with_sqlite(counts_do_not_grow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_page_statements_are_bounded() {
    let _serial = SERIAL.lock().await;
    install();
    with_postgres(counts_do_not_grow).await;
}
