//! The streamed list on SQLite, stepped directly on the connection's database handle.
//!
//! sqlx's SQLite driver steps a statement on the connection's worker thread, copies every
//! value of every row and hands the rows over one at a time. For the unpaged list that cost
//! more than everything else together, so the list used to be one statement whose every
//! result value was SQLite-built text holding 250 framed rows (`concat`, `group_concat`),
//! sliced here; building, copying and slicing that text was still about half of a full
//! list's CPU (docs/performance.md, twenty-third and twenty-fourth rounds).
//!
//! Here the reader takes the connection's handle from its worker (sqlx's `lock_handle`,
//! made for direct SQLite calls: the worker makes none while the lock is held), prepares an
//! ordinary ordered `SELECT` and steps it on a blocking thread, reading each value where
//! SQLite holds it: the only copy is into the row's own strings. Rows are converted there
//! too and handed over in batches, so the reader's task spends its time on projection and
//! JSON while this thread reads the next rows. The full list's context statement runs on
//! the same locked handle first (a [`Prelude`]): through sqlx it was another connection,
//! a trip to its worker thread and back and a ping as it returned to the pool.

use super::{crashed, failed_early, push, Batch, ListStatement, Prelude};
use crate::codec::Bind;
use crate::error::{StoreError, StoreResult};
use crate::evidence_row::StoredRow;
use crate::read_context::{ContextRow, ReadContext};
use libsqlite3_sys as ffi;
use serde::de::value::Error as DeError;
use serde::de::{self, DeserializeSeed, Visitor};
use serde::Deserialize;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::SqlitePool;
use std::borrow::Cow;
use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr::NonNull;
use tokio::sync::mpsc;

/// Rows in the first batch: few, so the reader starts projecting while the rest are read.
const FIRST_BATCH: usize = 16;
/// Rows in every later batch: enough to amortize the hand-over between threads.
const BATCH: usize = 64;

/// Reads the statement's rows on a blocking thread, turns each into an item with `convert`
/// and sends them to `sender` in batches, after the `prelude`'s context if there is one.
/// Stops after the first error (sent as the last item, also when the reader panicked) or
/// when the receiver goes away. SQLite walks the unpaged list's index by itself (the
/// query-plan tests), so a page and the unpaged list are read alike.
pub(crate) fn spawn<T, F>(
    pool: SqlitePool,
    prelude: Option<Prelude>,
    statement: ListStatement,
    convert: F,
    sender: mpsc::Sender<Batch<T>>,
) where
    T: Send + 'static,
    F: FnMut(StoredRow) -> StoreResult<T> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let ListStatement { sql, binds, .. } = statement;
        let read = || read(&runtime, &pool, prelude, &sql, &binds, convert, &sender);
        let error = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => crashed(),
        };
        let _ = sender.blocking_send(vec![Err(error)]);
    });
}

