// Records: all-or-nothing batch ingest and soft delete, with the per-(connection, stream)
// counts kept as an exact delta in the same transaction. A no-op changes nothing.

use super::common::{begin_write, lock_connection, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use crate::dialect::Dialect;
use crate::evidence_row::ColType;
use crate::types::{IngestCounts, RecordDeletion, RecordInput};
use console_domain::model::ConnectorManifest;
use console_domain::Instant;
use std::collections::{BTreeMap, HashMap, HashSet};

const KEY_FIELDS: &[(&str, ColType)] = &[("stream", ColType::Text), ("record_key", ColType::Text)];

const RECORD_FIELDS: &[(&str, ColType)] = &[
    ("stream", ColType::Text),
    ("record_key", ColType::Text),
    ("data", ColType::Text),
    ("content_hash", ColType::Text),
    ("emitted_at", ColType::Int),
];

const STAT_FIELDS: &[(&str, ColType)] = &[("stream", ColType::Text), ("delta", ColType::Int)];

/// Refuses the whole batch before anything is written.
fn validate(records: &[RecordInput], manifest: &ConnectorManifest) -> StoreResult<()> {
    let mut seen = HashSet::new();
    for (i, record) in records.iter().enumerate() {
        if !manifest.streams.iter().any(|s| s.name == record.stream) {
            return Err(invalid(
                "unknown_stream",
                format!("record {i}: the connector has no such stream"),
                "stream",
            ));
        }
        if record.record_key.is_empty() {
            return Err(invalid(
                "invalid_record_key",
                format!("record {i}: record_key must not be empty"),
                "record_key",
            ));
        }
        if !seen.insert((record.stream.as_str(), record.record_key.as_str())) {
            return Err(invalid(
                "duplicate_record_key",
                format!("record {i}: the batch already holds this stream and record_key"),
                "record_key",
            ));
        }
    }
    Ok(())
}

async fn manifest_of(c: &mut Conn, connector_id: &str) -> StoreResult<ConnectorManifest> {
    let text: String = sqlx::query("SELECT manifest FROM connectors WHERE connector_id = $1")
        .bind(connector_id)
        .fetch_one(&mut *c)
        .await?
        .try_get("manifest")?;
    serde_json::from_str(&text).map_err(|_| corrupt("stored connector manifest is not readable"))
}

/// Applies a per-stream count delta and moves `last_updated_at` forward.
async fn apply_stat_deltas(
    c: &mut Conn,
    connection_id: &str,
    deltas: &BTreeMap<&str, i64>,
    now: Instant,
) -> StoreResult<()> {
    let payload: Vec<serde_json::Value> = deltas
        .iter()
        .map(|(stream, delta)| serde_json::json!({"stream": stream, "delta": delta}))
        .collect();
    let sql = format!(
        "INSERT INTO record_stats (connection_id, stream, record_count, last_updated_at)
         SELECT $1, j.stream, j.delta, $2 FROM {} AS j WHERE TRUE
         ON CONFLICT (connection_id, stream) DO UPDATE SET
            record_count = record_stats.record_count + excluded.record_count,
            last_updated_at = CASE
                WHEN record_stats.last_updated_at IS NULL
                  OR excluded.last_updated_at > record_stats.last_updated_at
                THEN excluded.last_updated_at ELSE record_stats.last_updated_at END",
        D::json_rows(3, STAT_FIELDS)
    );
    sqlx::query(&sql)
        .bind(connection_id)
        .bind(ms(now))
        .bind(serde_json::Value::Array(payload).to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(crate) async fn ingest(
    pool: &Pool,
    connection_id: &str,
    records: &[RecordInput],
    now: Instant,
) -> StoreResult<IngestCounts> {
    let mut tx = begin_write(pool).await?;
    let connector_id = lock_connection(&mut tx, connection_id).await?;
    let manifest = manifest_of(&mut tx, &connector_id).await?;
    validate(records, &manifest)?;
    if records.is_empty() {
        tx.commit().await?;
        return Ok(IngestCounts::default());
    }

    // What is stored under these keys now (one statement for the batch).
    // Row sets are JSON arrays of arrays, values in the order of their field lists: SQLite
    // then reads each field by position instead of searching the row's keys for it.
    let keys: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::json!([r.stream, r.record_key]))
        .collect();
    // Driven from the batch: one primary-key probe per key. Joined the other way round,
    // SQLite walked every record of the connection for every key of the batch, so ingest
    // slowed down as a connection grew.
    let sql = format!(
        "SELECT r.stream, r.record_key, r.content_hash, r.deleted_at
         FROM {} AS j {} records r
           ON r.connection_id = $1 AND r.stream = j.stream AND r.record_key = j.record_key",
        D::json_array_rows(2, KEY_FIELDS),
        D::JOIN_IN_ORDER,
    );
    let rows = sqlx::query(&sql)
        .bind(connection_id)
        .bind(serde_json::Value::Array(keys).to_string())
        .fetch_all(&mut *tx)
        .await?;
    let mut stored: HashMap<(String, String), (String, bool)> = HashMap::new();
    for row in rows {
        let deleted: Option<i64> = row.try_get("deleted_at")?;
        stored.insert(
            (row.try_get("stream")?, row.try_get("record_key")?),
            (row.try_get("content_hash")?, deleted.is_some()),
        );
    }

    let mut counts = IngestCounts::default();
    let mut deltas: BTreeMap<&str, i64> = BTreeMap::new();
    let mut changed: Vec<serde_json::Value> = Vec::new();
    for record in records {
        let data = canonical_json(&record.data);
        let hash = content_hash(&data);
        let key = (record.stream.clone(), record.record_key.clone());
        match stored.get(&key) {
            Some((old, false)) if *old == hash => {
                counts.unchanged += 1;
                continue;
            }
            Some((_, false)) => {
                counts.updated += 1;
                deltas.entry(record.stream.as_str()).or_insert(0);
            }
            // New, or soft-deleted and now retained again.
            Some((_, true)) | None => {
                counts.inserted += 1;
                *deltas.entry(record.stream.as_str()).or_insert(0) += 1;
            }
        }
        // In `RECORD_FIELDS` order.
        changed.push(serde_json::json!([
            record.stream,
            record.record_key,
            data,
            hash,
            record.emitted_at.map(ms),
        ]));
    }
    if changed.is_empty() {
        // Identical re-ingest: nothing written, nothing dirtied.
        tx.commit().await?;
        return Ok(counts);
    }

    let sql = format!(
        "INSERT INTO records (connection_id, stream, record_key, data, content_hash,
            emitted_at, updated_at, deleted_at)
         SELECT $1, j.stream, j.record_key, j.data, j.content_hash, j.emitted_at, $2, NULL
         FROM {} AS j WHERE TRUE
         ON CONFLICT (connection_id, stream, record_key) DO UPDATE SET
            data = excluded.data, content_hash = excluded.content_hash,
            emitted_at = excluded.emitted_at, updated_at = excluded.updated_at,
            deleted_at = NULL",
        D::json_array_rows(3, RECORD_FIELDS)
    );
    sqlx::query(&sql)
        .bind(connection_id)
        .bind(ms(now))
        .bind(serde_json::Value::Array(changed).to_string())
        .execute(&mut *tx)
        .await?;
    apply_stat_deltas(&mut tx, connection_id, &deltas, now).await?;
    mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::NONE,
        now,
    ).await?;
    tx.commit().await?;
    Ok(counts)
}

