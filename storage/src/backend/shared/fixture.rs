// Benchmark fixtures (feature `testing`): one chunk of generated source rows written in one
// transaction, each table as multi-row INSERTs from a bound JSON array.

use crate::evidence_row::ColType;
use crate::testing::fleet::{self, Chunk};
use serde_json::Value;

/// Rows per statement: bounds the size of one bound JSON text.
const ROWS_PER_STATEMENT: usize = 20_000;

async fn insert(
    c: &mut Conn,
    table: &str,
    fields: &[(&str, ColType)],
    rows: Vec<Value>,
) -> StoreResult<()> {
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let select: Vec<String> = names.iter().map(|n| format!("j.{n}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM {} AS j",
        names.join(", "),
        select.join(", "),
        D::json_rows(1, fields)
    );
    for part in rows.chunks(ROWS_PER_STATEMENT) {
        let payload = serde_json::to_string(part).map_err(|e| corrupt(e.to_string()))?;
        sqlx::query(&sql).bind(payload).execute(&mut *c).await?;
    }
    Ok(())
}

pub(crate) async fn write_chunk(pool: &Pool, chunk: Chunk) -> StoreResult<()> {
    let mut tx = super::common::begin_write(pool).await?;
    insert(
        &mut tx,
        "connections",
        fleet::CONNECTION_FIELDS,
        chunk.connections,
    )
    .await?;
    insert(
        &mut tx,
        "schedules",
        fleet::SCHEDULE_FIELDS,
        chunk.schedules,
    )
    .await?;
    insert(&mut tx, "runs", fleet::RUN_FIELDS, chunk.runs).await?;
    insert(&mut tx, "run_gaps", fleet::GAP_FIELDS, chunk.gaps).await?;
    insert(&mut tx, "run_events", fleet::EVENT_FIELDS, chunk.events).await?;
    insert(
        &mut tx,
        "attention",
        fleet::ATTENTION_FIELDS,
        chunk.attention,
    )
    .await?;
    insert(&mut tx, "records", fleet::RECORD_FIELDS, chunk.records).await?;
    tx.commit().await?;
    Ok(())
}
