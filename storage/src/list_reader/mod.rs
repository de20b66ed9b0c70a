//! How the unpaged list's rows reach the stream the caller reads: a reader per backend
//! runs the list statement apart from the caller's task, converts each row, and sends the
//! items over a bounded channel in batches (backpressure beyond that), stopping at the first
//! error (its last item) or when the receiver goes away (the client disconnected).
//!
//! - [`sqlite`]: steps the statement directly on the connection's handle, on a blocking
//!   thread.
//! - [`postgres`]: sqlx's rows as its driver decodes them from the socket.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::error::{StoreError, StoreResult};
use crate::evidence_row::StoredRow;

/// What a reader sends: converted rows, the last one possibly the error that ended it.
pub(crate) type Batch<T> = Vec<StoreResult<T>>;

/// What a reader that panicked ends its stream with: the stream must end in an error, never
/// look complete with rows missing (a panic would otherwise just close the channel).
fn crashed() -> StoreError {
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