/// Soft-deletes retained records; deleting nothing dirties nothing.
pub(crate) async fn delete(
    pool: &Pool,
    connection_id: &str,
    deletion: &RecordDeletion,
    now: Instant,
) -> StoreResult<u64> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    let done = match &deletion.record_keys {
        None => {
            sqlx::query(
                "UPDATE records SET deleted_at = $1, updated_at = $1
                 WHERE connection_id = $2 AND stream = $3 AND deleted_at IS NULL",
            )
            .bind(ms(now))
            .bind(connection_id)
            .bind(&deletion.stream)
            .execute(&mut *tx)
            .await?
        }
        Some(keys) => {
            let sql = format!(
                "UPDATE records SET deleted_at = $1, updated_at = $1
                 WHERE connection_id = $2 AND stream = $3 AND deleted_at IS NULL AND {}",
                D::in_ids("record_key", 4)
            );
            sqlx::query(&sql)
                .bind(ms(now))
                .bind(connection_id)
                .bind(&deletion.stream)
                .bind(D::ids(keys))
                .execute(&mut *tx)
                .await?
        }
    };
    let n = done.rows_affected();
    if n > 0 {
        let mut deltas = BTreeMap::new();
        deltas.insert(deletion.stream.as_str(), -(n as i64));
        apply_stat_deltas(&mut tx, connection_id, &deltas, now).await?;
        mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::NONE,
        now,
    ).await?;
    }
    tx.commit().await?;
    Ok(n)
}
