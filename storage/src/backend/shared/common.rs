// Shared helpers of one backend: write transactions, the global write sequence, dirty
// marking, and decoding of evidence rows. Compiled once per backend (see backend/mod.rs).

use crate::built_once::BuiltOnce;
use crate::dirty_parts::DirtyParts;
use crate::evidence_row::{EvidenceColumns, Maintenance, EVIDENCE_COLUMNS, MAINTENANCE_COLUMNS};
use console_domain::Instant;
use std::sync::LazyLock;

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
    static TEXTS: BuiltOnce<String, 2> = BuiltOnce::new();
    let seq = next_seq(c).await?;
    let (kind, key, id) = match affected {
        Affected::Connection(id) => (0, "c.connection_id", id),
        Affected::Connector(id) => (1, "c.connector_id", id),
    };
    let sql = TEXTS.get(kind, || mark_dirty_sql(key));
    let done = sqlx::query(sql)
        .bind(ms(now))
        .bind(seq)
        .bind(id)
        .bind(parts.bits())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

/// [`mark_dirty`]'s statement for the rows whose `key` is the third parameter; built once
/// per key.
fn mark_dirty_sql(key: &str) -> String {
    format!(
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
         WHERE {key} = $3
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
    )
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

/// `e.col, e.col, ...` for every evidence and maintenance column of the evidence row `e`,
/// built once: the page and list statements each needed it, 32 formatted names a request.
pub(crate) fn evidence_select_list() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| {
        EVIDENCE_COLUMNS
            .iter()
            .chain(MAINTENANCE_COLUMNS)
            .map(|(name, _)| format!("e.{name}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    &LIST
}

/// What one statement's earlier rows showed about its evidence (or maintenance) columns:
/// where the run starts, once a row had every column of it in place and of a type its field
/// accepts. Where a statement's column types hold for all its rows (Postgres, see
/// [`crate::dialect::Dialect::COLUMN_TYPES_PER_STATEMENT`]), later rows are then read by
/// position without sqlx's type check of every value (its type comparisons were about 5% of
/// a full list's instructions). One per statement: never carried over to another's rows.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    start: Option<usize>,
}

/// Reads a row's columns in the order a statement usually selects them (table order, as
/// [`evidence_select_list`] writes it): the first is found by name, each next one by
/// position when it has the name expected there, by name otherwise (a statement of another
/// shape still decodes). sqlx finds a column by name through a hash map, and the streamed
/// list decodes 32 named columns of every row.
struct InOrder<'r> {
    row: &'r DbRow,
    start: usize,
    next: usize,
    /// An earlier row of the statement verified the run: read by position, unchecked.
    verified: bool,
    /// So far every column was in place and its declared type accepted.
    in_place: bool,
}

impl<'r> InOrder<'r> {
    fn starting_at(row: &'r DbRow, first: &str, known: &Verified) -> Result<Self, sqlx::Error> {
        use sqlx::Column as _;
        let (start, verified) = match known.start {
            Some(start) => (start, true),
            None => (row.try_column(first)?.ordinal(), false),
        };
        Ok(Self {
            row,
            start,
            next: start,
            verified,
            in_place: true,
        })
    }

    fn get<T>(&mut self, name: &str) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
    {
        use sqlx::Column as _;
        let at = self.next;
        self.next += 1;
        if self.verified {
            return self.row.try_get_unchecked(at);
        }
        match self.row.columns().get(at) {
            Some(column) if column.name() == name => {
                // The column's declared type, not the value's: sqlx does not check the type
                // of a NULL value, and a later row's value may not be NULL.
                self.in_place &= T::compatible(column.type_info());
                self.row.try_get(at)
            }
            _ => {
                self.in_place = false;
                self.row.try_get(name)
            }
        }
    }

    /// Records what this row showed, once it decoded in full.
    fn finish(self, known: &mut Verified) {
        if <D as crate::dialect::Dialect>::COLUMN_TYPES_PER_STATEMENT && self.in_place {
            known.start = Some(self.start);
        }
    }
}

/// One row's evidence columns; `known` is what the statement's earlier rows showed.
pub(crate) fn decode_columns(
    row: &DbRow,
    known: &mut Verified,
) -> Result<EvidenceColumns, sqlx::Error> {
    let mut row = InOrder::starting_at(row, "connection_id", known)?;
    let columns = EvidenceColumns {
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
    };
    row.finish(known);
    Ok(columns)
}

/// One row's maintenance columns; `known` as for [`decode_columns`].
pub(crate) fn decode_maintenance(
    row: &DbRow,
    known: &mut Verified,
) -> Result<Maintenance, sqlx::Error> {
    let mut row = InOrder::starting_at(row, "dirty", known)?;
    let maintenance = Maintenance {
        dirty: row.get("dirty")?,
        dirty_since: row.get("dirty_since")?,
        write_seq: row.get("write_seq")?,
        folded_seq: row.get("folded_seq")?,
        computed_at: row.get("computed_at")?,
        error: row.get("error")?,
    };
    row.finish(known);
    Ok(maintenance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence_row::{ColType, StoredRow};

    fn postgres() -> bool {
        <D as crate::dialect::Dialect>::NAME == "postgres"
    }

    async fn pool() -> Pool {
        let url = if postgres() {
            crate::testing::admin_url()
        } else {
            "sqlite::memory:".to_owned()
        };
        Pool::connect(&url).await.expect("a database")
    }

    /// One row of literals per evidence and maintenance column, in `order` (indexes into
    /// the columns in table order), after `before`: text columns hold their name and
    /// `row`, integers their index plus 100 times `row`, `dirty` is true.
    fn literal_row(order: &[usize], before: &str, row: usize) -> String {
        let columns: Vec<_> = EVIDENCE_COLUMNS.iter().chain(MAINTENANCE_COLUMNS).collect();
        let values: Vec<String> = order
            .iter()
            .map(|&i| {
                let (name, ty) = columns[i];
                let number = i + 100 * row;
                let value = match (ty, postgres()) {
                    (ColType::Text, _) => format!("'{name}{row}'"),
                    (ColType::Int, true) => format!("{number}::bigint"),
                    (ColType::Int, false) => number.to_string(),
                    (ColType::Bool, true) => "TRUE".to_owned(),
                    (ColType::Bool, false) => "1".to_owned(),
                };
                format!("{value} AS {name}")
            })
            .collect();
        format!("SELECT {before}{}", values.join(", "))
    }

    /// Three rows of [`literal_row`] in one statement.
    fn literal_rows(order: &[usize], before: &str) -> String {
        (0..3)
            .map(|row| literal_row(order, before, row))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    }

    /// Every row of `sql`, decoded as one statement's rows are, and what they verified.
    async fn decode_all(pool: &Pool, sql: &str) -> (Vec<StoredRow>, Verified) {
        let (mut columns, mut maintenance) = (Verified::default(), Verified::default());
        let rows = sqlx::query(sql).fetch_all(pool).await.expect(sql);
        let decoded = rows
            .iter()
            .map(|row| {
                let cols = decode_columns(row, &mut columns).unwrap();
                (cols, decode_maintenance(row, &mut maintenance).unwrap())
            })
            .collect();
        (decoded, columns)
    }

    /// The columns decode to the same values, row after row, whether a statement selects
    /// them in table order (read by position, later rows unchecked on Postgres) or not
    /// (by name, every row checked): reversed, or after another column.
    #[tokio::test]
    async fn evidence_rows_decode_in_any_column_order() {
        let pool = pool().await;
        let count = EVIDENCE_COLUMNS.len() + MAINTENANCE_COLUMNS.len();
        let in_order: Vec<usize> = (0..count).collect();
        let reversed: Vec<usize> = (0..count).rev().collect();
        let (decoded, verified) = decode_all(&pool, &literal_rows(&in_order, "")).await;
        assert_eq!(verified.start.is_some(), postgres(), "{verified:?}");
        for (row, (cols, maintenance)) in decoded.iter().enumerate() {
            assert_eq!(cols.connection_id, format!("connection_id{row}"));
            assert_eq!(cols.streams, format!("streams{row}"));
            assert_eq!(cols.display_name, Some(format!("display_name{row}")));
            let rank = (cols.needs_rank, cols.stale_sort);
            assert_eq!(rank, (24 + 100 * row as i64, 25 + 100 * row as i64));
            assert!(maintenance.dirty);
            assert_eq!(maintenance.write_seq, 28 + 100 * row as i64);
            assert_eq!(maintenance.error, Some(format!("error{row}")));
        }
        let (reversed, verified) = decode_all(&pool, &literal_rows(&reversed, "")).await;
        assert_eq!(verified.start, None);
        assert_eq!(reversed, decoded, "reversed");
        let after = literal_rows(&in_order, "'other' AS other, ");
        let (after, verified) = decode_all(&pool, &after).await;
        assert_eq!(verified.start.is_some(), postgres());
        assert_eq!(after, decoded, "after another column");
        pool.close().await;
    }

    /// A first row whose value is NULL verifies nothing about its column's type (sqlx
    /// checks no NULL's type): a later row of a column of the wrong type is still an error,
    /// never its bytes read as text.
    #[tokio::test]
    async fn a_null_in_the_first_row_leaves_later_rows_checked() {
        let pool = pool().await;
        let count = EVIDENCE_COLUMNS.len() + MAINTENANCE_COLUMNS.len();
        let in_order: Vec<usize> = (0..count).collect();
        let (null, number) = if postgres() {
            ("NULL::bigint", "5::bigint")
        } else {
            ("NULL", "5")
        };
        let sql = [null, number]
            .iter()
            .enumerate()
            .map(|(row, value)| {
                literal_row(&in_order, "", row)
                    .replace(&format!("'display_name{row}' AS"), &format!("{value} AS"))
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows = sqlx::query(&sql).fetch_all(&pool).await.expect(&sql);
        let mut columns = Verified::default();
        let first = decode_columns(&rows[0], &mut columns).unwrap();
        assert_eq!(first.display_name, None);
        assert_eq!(columns.start, None);
        let second = decode_columns(&rows[1], &mut columns);
        assert!(second.is_err(), "{second:?}");
        pool.close().await;
    }
}
