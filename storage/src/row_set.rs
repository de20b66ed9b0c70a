//! Evidence rows sent to one set-based statement (the fold's publish, the rebuild's upsert),
//! each row its [`EVIDENCE_COLUMNS`] and then a few integer columns the statement adds.
//!
//! SQLite takes them as a `VALUES` list of bound parameters. Postgres takes
//! one typed array per column, zipped back into rows by `UNNEST`: as JSON, a fold of 250
//! rows sent ~230 KB of text that Postgres parsed whole into `jsonb` before reading a field
//! (the nested parts are escaped strings inside it); a `text[]` or `bigint[]` in sqlx's
//! binary format is copied, not parsed. A 250-row publish went from 25.9 ms to 22.9 ms to
//! execute and from 1.9 ms to 0.7 ms to bind (docs/performance.md, twelfth round).

use crate::evidence_row::{ColType, ColValue, EvidenceColumns, EVIDENCE_COLUMNS};
use sqlx::query::Query;
use sqlx::Database;

/// A set of evidence rows for one statement, bound as the last parameters of its query.
pub(crate) trait EvidenceRowSet<DB: Database>: Sized {
    /// An empty set. `extra` counts the integer columns each row carries after its evidence.
    fn new(extra: usize) -> Self;
    /// Appends a row: its evidence, then exactly `extra` integers.
    fn push(&mut self, cols: &EvidenceColumns, extra: &[i64]);
    /// The rows split into the sets one statement each takes (always at least one set, so
    /// an empty set still runs its statement).
    fn into_parts(self) -> Vec<Self>;
    /// A sub-select (usable after FROM, aliased by the caller) of the rows, one column per
    /// name of `columns` (the evidence columns, under these names, then the extra ones, all
    /// `Int`). The rows are the statement's only parameters: on SQLite they are numbered
    /// by position (see [`ValuesRows`]).
    fn sql(&self, columns: &[(&str, ColType)]) -> String;
    /// Binds the rows (the statement's only parameters).
    fn bind_to<'q>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    ) -> Query<'q, DB, <DB as Database>::Arguments<'q>>;
}

/// Rows per statement on SQLite: 500 rows of 28 values (26 evidence columns, two integers)
/// bind 14,000 parameters, under SQLite's limit of 32,766 per statement. A sweep's fold
/// takes at most 500 rows and a page holds at most 500, so only a larger rebuild batch or
/// the full list's fold of more dirty rows than that takes more than one statement.
const SQLITE_ROWS_PER_STATEMENT: usize = 500;

/// Largest SQLite row set whose statement holds exactly its rows. A larger set is padded
/// with rows of NULLs (which the statement leaves out) up to the next power of two, at most
/// [`SQLITE_ROWS_PER_STATEMENT`]: a few statement texts, so every one stays prepared in the
/// connection's statement cache. Preparing a 500-row statement each time was 14% of a
/// sweep's instructions (docs/performance.md, thirty-third round).
const SQLITE_EXACT_ROWS: usize = 4;

/// The number of row tuples in the statement text for a set of `rows` rows.
fn sqlite_slots(rows: usize) -> usize {
    if rows <= SQLITE_EXACT_ROWS {
        rows
    } else {
        rows.next_power_of_two().min(SQLITE_ROWS_PER_STATEMENT)
    }
}

/// One bound value of a SQLite row.
enum Bound {
    Text(Option<String>),
    Int(Option<i64>),
}

/// SQLite's row set: a `VALUES` list of bound parameters, one tuple per row. SQLite reads
/// them as they are; the JSON array of arrays this replaced was escaped here, then parsed,
/// walked to each field and unescaped again by SQLite: ~40% of a fold's instructions
/// (docs/performance.md, fourteenth round).
pub(crate) struct ValuesRows {
    rows: Vec<Vec<Bound>>,
}

impl EvidenceRowSet<sqlx::Sqlite> for ValuesRows {
    fn new(_extra: usize) -> Self {
        ValuesRows { rows: Vec::new() }
    }

    fn push(&mut self, cols: &EvidenceColumns, extra: &[i64]) {
        let row = cols
            .values()
            .into_iter()
            .map(|value| match value {
                ColValue::Text(v) => Bound::Text(v.map(str::to_owned)),
                ColValue::Int(v) => Bound::Int(v),
            })
            .chain(extra.iter().map(|v| Bound::Int(Some(*v))))
            .collect();
        self.rows.push(row);
    }

