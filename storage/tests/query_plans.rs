//! Plans of statements whose cost must not grow with the fleet, read with `EXPLAIN` from the
//! very statements the store runs (captured from sqlx's `sqlx::query` events):
//! - the streamed list: its one statement walks an index in the list's order and never
//!   sorts, or the first row would wait for the whole fleet to be read and sorted (on
//!   Postgres as its reader runs it, with sorting off: a small fleet's rows it would sort);
//! - the evidence extraction on Postgres right after a rebuild, which rewrote every row of
//!   `record_stats`: the rebuild leaves statistics behind, and the extraction probes the
//!   table by id instead of reading it whole;
//! - a fold's claim of a page's rows and its publish on Postgres, after statistics taken
//!   while every row was clean and a manifest change that dirtied them all: each row by its
//!   primary key, not a walk of every dirty row (which made a fold of N rows cost N squared);
//! - the sweeper's folds on Postgres: a few dirty rows are shared among its concurrent
//!   folds, and each connection plans a fold's extraction once (a generic plan), not with
//!   the values of every fold; so does the detail read of a clean row, which extracts its
//!   connection outside any fold.
//!
//! Its own test binary: the statement capture is process-wide.

#[allow(dead_code, unused_macros)]
#[path = "store/harness.rs"]
mod harness;

use console_domain::model::ConnectionStatus;
use console_storage::testing::{load_fleet, FleetSpec};
use console_storage::{Database, ListOrder, ListQuery};
use futures::StreamExt as _;
use harness::{t, with_postgres, with_sqlite};
use sqlx::Row as _;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// The text of every statement logged (by sqlx, or by the store itself) since the last
/// [`take_statements`].
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

/// The statement log is one for the whole test binary, and tests run in parallel: a test
/// that reads it holds this for its whole run, so no other test's `take_statements` drains
/// the statements it is about to look for (seen: a rebuild's extraction went missing).
static LOG_IN_USE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(
            Capture.with_filter(
                Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE)
                    .with_target(console_storage::STATEMENT_LOG, tracing::Level::TRACE),
            ),
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

/// The node types of Postgres's plan for `sql` as the unpaged list's reader runs it (in
/// its transaction, see `POSTGRES_UNPAGED_BEGIN`), with `status` bound where the list
/// filters by it.
async fn unpaged_plan(db: &Database, sql: &str, status: Option<ConnectionStatus>) -> Vec<String> {
    let mut tx = postgres_pool(db)
        .begin_with(console_storage::testing::POSTGRES_UNPAGED_BEGIN)
        .await
        .unwrap();
    let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
    let mut query = sqlx::query_as::<_, (serde_json::Value,)>(&explain);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    let (plan,) = query
        .fetch_one(&mut *tx)
        .await
        .expect("explain the list statement");
    let mut nodes = Vec::new();
    plan_nodes(&plan[0]["Plan"], &mut nodes);
    nodes
        .iter()
        .map(|node| node["Node Type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The unpaged list statement of each order, with and without a status, of a fleet of 12
/// (on Postgres one the planner would rather sort than walk an index), and the plan of
/// each as the list's reader runs it: it walks an index in the list's order and never
/// sorts, or the first row would wait for the whole fleet to be read and sorted.
async fn the_streamed_list_walks_an_index_in_its_order(h: harness::Harness) {
    for connector in ["alpha", "beta"] {
        h.connector(connector).await;
    }
    for i in 0..12 {
        h.connection(if i % 2 == 0 { "alpha" } else { "beta" }, i)
            .await;
    }
    h.fold_all(100).await;
    if let Database::Postgres(pool) = &h.db {
        // With statistics (as autovacuum leaves them) Postgres would read these few rows
        // whole and sort them; without, it guesses and walks the index anyway.
        sqlx::query("ANALYZE connector_summary_evidence")
            .execute(pool)
            .await
            .unwrap();
    }

    for order in [ListOrder::Stable, ListOrder::NeedsYouFirst] {
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
                // The list orders by its key (the context statement before it also
                // orders, to find the runtime's latest heartbeat).
                .find(|sql| sql.contains(" ORDER BY e."))
                .expect("the streamed list runs one ordered statement");

            let (walks, sorts, plan) = match &h.db {
                Database::Sqlite(_) => {
                    let detail = plan(&h.db, &sql, status).await;
                    let walks = detail.iter().any(|d| d.contains("USING INDEX"));
                    let sorts = detail.iter().any(|d| d.contains("TEMP B-TREE"));
                    (walks, sorts, detail)
                }
                Database::Postgres(_) => {
                    let nodes = unpaged_plan(&h.db, &sql, status).await;
                    let walks = nodes.iter().any(|n| n.starts_with("Index"));
                    let sorts = nodes.iter().any(|n| n.contains("Sort"));
                    (walks, sorts, nodes)
                }
            };
            assert!(
                walks && !sorts,
                "{order:?} {status:?}: the list statement sorts:\n{}",
                plan.join("\n")
            );
        }
    }
}

#[tokio::test]
async fn the_streamed_list_walks_an_index_in_its_order_on_sqlite() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_sqlite(the_streamed_list_walks_an_index_in_its_order).await;
}

#[tokio::test]
async fn the_streamed_list_walks_an_index_in_its_order_on_postgres() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(the_streamed_list_walks_an_index_in_its_order).await;
}

