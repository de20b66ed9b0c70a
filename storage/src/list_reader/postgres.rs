//! The streamed list on Postgres: rows as sqlx's driver decodes them from the socket, on a
//! task of their own, handed over as they arrive (a batch does not wait to fill up, so
//! projection starts on the first rows while Postgres still sends the rest).
//!
//! The unpaged list is read in a read-only transaction with sorting off ([`UNPAGED`]). On
//! a small table Postgres's planner prefers reading every row and sorting them to walking
//! the order's index, which it prices as random page reads; for the wide rows of a fleet of
//! 100 that sort took 0.17 ms and held back the first row until it was done, where walking
//! the index returns them all in 0.14 ms (docs/performance.md, thirtieth round). At 1,000
//! rows the planner walks the index by itself.

use super::{crashed, failed_early, push, Batch, ListStatement, Prelude};
use crate::backend::postgres::common::{decode_columns, decode_maintenance, Verified};
use crate::codec::Bind;
use crate::error::{StoreError, StoreResult};
use crate::evidence_row::StoredRow;
use crate::read_context::{ContextRow, ReadContext};
use futures::{FutureExt as _, StreamExt as _};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::panic::AssertUnwindSafe;
use tokio::sync::mpsc;

/// Most rows per batch: enough to amortize the hand-over, few enough that memory stays a
/// few hundred KB.
const BATCH: usize = 64;

/// How an unpaged list's transaction begins. Only the reader's own statements run in it,
/// and it ends with the reader: sqlx rolls a dropped transaction back before the
/// connection serves anyone else.
pub(crate) const UNPAGED: &str = "BEGIN READ ONLY; SET LOCAL enable_sort = off";

/// Reads the statement's rows, turns each into an item with `convert` and sends them to
/// `sender` (a panic ends the stream with an error, see `crashed`).
pub(crate) fn spawn<T, F>(
    pool: PgPool,
    prelude: Option<Prelude>,
    statement: ListStatement,
    mut convert: F,
    sender: mpsc::Sender<Batch<T>>,
) where
    T: Send + 'static,
    F: FnMut(StoredRow) -> StoreResult<T> + Send + 'static,
{
    tokio::spawn(async move {
        let read = read(&pool, prelude, statement, &mut convert, &sender);
        if AssertUnwindSafe(read).catch_unwind().await.is_err() {
            let _ = sender.send(vec![Err(crashed())]).await;
        }
    });
}

/// The reader's connection: a page's as the pool hands it out, the unpaged list's inside
/// its transaction.
enum Held {
    Page(PoolConnection<Postgres>),
    Unpaged(Transaction<'static, Postgres>),
}

impl Held {
    async fn take(pool: &PgPool, unpaged: bool) -> Result<Self, sqlx::Error> {
        Ok(if unpaged {
            Held::Unpaged(pool.begin_with(UNPAGED).await?)
        } else {
            Held::Page(pool.acquire().await?)
        })
    }

