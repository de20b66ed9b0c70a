//! The streamed list on Postgres: rows as sqlx's driver decodes them from the socket, on a
//! task of their own, handed over as they arrive (a batch does not wait to fill up, so
//! projection starts on the first rows while Postgres still sends the rest).

use super::{crashed, push, Batch};
use crate::backend::postgres::common::{decode_columns, decode_maintenance};
use crate::codec::Bind;
use crate::error::StoreResult;
use crate::evidence_row::StoredRow;
use futures::{FutureExt as _, StreamExt as _};
use sqlx::PgPool;
use std::panic::AssertUnwindSafe;
use tokio::sync::mpsc;

/// Most rows per batch: enough to amortize the hand-over, few enough that memory stays a
/// few hundred KB.
const BATCH: usize = 64;

/// Reads `sql`'s rows, turns each into an item with `convert` and sends them to `sender`
/// (a panic ends the stream with an error, see `crashed`).
pub(crate) fn spawn<T, F>(
    pool: PgPool,
    sql: String,
    binds: Vec<Bind>,
    mut convert: F,
    sender: mpsc::Sender<Batch<T>>,
) where
    T: Send + 'static,
    F: FnMut(StoredRow) -> StoreResult<T> + Send + 'static,
{
    tokio::spawn(async move {
        let read = read(&pool, &sql, binds, &mut convert, &sender);
        if AssertUnwindSafe(read).catch_unwind().await.is_err() {
            let _ = sender.send(vec![Err(crashed())]).await;
        }
    });
}

async fn read<T>(
    pool: &PgPool,
    sql: &str,
    binds: Vec<Bind>,
    convert: &mut impl FnMut(StoredRow) -> StoreResult<T>,
    sender: &mpsc::Sender<Batch<T>>,
) {
    let mut query = sqlx::query(sql);
    for value in binds {
        query = match value {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch(pool).map(|row| {
        let row = row?;
        Ok((decode_columns(&row)?, decode_maintenance(&row)?))
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