/// The pool of a Postgres test's database.
fn postgres_pool(db: &Database) -> &sqlx::PgPool {
    let Database::Postgres(pool) = db else {
        panic!("a Postgres test")
    };
    pool
}

/// Every node of a Postgres JSON plan (`EXPLAIN (FORMAT JSON)`), depth first.
fn plan_nodes(node: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    out.push(node.clone());
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, out);
    }
}

/// The generic plan (the one Postgres keeps for a statement run a few times) of `sql`,
/// executed with `args` (SQL literals; the plan does not depend on them), as its nodes.
async fn generic_plan(pool: &sqlx::PgPool, sql: &str, args: &str) -> Vec<serde_json::Value> {
    let mut c = pool.acquire().await.unwrap();
    for sql in [
        "SET plan_cache_mode = force_generic_plan".to_owned(),
        format!("PREPARE planned AS {sql}"),
    ] {
        sqlx::query(&sql).execute(&mut *c).await.expect(&sql);
    }
    let (plan,): (serde_json::Value,) =
        sqlx::query_as(&format!("EXPLAIN (FORMAT JSON) EXECUTE planned({args})"))
            .fetch_one(&mut *c)
            .await
            .expect("explain");
    sqlx::query("DEALLOCATE planned")
        .execute(&mut *c)
        .await
        .unwrap();
    let mut nodes = Vec::new();
    plan_nodes(&plan[0]["Plan"], &mut nodes);
    nodes
}