fn read<T, F>(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    prelude: Option<Prelude>,
    sql: &str,
    binds: &[Bind],
    mut convert: F,
    sender: &mpsc::Sender<Batch<T>>,
) -> StoreResult<()>
where
    F: FnMut(StoredRow) -> StoreResult<T>,
{
    let mut conn = match runtime.block_on(pool.acquire()) {
        Ok(conn) => conn,
        Err(e) => return failed_early(prelude, e.into()),
    };
    let mut handle = match runtime.block_on(conn.lock_handle()) {
        Ok(handle) => handle,
        Err(e) => return failed_early(prelude, e.into()),
    };
    if let Some(prelude) = prelude {
        // SAFETY: `handle` stays locked for the call, and the context's statement is
        // finalized within it.
        let context = unsafe { read_context(handle.as_raw_handle(), &prelude.sql) };
        if !prelude.answer(context) {
            return Ok(());
        }
    }
    let started = std::time::Instant::now();
    // SAFETY: the handle stays locked out of its worker while the statement lives: the
    // statement is declared after the lock, so it is finalized before the lock is dropped.
    let mut statement = unsafe { Statement::prepare(handle.as_raw_handle(), sql)? };
    for (index, value) in binds.iter().enumerate() {
        statement.bind(index + 1, value)?;
    }
    let mut rows = 0usize;
    let mut batch = Vec::with_capacity(FIRST_BATCH);
    let mut limit = FIRST_BATCH;
    let outcome = loop {
        match statement.step() {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
        rows += 1;
        let failed = push(&mut batch, statement.row::<StoredRow>(), &mut convert);
        if failed || batch.len() == limit {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            // The receiver is gone (the client disconnected): stop reading.
            if sender.blocking_send(full).is_err() || failed {
                break Ok(());
            }
            limit = BATCH;
        }
    };
    drop(statement);
    log_statement(sql, rows, started);
    outcome?;
    if !batch.is_empty() {
        let _ = sender.blocking_send(batch);
    }
    Ok(())
}

/// The context statement's rows, read on the locked handle `db`.
///
/// # Safety
/// `db` must stay locked out of its worker for the call.
unsafe fn read_context(db: NonNull<ffi::sqlite3>, sql: &str) -> StoreResult<ReadContext> {
    let started = std::time::Instant::now();
    let mut statement = Statement::prepare(db, sql)?;
    let mut rows = Vec::new();
    while statement.step()? {
        rows.push(statement.row::<ContextRow>()?);
    }
    drop(statement);
    log_statement(sql, rows.len(), started);
    ReadContext::from_rows(rows)
}

/// Logged as sqlx logs its own statements (the statement-count and query-plan tests read
/// both).
fn log_statement(sql: &str, rows_returned: usize, started: std::time::Instant) {
    let elapsed_secs = started.elapsed().as_secs_f64();
    tracing::debug!(
        target: crate::STATEMENT_LOG,
        { db.statement = sql, rows_returned, elapsed_secs },
        "statement on a locked handle"
    );
}

/// A prepared statement on a locked handle, finalized on drop.
struct Statement {
    raw: NonNull<ffi::sqlite3_stmt>,
    db: NonNull<ffi::sqlite3>,
    /// Columns of each row (fixed once prepared; read once, not per value).
    columns: c_int,
}

/// One value as SQLite holds it.
enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl Statement {
    /// # Safety
    /// `db` must stay locked out of its worker until the statement is dropped.
    unsafe fn prepare(db: NonNull<ffi::sqlite3>, sql: &str) -> StoreResult<Self> {
        let length = c_int::try_from(sql.len()).map_err(|_| crate::codec::corrupt("too long"))?;
        let mut raw = std::ptr::null_mut();
        let code = ffi::sqlite3_prepare_v2(
            db.as_ptr(),
            sql.as_ptr().cast(),
            length,
            &mut raw,
            std::ptr::null_mut(),
        );
        if code != ffi::SQLITE_OK {
            return Err(error(db));
        }
        let raw = NonNull::new(raw)
            .ok_or_else(|| crate::codec::corrupt("a statement on a locked handle is empty"))?;
        Ok(Statement {
            columns: ffi::sqlite3_column_count(raw.as_ptr()),
            raw,
            db,
        })
    }

    fn bind(&mut self, index: usize, value: &Bind) -> StoreResult<()> {
        let index = c_int::try_from(index).map_err(|_| crate::codec::corrupt("too many binds"))?;
        // SAFETY: a live statement; SQLITE_TRANSIENT makes SQLite copy the text.
        let code = unsafe {
            match value {
                Bind::Int(i) => ffi::sqlite3_bind_int64(self.raw.as_ptr(), index, *i),
                Bind::Text(t) => ffi::sqlite3_bind_text(
                    self.raw.as_ptr(),
                    index,
                    t.as_ptr().cast(),
                    c_int::try_from(t.len()).map_err(|_| crate::codec::corrupt("too long"))?,
                    ffi::SQLITE_TRANSIENT(),
                ),
            }
        };
        if code == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error(self.db))
        }
    }

    /// Steps to the next row: `false` when there is none.
    fn step(&mut self) -> StoreResult<bool> {
        // SAFETY: a live statement on a locked handle.
        match unsafe { ffi::sqlite3_step(self.raw.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            _ => Err(error(self.db)),
        }
    }

    /// The current row as an `R`, its fields the columns in order.
    fn row<'s, R: Deserialize<'s>>(&'s self) -> StoreResult<R> {
        let mut columns = Columns {
            statement: self,
            next: 0,
        };
        // Not the deserializer's message: it can quote stored data.
        let unreadable = |_| crate::codec::corrupt("a row read in place is not readable");
        let row = R::deserialize(&mut columns).map_err(unreadable)?;
        if columns.next != self.columns {
            return Err(crate::codec::corrupt(
                "a statement's columns do not match the row it is read as",
            ));
        }
        Ok(row)
    }

    /// Whether column `column` of the current row is NULL (or missing: [`Self::value`] then
    /// says so).
    fn is_null(&self, column: c_int) -> bool {
        // SAFETY: a live statement on a row; SQLite answers NULL for a column out of range.
        unsafe { ffi::sqlite3_column_type(self.raw.as_ptr(), column) == ffi::SQLITE_NULL }
    }

    /// Column `column` of the current row, borrowed until the next step (`&mut self`).
    fn value(&self, column: c_int) -> Result<Value<'_>, DeError> {
        let raw = self.raw.as_ptr();
        // SAFETY: a live statement on a row; the type is read before any conversion, and
        // the text pointer is read before its length, as SQLite's documentation asks.
        unsafe {
            if column >= self.columns {
                return Err(de::Error::custom("fewer columns than fields"));
            }
            match ffi::sqlite3_column_type(raw, column) {
                ffi::SQLITE_NULL => Ok(Value::Null),
                ffi::SQLITE_INTEGER => Ok(Value::Int(ffi::sqlite3_column_int64(raw, column))),
                ffi::SQLITE_TEXT => {
                    let text = ffi::sqlite3_column_text(raw, column);
                    let length = usize::try_from(ffi::sqlite3_column_bytes(raw, column))
                        .map_err(de::Error::custom)?;
                    let bytes = if text.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(text, length)
                    };
                    std::str::from_utf8(bytes)
                        .map(Value::Text)
                        .map_err(de::Error::custom)
                }
                _ => Err(de::Error::custom(
                    "a value of a type no row read in place has",
                )),
            }
        }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: finalized once, while the handle is still locked (see `read`).
        unsafe {
            ffi::sqlite3_finalize(self.raw.as_ptr());
        }
    }
}

