// Shared helpers of one backend: write transactions, the global write sequence, dirty
// marking, and decoding of evidence rows. Compiled once per backend (see backend/mod.rs).

use crate::dirty_parts::DirtyParts;
use crate::evidence_row::{EvidenceColumns, Maintenance, EVIDENCE_COLUMNS, MAINTENANCE_COLUMNS};
use console_domain::Instant;

/// Opens a writing transaction.
pub(crate) async fn begin_write(pool: &Pool) -> StoreResult<sqlx::Transaction<'static, Db>> {
    Ok(pool
        .begin_with(<D as crate::dialect::Dialect>::BEGIN_WRITE)
        .await?)
}

/// Opens a transaction that writes only derived data (a rebuild batch); see
/// [`crate::dialect::Dialect::BEGIN_DERIVED`].
pub(crate) async fn begin_derived(pool: &Pool) -> StoreResult<sqlx::Transaction<'static, Db>> {
    Ok(pool
        .begin_with(<D as crate::dialect::Dialect>::BEGIN_DERIVED)
        .await?)
}

/// Opens a fold's transaction, on `conn` when given (else on one from the pool); see
/// [`crate::dialect::Dialect::BEGIN_FOLD`].
pub(crate) async fn begin_fold(
    pool: &Pool,
    conn: Option<PoolConn>,
) -> StoreResult<sqlx::Transaction<'static, Db>> {
    let begin = <D as crate::dialect::Dialect>::BEGIN_FOLD;
    Ok(match conn {
        Some(conn) => sqlx::Transaction::begin(conn, Some(begin.into())).await?,
        None => pool.begin_with(begin).await?,
    })
}

/// The next value of the global, never-reset write sequence.
pub(crate) async fn next_seq(c: &mut Conn) -> StoreResult<i64> {
    let row = sqlx::query(<D as crate::dialect::Dialect>::NEXT_SEQ)
        .fetch_one(&mut *c)
        .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Which evidence rows a write affects.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Affected<'a> {
    Connection(&'a str),
    /// Every connection of a connector (manifest change).
    Connector(&'a str),
}

/// Marks the affected evidence rows dirty inside the writer's transaction: takes one value of
/// the global sequence and moves each row's `write_seq` strictly up, and records `parts`,
/// the carried-over evidence parts the write may have changed (added to a dirty row's, in
/// place of a clean row's). Creates the row if it is missing (self-healing; it has nothing
/// to carry over, so every part) and refreshes the identity columns that are exact copies
/// of the connection and connector (status, names), so status filters never lag a write.
/// Returns how many rows were marked.
pub(crate) async fn mark_dirty(
    c: &mut Conn,
    affected: Affected<'_>,
    parts: DirtyParts,
    now: Instant,
) -> StoreResult<u64> {
    // Benchmarks price the marking by switching it off (feature `testing` only).
    #[cfg(feature = "testing")]
    if !crate::testing::dirty_marking() {
        return Ok(0);
    }
    let seq = next_seq(c).await?;
    let (filter, id) = match affected {
        Affected::Connection(id) => ("c.connection_id = $3", id),
        Affected::Connector(id) => ("c.connector_id = $3", id),
    };
    let sql = format!(
        "INSERT INTO connector_summary_evidence AS e (
            connection_id, connector_id, connector_display_name, display_name, status,
            source_kind, recommended_mode, created_at, updated_at, revoked_at,
            maximum_staleness_override, needs_rank, stale_sort,
            dirty, dirty_since, write_seq, folded_seq, dirty_parts)
         SELECT c.connection_id, c.connector_id, k.display_name, c.display_name, c.status,
            k.source_kind, k.recommended_mode, c.created_at, c.updated_at, c.revoked_at,
            c.maximum_staleness_seconds, 3, {no_stale},
            TRUE, $1, $2, 0, {all}
         FROM connections c JOIN connectors k ON k.connector_id = c.connector_id
         WHERE {filter}
         ON CONFLICT (connection_id) DO UPDATE SET
            connector_display_name = excluded.connector_display_name,
            display_name = excluded.display_name,
            status = excluded.status,
            source_kind = excluded.source_kind,
            recommended_mode = excluded.recommended_mode,
            updated_at = excluded.updated_at,
            revoked_at = excluded.revoked_at,
            dirty = TRUE,
            dirty_parts = CASE WHEN e.dirty THEN e.dirty_parts | $4 ELSE $4 END,
            dirty_since = COALESCE(e.dirty_since, excluded.dirty_since),
            write_seq = CASE WHEN excluded.write_seq > e.write_seq
                             THEN excluded.write_seq ELSE e.write_seq + 1 END",
        no_stale = crate::evidence_row::NO_STALE_AT,
        all = DirtyParts::ALL.bits(),
    );
    let done = sqlx::query(&sql)
        .bind(ms(now))
        .bind(seq)
        .bind(id)
        .bind(parts.bits())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

/// Locks the connection row for this writer (Postgres; SQLite already has one writer) and
/// returns its connector id, or `NotFound`.
pub(crate) async fn lock_connection(c: &mut Conn, connection_id: &str) -> StoreResult<String> {
    let sql = format!(
        "SELECT connector_id FROM connections WHERE connection_id = $1{}",
        <D as crate::dialect::Dialect>::LOCK_FOR_WRITE
    );
    let row = sqlx::query(&sql)
        .bind(connection_id)
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some(row) => Ok(row.try_get("connector_id")?),
        None => Err(StoreError::not_found("connection", connection_id)),
    }
}

/// `e.col, e.col, ...` for every evidence and maintenance column.
pub(crate) fn evidence_select_list(alias: &str) -> String {
    EVIDENCE_COLUMNS
        .iter()
        .chain(MAINTENANCE_COLUMNS)
        .map(|(name, _)| format!("{alias}.{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn decode_columns(row: &DbRow) -> Result<EvidenceColumns, sqlx::Error> {
    Ok(EvidenceColumns {
        connection_id: row.try_get("connection_id")?,
        connector_id: row.try_get("connector_id")?,
        connector_display_name: row.try_get("connector_display_name")?,
        display_name: row.try_get("display_name")?,
        status: row.try_get("status")?,
        source_kind: row.try_get("source_kind")?,
        recommended_mode: row.try_get("recommended_mode")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        revoked_at: row.try_get("revoked_at")?,
        streams: row.try_get("streams")?,
        total_records: row.try_get("total_records")?,
        last_run: row.try_get("last_run")?,
        last_successful_run: row.try_get("last_successful_run")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
        consecutive_connector_errors: row.try_get("consecutive_connector_errors")?,
        open_attention: row.try_get("open_attention")?,
        unrecovered_gaps: row.try_get("unrecovered_gaps")?,
        schedule: row.try_get("schedule")?,
        maximum_staleness_override: row.try_get("maximum_staleness_override")?,
        manifest_staleness_seconds: row.try_get("manifest_staleness_seconds")?,
        window_seconds: row.try_get("window_seconds")?,
        window_source: row.try_get("window_source")?,
        stale_at: row.try_get("stale_at")?,
        needs_rank: row.try_get("needs_rank")?,
        stale_sort: row.try_get("stale_sort")?,
    })
}

pub(crate) fn decode_maintenance(row: &DbRow) -> Result<Maintenance, sqlx::Error> {
    Ok(Maintenance {
        dirty: row.try_get("dirty")?,
        dirty_since: row.try_get("dirty_since")?,
        write_seq: row.try_get("write_seq")?,
        folded_seq: row.try_get("folded_seq")?,
        computed_at: row.try_get("computed_at")?,
        error: row.try_get("error")?,
    })
}
