//! How the unpaged list's rows reach the stream the caller reads: a reader per backend
//! runs the list statement apart from the caller's task, converts each row, and sends the
//! items over a bounded channel in batches (backpressure beyond that), stopping at the first
//! error (its last item) or when the receiver goes away (the client disconnected).
//!
//! - [`sqlite`]: steps the statement directly on the connection's handle, on a blocking
//!   thread.
//! - [`postgres`]: sqlx's rows as its driver decodes them from the socket.
//!
//! A reader can first read the list's context on the same connection (a [`Prelude`]), so
//! the full list takes one connection, not one for the context and another for the rows.
//! It reads one [`ListStatement`]: a page's, or the unpaged list's.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::codec::Bind;
use crate::error::{StoreError, StoreResult};
use crate::evidence_row::StoredRow;
use crate::read_context::ReadContext;
use tokio::sync::oneshot;

/// What a reader sends: converted rows, the last one possibly the error that ended it.
pub(crate) type Batch<T> = Vec<StoreResult<T>>;

/// The statement a reader runs for the rows, and its binds.
pub(crate) struct ListStatement {
    pub sql: String,
    pub binds: Vec<Bind>,
    /// Every row the query matches, no `LIMIT`: the list must walk its order's index, so
    /// its first rows leave before the last are read. SQLite's planner walks it at every
    /// size; Postgres's sorts a small fleet's rows instead, so its reader turns sorting off
    /// for this statement (see [`postgres`]).
    pub unpaged: bool,
}

/// The context statement a reader runs on its connection before the list statement: it
/// sends the decoded context to `reply`, then goes on to the list only if `go_on` says so
/// (it returns the connection to the pool otherwise, so the caller can use it, even on a
/// one-connection pool). An error in the context goes to `reply` and ends the reader.
pub(crate) struct Prelude {
    pub sql: String,
    pub reply: oneshot::Sender<StoreResult<ReadContext>>,
    pub go_on: Box<dyn FnOnce(&ReadContext) -> bool + Send>,
}

impl Prelude {
    /// Sends the context's outcome; whether the reader reads the list next.
    fn answer(self, context: StoreResult<ReadContext>) -> bool {
        let go_on = context.as_ref().is_ok_and(self.go_on);
        // The caller went away: nobody reads the list either.
        self.reply.send(context).is_ok() && go_on
    }
}

#[cfg(test)]
impl ListStatement {
    /// `sql` without binds.
    pub(crate) fn plain(sql: String, unpaged: bool) -> Self {
        ListStatement {
            sql,
            binds: Vec::new(),
            unpaged,
        }
    }
}

#[cfg(test)]
impl Prelude {
    /// A prelude of `sql` that always goes on (or never), and where its context arrives.
    pub(crate) fn fixed(
        sql: &str,
        go_on: bool,
    ) -> (Self, oneshot::Receiver<StoreResult<ReadContext>>) {
        let (reply, context) = oneshot::channel();
        let prelude = Prelude {
            sql: sql.to_owned(),
            reply,
            go_on: Box::new(move |_| go_on),
        };
        (prelude, context)
    }
}

/// Pool options that count every connection the pool hands out (opened or reused), so a
/// test can tell how many connections a reader took.
#[cfg(test)]
pub(crate) fn counting_acquires<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> (
    sqlx::pool::PoolOptions<DB>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let (opened, reused) = (count.clone(), count.clone());
    let options = options
        .after_connect(move |_, _| {
            opened.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        })
        .before_acquire(move |_, _| {
            reused.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(true) })
        });
    (options, count)
}

/// Where an error before the context goes: to the prelude's caller, who waits for the
/// context, or as the stream's last item when there is no prelude.
fn failed_early(prelude: Option<Prelude>, error: StoreError) -> StoreResult<()> {
    match prelude {
        Some(prelude) => {
            prelude.answer(Err(error));
            Ok(())
        }
        None => Err(error),
    }
}

/// What a reader that panicked ends its stream with: the stream must end in an error, never
/// look complete with rows missing (a panic would otherwise just close the channel).
pub(crate) fn crashed() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

/// Converts `row` into the batch; `true` when it is an error (the reader's last item).
fn push<T>(
    batch: &mut Batch<T>,
    row: StoreResult<StoredRow>,
    convert: &mut impl FnMut(StoredRow) -> StoreResult<T>,
) -> bool {
    let item = row.and_then(convert);
    let failed = item.is_err();
    batch.push(item);
    failed
}