    fn into_parts(self) -> Vec<Self> {
        if self.rows.len() <= SQLITE_ROWS_PER_STATEMENT {
            return vec![self];
        }
        let mut rows = self.rows.into_iter().peekable();
        let mut parts = Vec::new();
        while rows.peek().is_some() {
            parts.push(ValuesRows {
                rows: rows.by_ref().take(SQLITE_ROWS_PER_STATEMENT).collect(),
            });
        }
        parts
    }

    fn sql(&self, columns: &[(&str, ColType)]) -> String {
        if self.rows.is_empty() {
            // No rows, but the same columns: the statement still runs and changes nothing.
            let names: Vec<String> = columns
                .iter()
                .map(|(name, _)| format!("NULL AS {name}"))
                .collect();
            return format!("(SELECT {} WHERE FALSE)", names.join(", "));
        }
        let names: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("column{} AS {name}", i + 1))
            .collect();
        // Anonymous `?`, numbered by position, and no other parameter in the statement:
        // sqlx asks SQLite the name of every parameter it binds, and SQLite looks a number
        // up among every named or numbered parameter of the statement, which over 13,500
        // of them was quadratic (`sqlite3_bind_parameter_name`: 1,276 M instructions to
        // publish 1,000 rows, where the whole fold had taken 275 M). With no named
        // parameter the look-up is immediate.
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        let tuples = vec![row; sqlite_slots(self.rows.len())];
        // The first column is the row's key, never NULL but in a padding row.
        format!(
            "(SELECT {} FROM (VALUES {}) WHERE column1 IS NOT NULL)",
            names.join(", "),
            tuples.join(", ")
        )
    }

    fn bind_to<'q>(
        self,
        query: Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        // Every text is one of a few (see [`SQLITE_EXACT_ROWS`]), so it stays prepared.
        let padding = self.rows.first().map_or(0, |row| {
            row.len() * (sqlite_slots(self.rows.len()) - self.rows.len())
        });
        let query = self
            .rows
            .into_iter()
            .flatten()
            .fold(query.persistent(true), |q, value| match value {
                Bound::Text(v) => q.bind(v),
                Bound::Int(v) => q.bind(v),
            });
        (0..padding).fold(query, |q, _| q.bind(None::<i64>))
    }
}

/// Postgres's row set: the text columns' arrays, then the integer columns' arrays (the
/// evidence's, then the extra ones), each in column order.
pub(crate) struct ColumnArrays {
    text: Vec<Vec<Option<String>>>,
    int: Vec<Vec<Option<i64>>>,
}

/// How many evidence columns hold text and how many integers.
fn evidence_kinds() -> (usize, usize) {
    let text = EVIDENCE_COLUMNS
        .iter()
        .filter(|(_, ty)| *ty == ColType::Text)
        .count();
    (text, EVIDENCE_COLUMNS.len() - text)
}

impl EvidenceRowSet<sqlx::Postgres> for ColumnArrays {
    fn new(extra: usize) -> Self {
        let (text, int) = evidence_kinds();
        ColumnArrays {
            text: vec![Vec::new(); text],
            int: vec![Vec::new(); int + extra],
        }
    }

    fn push(&mut self, cols: &EvidenceColumns, extra: &[i64]) {
        let (mut text, mut int) = (self.text.iter_mut(), self.int.iter_mut());
        // The k-th text value of a row is always its k-th text column (and so for
        // integers): a column's type does not change from row to row.
        for value in cols.values() {
            match (value, &mut text, &mut int) {
                (ColValue::Text(v), columns, _) => {
                    if let Some(column) = columns.next() {
                        column.push(v.map(str::to_owned));
                    }
                }
                (ColValue::Int(v), _, columns) => {
                    if let Some(column) = columns.next() {
                        column.push(v);
                    }
                }
            }
        }
        for (column, value) in int.zip(extra) {
            column.push(Some(*value));
        }
    }

    fn into_parts(self) -> Vec<Self> {
        // `UNNEST` of typed arrays takes any number of rows.
        vec![self]
    }

    fn sql(&self, columns: &[(&str, ColType)]) -> String {
        let text_columns = columns
            .iter()
            .filter(|(_, ty)| *ty == ColType::Text)
            .count();
        let (mut next_text, mut next_int) = (1, 1 + text_columns);
        let arrays: Vec<String> = columns
            .iter()
            .map(|(_, ty)| {
                let next = if *ty == ColType::Text {
                    &mut next_text
                } else {
                    &mut next_int
                };
                *next += 1;
                let sql_type = if *ty == ColType::Text {
                    "text"
                } else {
                    "bigint"
                };
                format!("${}::{sql_type}[]", *next - 1)
            })
            .collect();
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        format!(
            "(SELECT * FROM UNNEST({}) AS rows({}))",
            arrays.join(", "),
            names.join(", ")
        )
    }