/// SQLite's error on `db`, as sqlx reports its own (the extended code as the code, so
/// [`StoreError::is_retryable`] reads it the same way).
fn error(db: NonNull<ffi::sqlite3>) -> StoreError {
    // SAFETY: a live handle; the message is copied before any other call on it.
    let (code, message) = unsafe {
        let code = ffi::sqlite3_extended_errcode(db.as_ptr());
        let message = CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr()))
            .to_string_lossy()
            .into_owned();
        (code, message)
    };
    StoreError::Database(sqlx::Error::Database(Box::new(DirectError {
        code,
        message,
    })))
}

#[derive(Debug, thiserror::Error)]
#[error("(code: {code}) {message}")]
struct DirectError {
    code: c_int,
    message: String,
}

impl DatabaseError for DirectError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// The current row's columns as a serde deserializer: a struct or tuple is its fields'
/// values one column after another, so a row's derived `Deserialize` reads it unchanged.
struct Columns<'s> {
    statement: &'s Statement,
    next: c_int,
}

impl<'s> Columns<'s> {
    fn take(&mut self) -> Result<Value<'s>, DeError> {
        let value = self.statement.value(self.next)?;
        self.next += 1;
        Ok(value)
    }
}

/// The next `left` columns as the elements of a sequence.
struct Elements<'a, 's> {
    columns: &'a mut Columns<'s>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.columns).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::Deserializer<'de> for &mut Columns<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.take()? {
            Value::Null => visitor.visit_unit(),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Text(t) => visitor.visit_borrowed_str(t),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.statement.is_null(self.next) {
            self.next += 1;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(Elements {
            columns: self,
            left: len,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple_struct
        map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    /// `n` evidence-shaped rows of literals (the evidence and maintenance columns in table
    /// order), row `i` with id `conn_i` and `i` records, plus `extra` columns.
    fn rows_sql(n: u32, extra: &str) -> String {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             SELECT 'conn_' || i, 'alpha', 'Alpha', NULL, 'active', 'api', 'pull', 1000, 1000,
                    NULL, '[]', i, NULL, NULL, 0, 0, '[]', '[]', NULL, NULL, NULL, NULL, NULL,
                    NULL, 0, 0,
                    0, NULL, 1, 1, NULL, NULL{extra}
             FROM n ORDER BY i"
        )
    }

    /// Everything the reader sends for `sql`, with `convert`.
    async fn read_all(
        sql: String,
        convert: impl FnMut(StoredRow) -> StoreResult<String> + Send + 'static,
    ) -> Vec<StoreResult<String>> {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let (sender, mut receiver) = mpsc::channel(2);
        spawn(
            pool,
            None,
            ListStatement::plain(sql, false),
            convert,
            sender,
        );
        let mut items = Vec::new();
        while let Some(batch) = receiver.recv().await {
            items.extend(batch);
        }
        items
    }

    /// What a reader with a prelude of `context_sql` answers, and the ids of the rows it
    /// sends after it, on `pool`.
    async fn read_after(
        pool: &SqlitePool,
        context_sql: &str,
        go_on: bool,
        sql: String,
    ) -> (StoreResult<ReadContext>, Vec<StoreResult<String>>) {
        let (prelude, context) = Prelude::fixed(context_sql, go_on);
        let (sender, mut receiver) = mpsc::channel(2);
        spawn(
            pool.clone(),
            Some(prelude),
            ListStatement::plain(sql, true),
            |(cols, _)| Ok(cols.connection_id),
            sender,
        );
        let context = context.await.expect("an answer");
        let mut items = Vec::new();
        while let Some(batch) = receiver.recv().await {
            items.extend(batch);
        }
        (context, items)
    }

    /// The context arrives decoded, then the rows, read on the one connection the reader
    /// took: the pool counts what it hands out, and the prelude creates a temporary table
    /// (one connection's own) that the list reads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prelude_answers_then_its_connection_reads_the_rows() {
        use std::sync::atomic::Ordering;
        let (options, acquired) = super::super::counting_acquires(SqlitePoolOptions::new());
        let pool = options.connect("sqlite::memory:").await.unwrap();
        acquired.store(0, Ordering::SeqCst);
        let context_sql = "SELECT 'dirty', 'conn_2', 'active', NULL, NULL, NULL
                           UNION ALL SELECT 'runtime', 'collector', NULL, NULL, NULL, 5000";
        let (context, items) = read_after(&pool, context_sql, true, rows_sql(3, "")).await;
        assert_eq!(acquired.load(Ordering::SeqCst), 1, "connections taken");
        let context = context.unwrap();
        assert_eq!(context.dirty, [("conn_2".to_owned(), "active".to_owned())]);
        assert_eq!(context.runtime_heartbeat.unwrap().0, "collector");
        let items: Vec<String> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, ["conn_1", "conn_2", "conn_3"]);

        let marked = rows_sql(100, "").replace("FROM n", "FROM n, temp.mark");
        let (context, items) =
            read_after(&pool, "CREATE TEMP TABLE mark AS SELECT 1", true, marked).await;
        assert!(context.unwrap().open_runs.is_empty());
        assert_eq!(items.len(), 100, "{:?}", items.last());
        assert!(items.iter().all(Result::is_ok), "{:?}", items.last());
    }

    /// A prelude that says stop gets its context and no rows, and the connection goes back
    /// to the pool for the caller (a one-connection pool here); one that fails gets the
    /// error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prelude_can_stop_the_reader_or_fail_it() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let context_sql = "SELECT 'dirty', 'conn_2', 'active', NULL, NULL, NULL";
        let (context, items) = read_after(&pool, context_sql, false, rows_sql(600, "")).await;
        assert_eq!(context.unwrap().dirty.len(), 1);
        assert!(items.is_empty(), "{} rows", items.len());
        pool.acquire()
            .await
            .expect("the reader gave its connection back");

        let (context, items) = read_after(&pool, "SELECT nothing", true, rows_sql(3, "")).await;
        assert!(
            matches!(context, Err(StoreError::Database(_))),
            "{context:?}"
        );
        assert!(items.is_empty());
        let (context, _) = read_after(
            &pool,
            "SELECT 'unknown', 'x', NULL, NULL, NULL, NULL",
            true,
            rows_sql(3, ""),
        )
        .await;
        assert!(
            matches!(context, Err(StoreError::Corrupt(_))),
            "{context:?}"
        );
        pool.acquire()
            .await
            .expect("a reader whose context failed gave its connection back");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_read_back_value_by_value_across_batches() {
        let items = read_all(rows_sql(100, ""), |(cols, m)| {
            assert!(cols.display_name.is_none() && cols.revoked_at.is_none() && !m.dirty);
            assert_eq!((m.write_seq, m.folded_seq), (1, 1));
            Ok(format!("{}:{}", cols.connection_id, cols.total_records))
        })
        .await;
        let expected: Vec<String> = (1..=100).map(|i| format!("conn_{i}:{i}")).collect();
        let items: Vec<String> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_of_another_shape_ends_the_stream_with_an_error() {
        let items = read_all(rows_sql(3, ", 'one column too many'"), |(cols, _)| {
            Ok(cols.connection_id)
        })
        .await;
        assert_eq!(items.len(), 1);
        assert!(matches!(items[0], Err(StoreError::Corrupt(_))), "{items:?}");
    }

    /// A panic while reading must not look like the end of the list: the rows sent so far,
    /// then an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_that_panics_ends_the_stream_with_an_error() {
        let items = read_all(rows_sql(100, ""), |(cols, _)| {
            assert!(cols.total_records < 20, "a bug in a conversion");
            Ok(cols.connection_id)
        })
        .await;
        let (last, sent) = items.split_last().unwrap();
        assert_eq!(sent.len(), FIRST_BATCH);
        assert!(sent.iter().all(Result::is_ok));
        assert!(
            matches!(last, Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
            "{last:?}"
        );
    }
}