    fn conn(&mut self) -> &mut PgConnection {
        match self {
            Held::Page(conn) => conn,
            Held::Unpaged(tx) => tx,
        }
    }
}

async fn read<T>(
    pool: &PgPool,
    prelude: Option<Prelude>,
    statement: ListStatement,
    convert: &mut impl FnMut(StoredRow) -> StoreResult<T>,
    sender: &mpsc::Sender<Batch<T>>,
) {
    let mut held = match Held::take(pool, statement.unpaged).await {
        Ok(held) => held,
        Err(e) => {
            if let Err(e) = failed_early(prelude, e.into()) {
                let _ = sender.send(vec![Err(e)]).await;
            }
            return;
        }
    };
    let conn = held.conn();
    if let Some(prelude) = prelude {
        let rows = sqlx::query_as::<_, ContextRow>(&prelude.sql)
            .fetch_all(&mut *conn)
            .await;
        let context = rows
            .map_err(StoreError::from)
            .and_then(ReadContext::from_rows);
        if !prelude.answer(context) {
            return;
        }
    }
    let mut query = sqlx::query(&statement.sql);
    for value in statement.binds {
        query = match value {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
        };
    }
    let (mut columns, mut maintenance) = (Verified::default(), Verified::default());
    let rows = query.fetch(&mut *conn).map(|row| {
        let row = row?;
        Ok((
            decode_columns(&row, &mut columns)?,
            decode_maintenance(&row, &mut maintenance)?,
        ))
    });
    let mut at_hand = rows.ready_chunks(BATCH);
    while let Some(rows) = at_hand.next().await {
        let mut batch = Vec::with_capacity(rows.len());
        let mut failed = false;
        for row in rows {
            failed = push(&mut batch, row, convert);
            if failed {
                break;
            }
        }
        if sender.send(batch).await.is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` evidence-shaped rows of literals, row `i` with id `conn_i` and `i` records: no
    /// table, so the test needs only a server (`TEST_DATABASE_URL`, as every storage test).
    fn rows_sql(n: u32) -> String {
        format!(
            "SELECT 'conn_' || i AS connection_id, 'alpha' AS connector_id,
                    'Alpha' AS connector_display_name, NULL::text AS display_name,
                    'active' AS status, 'api' AS source_kind, 'pull' AS recommended_mode,
                    1000::bigint AS created_at, 1000::bigint AS updated_at,
                    NULL::bigint AS revoked_at, '[]' AS streams, i::bigint AS total_records,
                    NULL::text AS last_run, NULL::text AS last_successful_run,
                    0::bigint AS consecutive_failures, 0::bigint AS consecutive_connector_errors,
                    '[]' AS open_attention, '[]' AS unrecovered_gaps, NULL::text AS schedule,
                    NULL::bigint AS maximum_staleness_override,
                    NULL::bigint AS manifest_staleness_seconds, NULL::bigint AS window_seconds,
                    NULL::text AS window_source, NULL::bigint AS stale_at,
                    0::bigint AS needs_rank, 0::bigint AS stale_sort, false AS dirty,
                    NULL::bigint AS dirty_since, 1::bigint AS write_seq, 1::bigint AS folded_seq,
                    NULL::bigint AS computed_at, NULL::text AS error
             FROM generate_series(1, {n}) AS i ORDER BY i"
        )
    }

    /// Everything the reader sends for `sql`, with `convert`.
    async fn read_all(
        sql: String,
        convert: impl FnMut(StoredRow) -> StoreResult<String> + Send + 'static,
    ) -> Vec<StoreResult<String>> {
        let pool = PgPool::connect(&crate::testing::admin_url())
            .await
            .expect("a Postgres server");
        let (sender, mut receiver) = mpsc::channel(2);
        spawn(
            pool.clone(),
            None,
            ListStatement::plain(sql, false),
            convert,
            sender,
        );
        let mut items = Vec::new();
        while let Some(batch) = receiver.recv().await {
            items.extend(batch);
        }
        pool.close().await;
        items
    }

    /// A prelude's context arrives decoded before the rows, which are read on the one
    /// connection the reader took (the pool counts what it hands out): the list only has
    /// rows on the backend that answered the context (a
    /// session setting, on a pool new to this test, so no other connection has it). One
    /// that says stop gets no rows; one that fails gets the error.
    #[tokio::test]
    async fn a_prelude_answers_then_its_connection_reads_the_rows() {
        use std::sync::atomic::Ordering;
        let (options, acquired) =
            super::super::counting_acquires(sqlx::postgres::PgPoolOptions::new());
        let pool = options
            .connect(&crate::testing::admin_url())
            .await
            .expect("a Postgres server");
        acquired.store(0, Ordering::SeqCst);
        let read = |context_sql: &str, go_on: bool, sql: String| {
            let (prelude, context) = Prelude::fixed(context_sql, go_on);
            let (sender, mut receiver) = mpsc::channel(2);
            let convert = |(cols, _): StoredRow| Ok(cols.connection_id);
            spawn(
                pool.clone(),
                Some(prelude),
                ListStatement::plain(sql, true),
                convert,
                sender,
            );
            async move {
                let context = context.await.expect("an answer");
                let mut items = Vec::new();
                while let Some(batch) = receiver.recv().await {
                    items.extend(batch);
                }
                (context, items)
            }
        };
        let context_sql = "SELECT 'runtime' AS kind, pg_backend_pid()::text AS connection_id,
                                  NULL::text AS status, NULL::text AS run_id,
                                  NULL::bigint AS started_at, 5000::bigint AS heartbeat_at";
        let same_backend = rows_sql(200).replace(
            "ORDER BY i",
            "WHERE pg_backend_pid()::text = current_setting('test.context_pid', true) ORDER BY i",
        );
        // The prelude's statement names its backend; the list keeps its rows only where a
        // setting made by that statement's connection is visible.
        let marking = context_sql.replace(
            "pg_backend_pid()::text AS connection_id",
            "set_config('test.context_pid', pg_backend_pid()::text, false) AS connection_id",
        );
        let (context, items) = read(&marking, true, same_backend).await;
        assert_eq!(acquired.load(Ordering::SeqCst), 1, "connections taken");
        assert!(context.unwrap().runtime_heartbeat.is_some());
        assert_eq!(items.len(), 200, "{:?}", items.last());

        let (context, items) = read(context_sql, false, rows_sql(200)).await;
        assert!(context.unwrap().runtime_heartbeat.is_some());
        assert!(items.is_empty());
        let (context, items) = read("SELECT nothing", true, rows_sql(3)).await;
        assert!(
            matches!(context, Err(StoreError::Database(_))),
            "{context:?}"
        );
        assert!(items.is_empty());
        pool.close().await;
    }

    /// The unpaged list is read with sorting off, in a read-only transaction that ends with
    /// the reader; a page as the pool hands its connection out. On a one-connection pool,
    /// the connection serves the next statement with neither.
    #[tokio::test]
    async fn the_unpaged_list_is_read_with_sorting_off() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&crate::testing::admin_url())
            .await
            .expect("a Postgres server");
        let settings = "current_setting('enable_sort') || ' ' || \
                        current_setting('transaction_read_only')";
        let sql = rows_sql(3).replace(
            "'alpha' AS connector_id",
            &format!("{settings} AS connector_id"),
        );
        for (unpaged, expected) in [(true, "off on"), (false, "on off"), (true, "off on")] {
            let (sender, mut receiver) = mpsc::channel(2);
            let statement = ListStatement::plain(sql.clone(), unpaged);
            spawn(
                pool.clone(),
                None,
                statement,
                |(cols, _)| Ok(cols.connector_id),
                sender,
            );
            let mut seen = Vec::new();
            while let Some(batch) = receiver.recv().await {
                seen.extend(batch.into_iter().map(Result::unwrap));
            }
            assert_eq!(seen, [expected; 3], "unpaged: {unpaged}");
            let after: String = sqlx::query_scalar(&format!("SELECT {settings}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(after, "on off", "after a read, unpaged: {unpaged}");
        }
        pool.close().await;
    }

    #[tokio::test]
    async fn rows_arrive_in_order_across_batches() {
        let items = read_all(rows_sql(200), |(cols, m)| {
            assert!(cols.display_name.is_none() && !m.dirty);
            Ok(format!("{}:{}", cols.connection_id, cols.total_records))
        })
        .await;
        let expected: Vec<String> = (1..=200).map(|i| format!("conn_{i}:{i}")).collect();
        let items: Vec<String> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, expected);
    }

    /// A panic while reading must not look like the end of the list: at most the rows
    /// before it, then an error.
    #[tokio::test]
    async fn a_reader_that_panics_ends_the_stream_with_an_error() {
        let items = read_all(rows_sql(200), |(cols, _)| {
            assert!(cols.total_records < 20, "a bug in a conversion");
            Ok(cols.connection_id)
        })
        .await;
        let (last, sent) = items.split_last().unwrap();
        assert!(
            sent.len() < 20 && sent.iter().all(Result::is_ok),
            "{sent:?}"
        );
        assert!(
            matches!(last, Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
            "{last:?}"
        );
    }
}