    fn bind_to<'q>(
        self,
        query: Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let query = self
            .text
            .into_iter()
            .fold(query, |q, column| q.bind(column));
        self.int.into_iter().fold(query, |q, column| q.bind(column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColType::{Int, Text};

    #[test]
    fn sqlite_binds_each_rows_values_in_column_order_and_splits_at_its_limit() {
        let columns: Vec<(&str, ColType)> = EVIDENCE_COLUMNS
            .iter()
            .copied()
            .chain([("seq", Int)])
            .collect();
        let width = columns.len();
        let mut rows = <ValuesRows as EvidenceRowSet<sqlx::Sqlite>>::new(1);
        let empty = rows.sql(&columns);
        assert!(empty.ends_with("NULL AS seq WHERE FALSE)"), "{empty}");
        let cols = crate::evidence_row::tests::stored_row("[]");
        for seq in 0..1_001 {
            rows.push(&cols, &[seq]);
        }
        let parts = rows.into_parts();
        let sizes: Vec<usize> = parts.iter().map(|p| p.rows.len()).collect();
        assert_eq!(sizes, [500, 500, 1]);
        let sql = parts[2].sql(&columns);
        assert!(
            sql.starts_with("(SELECT column1 AS connection_id, column2 AS connector_id,"),
            "{sql}"
        );
        let row = format!("({})", vec!["?"; width].join(", "));
        assert!(
            sql.ends_with(&format!(
                "AS seq FROM (VALUES {row}) WHERE column1 IS NOT NULL)"
            )),
            "{sql}"
        );
        assert_eq!(parts[0].sql(&columns).matches('?').count(), 500 * width);
    }

    #[test]
    fn sqlite_pads_sets_to_a_few_sizes_that_all_stay_prepared() {
        let cols = crate::evidence_row::tests::stored_row("[]");
        let width = EVIDENCE_COLUMNS.len() + 1;
        let columns: Vec<(&str, ColType)> = EVIDENCE_COLUMNS
            .iter()
            .copied()
            .chain([("seq", Int)])
            .collect();
        let mut texts = std::collections::HashSet::new();
        for rows in 0..=SQLITE_ROWS_PER_STATEMENT {
            let mut set = <ValuesRows as EvidenceRowSet<sqlx::Sqlite>>::new(1);
            for seq in 0..rows {
                set.push(&cols, &[seq as i64]);
            }
            let sql = set.sql(&columns);
            let slots = sql.matches('?').count();
            // Exact up to four rows; above, the next power of two, at most 500 rows.
            let expected = match rows {
                0..=4 => rows,
                5..=8 => 8,
                129..=256 => 256,
                257.. => 500,
                _ => rows.next_power_of_two(),
            };
            assert_eq!(slots, expected * width, "{rows} rows");
            texts.insert(sql);
            let query = set.bind_to(sqlx::query("SELECT 1"));
            // The trait's reader, not `Query`'s own builder of the same name.
            assert!(sqlx::Execute::persistent(&query), "{rows} rows");
            let mut query = query;
            let bound = sqlx::Execute::take_arguments(&mut query)
                .unwrap()
                .map_or(0, |arguments| sqlx::Arguments::len(&arguments));
            // Every slot is bound: the rows' values, then NULLs.
            assert_eq!(bound, slots, "{rows} rows");
        }
        // 0 to 4 rows, then 8, 16, 32, 64, 128, 256 and 500: the statement cache holds
        // them all (sqlx keeps 100 per connection).
        assert_eq!(texts.len(), 12);
    }

    #[test]
    fn postgres_binds_text_arrays_then_integer_arrays_and_zips_them_in_column_order() {
        let columns = [("a", Text), ("b", Int), ("c", Text), ("seq", Int)];
        assert_eq!(
            <ColumnArrays as EvidenceRowSet<sqlx::Postgres>>::new(1).sql(&columns),
            "(SELECT * FROM UNNEST($1::text[], $3::bigint[], $2::text[], $4::bigint[]) \
             AS rows(a, b, c, seq))"
        );
    }
}