#[tokio::test]
async fn a_rebuild_leaves_statistics_and_the_extraction_probes_record_stats_by_id() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        let pool = postgres_pool(&h.db);
        // Nothing may analyze the table behind the test's back.
        h.exec("ALTER TABLE record_stats SET (autovacuum_enabled = false)")
            .await;
        // The fleet loader analyzes its tables while `record_stats` is still empty; the
        // rebuild then fills it. Without statistics of its own the planner would take the
        // table for one it knows nothing about (on a bench database it then read all of it
        // for every extraction).
        let spec = FleetSpec {
            connections: 3_000,
            connectors: 4,
            runs_per_connection: 2,
            records_per_connection: 6,
            seed: 7,
        };
        let fleet = load_fleet(&h.db, &spec, t(0)).await.expect("fleet");
        take_statements();
        h.store
            .rebuild_evidence(250, t(1), &|_, _| {})
            .await
            .expect("rebuild");
        let extraction = take_statements()
            .into_iter()
            .find(|sql| sql.contains("record_stats") && sql.contains("json_agg"))
            .expect("the rebuild extracts evidence");
        let (tuples, stat_rows): (f32, i64) = sqlx::query_as(
            "SELECT c.reltuples,
                    (SELECT COUNT(*) FROM record_stats)
             FROM pg_class c WHERE c.relname = 'record_stats'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(
            stat_rows >= 5_000,
            "the fleet fills record_stats ({stat_rows} rows)"
        );
        assert!(
            (tuples - stat_rows as f32).abs() <= stat_rows as f32 * 0.1,
            "the rebuild leaves statistics of the record_stats it rewrote: \
             the planner estimates {tuples} rows of {stat_rows}"
        );

        // Fleet ids are letters, digits and underscores: safe inside an array literal.
        let ids = fleet.connection_ids[1_000..1_250].join(",");
        let nodes = generic_plan(pool, &extraction, &format!("'{{{ids}}}'")).await;
        let stats: Vec<&serde_json::Value> = nodes
            .iter()
            .filter(|n| n["Relation Name"] == "record_stats")
            .collect();
        assert!(!stats.is_empty(), "the extraction reads record_stats");
        for node in stats {
            let scan = node["Node Type"].as_str().unwrap_or_default();
            assert_ne!(
                scan, "Seq Scan",
                "record_stats must be probed through its index: {node:#}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_fold_reaches_its_rows_by_key_when_statistics_say_none_are_dirty() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        let pool = postgres_pool(&h.db);
        h.exec("ALTER TABLE connector_summary_evidence SET (autovacuum_enabled = false)")
            .await;
        let spec = FleetSpec {
            connections: 2_000,
            connectors: 2,
            runs_per_connection: 1,
            records_per_connection: 2,
            seed: 11,
        };
        load_fleet(&h.db, &spec, t(0)).await.expect("fleet");
        h.store
            .rebuild_evidence(500, t(1), &|_, _| {})
            .await
            .expect("rebuild");
        // Statistics of a clean table, as autovacuum would take them on a quiet day.
        h.exec("ANALYZE connector_summary_evidence").await;
        // A manifest change dirties every connection of its connector.
        for mut manifest in h.store.list_connectors().await.unwrap() {
            manifest.version = format!("{}-changed", manifest.version);
            h.store.upsert_connector(&manifest, t(2)).await.unwrap();
        }
        take_statements();
        // A page read folds its dirty rows (claims them by id, then publishes).
        let page = h
            .store
            .read_evidence_page(
                &ListQuery {
                    limit: Some(100),
                    after: None,
                    status: None,
                    order: ListOrder::Stable,
                },
                t(3),
            )
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 100);
        let statements = take_statements();
        let claim = statements
            .iter()
            .find(|sql| sql.contains("SKIP LOCKED") && sql.contains("ANY($1)"))
            .expect("the page claims its dirty rows");
        let publish = statements
            .iter()
            .find(|sql| {
                sql.contains("UPDATE connector_summary_evidence") && sql.contains("RETURNING")
            })
            .expect("the page publishes them");

        // The publish's parameters are its rows: one empty array per column.
        let columns = (1..)
            .take_while(|n| publish.contains(&format!("${n}::")))
            .count();
        let no_rows = vec!["'{}'"; columns].join(", ");
        for (what, sql, args) in [("claim", claim, "'{a}'"), ("publish", publish, &*no_rows)] {
            let nodes = generic_plan(pool, sql, args).await;
            let evidence: Vec<&serde_json::Value> = nodes
                .iter()
                .filter(|n| n["Relation Name"] == "connector_summary_evidence")
                // Scans only: the update node names its table too.
                .filter(|n| n["Node Type"] != "ModifyTable")
                .collect();
            assert!(!evidence.is_empty(), "the {what} reads the evidence table");
            for node in evidence {
                assert_eq!(
                    node["Index Name"], "connector_summary_evidence_pkey",
                    "the {what} must reach each row by its primary key: {node:#}"
                );
            }
        }
    })
    .await;
}

/// Postgres: how many folds a sweep ran, from its captured statements (one publish each).
fn publishes(statements: &[String]) -> usize {
    statements
        .iter()
        .filter(|sql| {
            sql.trim_start()
                .starts_with("UPDATE connector_summary_evidence AS e SET")
        })
        .count()
}

#[tokio::test]
async fn a_postgres_sweep_shares_a_few_dirty_rows_among_its_folds() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        h.connector("alpha").await;
        for i in 0..200 {
            h.connection("alpha", i).await;
        }
        assert_eq!(h.dirty().await.len(), 200);
        take_statements();
        let report = h.sweep(10_000, 200).await;
        let statements = take_statements();
        assert_eq!(report.folded, 200);
        assert!(h.dirty().await.is_empty());
        // Four folds of 50 side by side, not one fold of 200 while three workers find
        // nothing left to claim.
        assert_eq!(publishes(&statements), 4, "{statements:#?}");

        // Fewer dirty rows are shared out no finer than 50 rows a fold: a fold's fixed
        // cost outweighs what a third and a fourth fold at once would save.
        for i in 200..300 {
            h.connection("alpha", i).await;
        }
        assert_eq!(h.dirty().await.len(), 100);
        take_statements();
        assert_eq!(h.sweep(10_000, 300).await.folded, 100);
        let statements = take_statements();
        assert_eq!(publishes(&statements), 2, "{statements:#?}");

        // A sweep that finds nothing dirty asks once and opens no transaction.
        take_statements();
        assert_eq!(h.sweep(10_000, 301).await.folded, 0);
        let idle = take_statements();
        assert_eq!(idle.len(), 1, "{idle:#?}");
    })
    .await;
}

