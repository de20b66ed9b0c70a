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

/// Reads a row's columns in the order a statement usually selects them (table order, as
/// [`evidence_select_list`] writes it): the first is found by name, each next one by
/// position when it has the name expected there, by name otherwise (a statement of another
/// shape still decodes). sqlx finds a column by name through a hash map, and the streamed
/// list decodes 32 named columns of every row.
struct InOrder<'r> {
    row: &'r DbRow,
    next: usize,
}

impl<'r> InOrder<'r> {
    fn starting_at(row: &'r DbRow, first: &str) -> Result<Self, sqlx::Error> {
        use sqlx::Column as _;
        let next = row.try_column(first)?.ordinal();
        Ok(Self { row, next })
    }

    fn get<T>(&mut self, name: &str) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
    {
        use sqlx::Column as _;
        let at = self.next;
        self.next += 1;
        match self.row.columns().get(at) {
            Some(column) if column.name() == name => self.row.try_get(at),
            _ => self.row.try_get(name),
        }
    }
}

pub(crate) fn decode_columns(row: &DbRow) -> Result<EvidenceColumns, sqlx::Error> {
    let mut row = InOrder::starting_at(row, "connection_id")?;
    Ok(EvidenceColumns {
        connection_id: row.get("connection_id")?,
        connector_id: row.get("connector_id")?,
        connector_display_name: row.get("connector_display_name")?,
        display_name: row.get("display_name")?,
        status: row.get("status")?,
        source_kind: row.get("source_kind")?,
        recommended_mode: row.get("recommended_mode")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        revoked_at: row.get("revoked_at")?,
        streams: row.get("streams")?,
        total_records: row.get("total_records")?,
        last_run: row.get("last_run")?,
        last_successful_run: row.get("last_successful_run")?,
        consecutive_failures: row.get("consecutive_failures")?,
        consecutive_connector_errors: row.get("consecutive_connector_errors")?,
        open_attention: row.get("open_attention")?,
        unrecovered_gaps: row.get("unrecovered_gaps")?,
        schedule: row.get("schedule")?,
        maximum_staleness_override: row.get("maximum_staleness_override")?,
        manifest_staleness_seconds: row.get("manifest_staleness_seconds")?,
        window_seconds: row.get("window_seconds")?,
        window_source: row.get("window_source")?,
        stale_at: row.get("stale_at")?,
        needs_rank: row.get("needs_rank")?,
        stale_sort: row.get("stale_sort")?,
    })
}

pub(crate) fn decode_maintenance(row: &DbRow) -> Result<Maintenance, sqlx::Error> {
    let mut row = InOrder::starting_at(row, "dirty")?;
    Ok(Maintenance {
        dirty: row.get("dirty")?,
        dirty_since: row.get("dirty_since")?,
        write_seq: row.get("write_seq")?,
        folded_seq: row.get("folded_seq")?,
        computed_at: row.get("computed_at")?,
        error: row.get("error")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence_row::ColType;

    /// `SELECT` of one literal per evidence and maintenance column, in `order` (indexes
    /// into the columns in table order), after `before`: text columns hold their name,
    /// integers their index, `dirty` is true.
    fn literal_row(order: &[usize], before: &str) -> String {
        let postgres = <D as crate::dialect::Dialect>::NAME == "postgres";
        let columns: Vec<_> = EVIDENCE_COLUMNS.iter().chain(MAINTENANCE_COLUMNS).collect();
        let values: Vec<String> = order
            .iter()
            .map(|&i| {
                let (name, ty) = columns[i];
                let value = match (ty, postgres) {
                    (ColType::Text, _) => format!("'{name}'"),
                    (ColType::Int, true) => format!("{i}::bigint"),
                    (ColType::Int, false) => i.to_string(),
                    (ColType::Bool, true) => "TRUE".to_owned(),
                    (ColType::Bool, false) => "1".to_owned(),
                };
                format!("{value} AS {name}")
            })
            .collect();
        format!("SELECT {before}{}", values.join(", "))
    }

    /// The columns decode to the same values whether a statement selects them in table
    /// order (read by position) or not (by name): reversed, or after another column.
    #[tokio::test]
    async fn evidence_rows_decode_in_any_column_order() {
        let url = match <D as crate::dialect::Dialect>::NAME {
            "postgres" => crate::testing::admin_url(),
            _ => "sqlite::memory:".to_owned(),
        };
        let pool = Pool::connect(&url).await.expect("a database");
        let count = EVIDENCE_COLUMNS.len() + MAINTENANCE_COLUMNS.len();
        let in_order: Vec<usize> = (0..count).collect();
        let reversed: Vec<usize> = (0..count).rev().collect();
        let mut decoded = Vec::new();
        for sql in [
            literal_row(&in_order, ""),
            literal_row(&reversed, ""),
            literal_row(&in_order, "'other' AS other, "),
        ] {
            let row = sqlx::query(&sql).fetch_one(&pool).await.expect(&sql);
            decoded.push((decode_columns(&row).unwrap(), decode_maintenance(&row).unwrap()));
        }
        let (cols, maintenance) = &decoded[0];
        assert_eq!(cols.connection_id, "connection_id");
        assert_eq!(cols.streams, "streams");
        assert_eq!(cols.display_name.as_deref(), Some("display_name"));
        assert_eq!((cols.needs_rank, cols.stale_sort), (24, 25));
        assert!(maintenance.dirty);
        assert_eq!(maintenance.write_seq, 28);
        assert_eq!(maintenance.error.as_deref(), Some("error"));
        assert_eq!(decoded[1], decoded[0], "reversed");
        assert_eq!(decoded[2], decoded[0], "after another column");
        pool.close().await;
    }
}
