//! The plan of the streamed list on SQLite, read with `EXPLAIN QUERY PLAN` from the very
//! statement the store runs (captured from sqlx's `sqlx::query` events): every chunk after
//! the first must seek the order's index by the previous chunk's whole key, or each chunk
//! walks its connector's rows from the first one and the full list costs the square of the
//! largest connector. Postgres streams the list as rows of one ordered statement, so it has
//! no chunked statement to check.
//! Its own test binary: the statement capture is process-wide.

#[allow(dead_code, unused_macros)]
#[path = "store/harness.rs"]
mod harness;

use console_domain::model::ConnectionStatus;
use console_storage::{Database, ListOrder, ListQuery};
use futures::StreamExt as _;
use harness::{t, with_sqlite};
use sqlx::Row as _;
use std::sync::{Mutex, Once};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// The text of every statement sqlx logged since the last [`take_statements`].
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct StatementField(Option<String>);

impl tracing::field::Visit for StatementField {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "db.statement" {
            self.0 = Some(value.to_owned());
        }
    }

    // sqlx records the statement as a string (`record_str`); a `Debug` rendering would be
    // quoted and escaped, not SQL, so nothing else is taken.
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut field = StatementField(None);
        event.record(&mut field);
        if let Some(sql) = field.0 {
            STATEMENTS.lock().unwrap().push(sql);
        }
    }
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(
            Capture.with_filter(Targets::new().with_target("sqlx::query", tracing::Level::TRACE)),
        );
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    });
}

fn take_statements() -> Vec<String> {
    std::mem::take(&mut *STATEMENTS.lock().unwrap())
}

/// The `detail` lines of SQLite's plan for `sql`, with `status` bound where the list
/// filters by it (the streamed list binds nothing else).
async fn plan(db: &Database, sql: &str, status: Option<ConnectionStatus>) -> Vec<String> {
    let Database::Sqlite(pool) = db else {
        panic!("a SQLite test")
    };
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query(&explain);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    query
        .fetch_all(pool)
        .await
        .expect("explain the list statement")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}

#[tokio::test]
async fn every_streamed_chunk_seeks_the_index_by_the_whole_previous_key() {
    install();
    with_sqlite(|h| async move {
        for connector in ["alpha", "beta"] {
            h.connector(connector).await;
        }
        for i in 0..12 {
            h.connection(if i % 2 == 0 { "alpha" } else { "beta" }, i)
                .await;
        }
        h.fold_all(100).await;

        let orders = [
            (ListOrder::Stable, "connector_id,created_at,connection_id"),
            (
                ListOrder::NeedsYouFirst,
                "needs_rank,stale_sort,connector_id,created_at,connection_id",
            ),
        ];
        for (order, key) in orders {
            for status in [None, Some(ConnectionStatus::Active)] {
                let query = ListQuery {
                    limit: None,
                    after: None,
                    status,
                    order,
                };
                take_statements();
                let stream = h.store.stream_evidence(&query, t(200)).await.unwrap();
                let rows: Vec<_> = stream.rows.collect().await;
                assert_eq!(rows.len(), 12, "{order:?} {status:?}");
                let sql = take_statements()
                    .into_iter()
                    .find(|sql| sql.contains("WITH RECURSIVE"))
                    .expect("the streamed list runs one chunked statement");

                let detail = plan(&h.db, &sql, status).await;
                let arity = key.split(',').count();
                let whole_key = format!("({key})>({})", vec!["?"; arity].join(","));
                // The step after a chunk: its last key (one look-up per key column) and its
                // rows. The first chunk has no previous key to seek by.
                let seeks: Vec<&String> = detail.iter().filter(|d| d.contains(">")).collect();
                assert_eq!(
                    seeks.len(),
                    arity + 1,
                    "{order:?} {status:?}: one range seek per key look-up and one for the rows:\n{}",
                    detail.join("\n")
                );
                for seek in seeks {
                    assert!(
                        seek.starts_with("SEARCH e USING") && seek.contains(&whole_key),
                        "{order:?} {status:?}: `{seek}` does not seek by {whole_key}:\n{}",
                        detail.join("\n")
                    );
                }
            }
        }
    })
    .await;
}
