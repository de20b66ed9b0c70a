//! Storage statements per read, counted from sqlx's per-statement log events: the same at
//! 10, 1,000 and 10,000 connections, with and without dirty evidence (SPEC §3 "Bounded
//! reads"). Serialized: the counter is process-wide.

// The shared harness; this binary uses only part of it.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use console_storage::ConnectionChange;
use helpers::{spawn_app, Backend, TestApp};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct CountStatements;

impl<S: tracing::Subscriber> Layer<S> for CountStatements {
    fn on_event(
        &self,
        _event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
    }
}

fn install_counter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(
            CountStatements.with_filter(
                Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE)
                    .with_target(console_storage::STATEMENT_LOG, tracing::Level::TRACE),
            ),
        );
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    });
}

/// Statements one cookie-authenticated GET issues, session lookup included.
async fn statements_for(app: &TestApp, cookie: &str, path: &str) -> u64 {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let response = app
        .anon
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let _ = response.bytes().await.unwrap();
    STATEMENTS.load(Ordering::SeqCst) - before
}

/// Dirties each connection with a label it never had, so no rename is a no-op.
async fn dirty(app: &TestApp, ids: &[String]) {
    static ROUND: AtomicU64 = AtomicU64::new(0);
    let label = format!("renamed {}", ROUND.fetch_add(1, Ordering::SeqCst));
    for id in ids {
        app.console
            .store
            .update_connection(
                id,
                &ConnectionChange::Rename(Some(label.clone())),
                app.clock_now(),
            )
            .await
            .unwrap();
    }
}

/// The ids on the first page of 100 in the stable order.
async fn first_page(app: &TestApp) -> Vec<String> {
    let (_, page) = app.get_json("/_ref/connectors?limit=100").await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["connection_id"].as_str().unwrap().to_owned())
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    full_clean: u64,
    page_clean: u64,
    scoped_clean: u64,
    full_dirty: u64,
    page_dirty: u64,
    detail_clean: u64,
    detail_dirty: u64,
}

async fn measure(app: &TestApp, cookie: &str, ids: &[String]) -> Counts {
    let scoped = format!("/_ref/connectors?connection={}", ids[0]);
    let full_clean = statements_for(app, cookie, "/_ref/connectors").await;
    let page_clean = statements_for(app, cookie, "/_ref/connectors?limit=100").await;
    let scoped_clean = statements_for(app, cookie, &scoped).await;
    let detail = format!("/_ref/connections/{}", ids[0]);
    let detail_clean = statements_for(app, cookie, &detail).await;
    dirty(app, &ids[..ids.len().min(500)]).await;
    let full_dirty = statements_for(app, cookie, "/_ref/connectors").await;
    dirty(app, &first_page(app).await).await;
    let page_dirty = statements_for(app, cookie, "/_ref/connectors?limit=100").await;
    dirty(app, &ids[..1]).await;
    let detail_dirty = statements_for(app, cookie, &detail).await;
    while app
        .console
        .store
        .fold_dirty(5000, app.clock_now())
        .await
        .into_result()
        .unwrap()
        .folded
        > 0
    {}
    Counts {
        full_clean,
        page_clean,
        scoped_clean,
        full_dirty,
        page_dirty,
        detail_clean,
        detail_dirty,
    }
}

async fn reads_issue_the_same_statements_at_every_fleet_size(backend: Backend) {
    let _serial = SERIAL.lock().await;
    install_counter();
    let app = spawn_app(backend).await;
    let cookie = app.session_cookie().await;
    let mut ids = Vec::new();
    let mut seen = Vec::new();
    for size in [10, 1_000, 10_000] {
        app.grow_fleet(size, &mut ids).await;
        let counts = measure(&app, &cookie, &ids).await;
        println!("{backend:?} N={size}: {counts:?}");
        // A clean full list, like a clean page, is the session's lookup, its rows and
        // their context (its dirty rows, the open runs, the runtime's heartbeat) in one
        // statement.
        assert_eq!(counts.full_clean, 3, "{counts:?}");
        assert_eq!(counts.page_clean, 3, "{counts:?}");
        assert!(counts.scoped_clean <= 6, "{counts:?}");
        assert!(
            counts.full_dirty > counts.full_clean,
            "dirty rows were folded: {counts:?}"
        );
        assert!(
            counts.page_dirty > counts.page_clean,
            "dirty rows were folded: {counts:?}"
        );
        // The detail extracts its connection in full; with the row dirty, its fold reuses
        // that extraction: the fold's statements without the page fold's extraction. On
        // Postgres the clean row's extraction has a transaction of its own, which plans it
        // once per connection: one more logged statement (its commit; sqlx does not log a
        // transaction's BEGIN, here or in a fold).
        let extraction_transaction = match backend {
            Backend::Sqlite => 0,
            Backend::Postgres => 1,
        };
        assert_eq!(
            counts.detail_dirty - counts.detail_clean,
            counts.page_dirty - counts.page_clean - 1 - extraction_transaction,
            "a dirty detail folds with the extraction it shows: {counts:?}"
        );
        seen.push(counts);
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "statement counts grew with the fleet: {seen:?}"
    );
    app.finish().await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_issue_the_same_statements_at_every_fleet_size() {
        super::reads_issue_the_same_statements_at_every_fleet_size(super::Backend::Sqlite).await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_issue_the_same_statements_at_every_fleet_size() {
        super::reads_issue_the_same_statements_at_every_fleet_size(super::Backend::Postgres).await
    }
}