/// Sums of `generic_plans` and `custom_plans` of the prepared statements matching `like`
/// on every connection of the pool (held together so each is asked once).
async fn plan_counts(pool: &sqlx::PgPool, like: &str) -> (i64, i64) {
    all_idle(pool).await;
    let mut held = Vec::new();
    while let Some(c) = pool.try_acquire() {
        held.push(c);
    }
    let (mut generic, mut custom) = (0, 0);
    for c in &mut held {
        let (g, k): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT SUM(generic_plans)::BIGINT, SUM(custom_plans)::BIGINT
             FROM pg_prepared_statements WHERE statement LIKE $1",
        )
        .bind(like)
        .fetch_one(&mut **c)
        .await
        .unwrap();
        generic += g.unwrap_or(0);
        custom += k.unwrap_or(0);
    }
    (generic, custom)
}

/// Waits until every connection of the pool is back in it. sqlx returns a released
/// connection from a task of its own, after a ping: taken at once after a fold, the pool
/// can still have none idle (on a loaded machine it had none of its five).
async fn all_idle(pool: &sqlx::PgPool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.num_idle() < pool.size() as usize {
        assert!(
            Instant::now() < deadline,
            "{} of the pool's {} connections still out after 10 s",
            pool.size() as usize - pool.num_idle(),
            pool.size()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The statements matching `like` ran, each time with its generic plan.
async fn assert_only_generic_plans(pool: &sqlx::PgPool, like: &str) {
    let (generic, custom) = plan_counts(pool, like).await;
    assert!(generic > 0, "no execution of {like} was observed");
    assert_eq!(
        custom, 0,
        "{like} planned with its values ({generic} generic)"
    );
}

/// The fold's extraction asks each row's changed parts; the rebuild's reads every part and
/// carries nothing over.
const FOLD_EXTRACTION: &str = "%WITH asking%";
const FULL_EXTRACTION: &str = "%NULL AS last_run%";

#[tokio::test]
async fn a_postgres_fold_reuses_one_generic_plan_per_connection() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        let pool = postgres_pool(&h.db);
        h.connector("alpha").await;
        // Eight sweeps of a few rows each: more executions per connection than the five
        // Postgres plans with the values before it considers its generic plan.
        for round in 0..8 {
            for i in 0..30 {
                h.connection("alpha", round * 100 + i).await;
            }
            h.fold_all(1_000 + round).await;
        }
        // Planning the extraction with the values costs more than running it on a small
        // fold (3-11 ms against ~1 ms for 25 rows): folds use the one generic plan.
        assert_only_generic_plans(pool, FOLD_EXTRACTION).await;
    })
    .await;
}

#[tokio::test]
async fn a_postgres_detail_read_plans_its_extraction_once() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        let pool = postgres_pool(&h.db);
        h.connector("alpha").await;
        let id = h.connection("alpha", 1).await.connection_id;
        h.fold_all(2).await;
        // More reads of the clean row than the five Postgres plans with the values before
        // it weighs its generic plan (and with one id it kept choosing the values' plan).
        for at in 0..8 {
            let deep = h.store.read_deep_evidence(&id, t(3 + at)).await.unwrap();
            assert!(deep.is_some_and(|deep| deep.page.rows.len() == 1));
        }
        // Planned with its values, this statement spent ~1.1 ms of its ~1.2 ms at bind.
        assert_only_generic_plans(pool, FULL_EXTRACTION).await;
    })
    .await;
}

#[tokio::test]
async fn a_postgres_rebuild_plans_its_batches_with_their_values() {
    install();
    let _log = LOG_IN_USE.lock().await;
    with_postgres(|h| async move {
        let pool = postgres_pool(&h.db);
        // Two batches, fewer than the five executions after which Postgres may choose a
        // generic plan by itself.
        h.small_fleet(100, 50).await;
        let (generic, custom) = plan_counts(pool, FULL_EXTRACTION).await;
        // A rebuild fills the tables its plans read: a generic plan made while they are
        // empty would stay in use as they grow (a rebuild of 10,000 connections took 7.4 s
        // with one against 1.7 s).
        assert_eq!(
            (generic, custom),
            (0, 2),
            "the rebuild's extractions are planned with their values"
        );
    })
    .await;
}
