//! Evidence rows sent to one set-based statement (the fold's publish, the rebuild's upsert),
//! each row its [`EVIDENCE_COLUMNS`] and then a few integer columns the statement adds.
//!
//! SQLite takes them as one JSON array of arrays (`Dialect::json_array_rows`). Postgres takes
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
    /// No row has been pushed.
    fn is_empty(&self) -> bool;
    /// A sub-select (usable after FROM, aliased by the caller) of the rows bound from
    /// placeholder `param` on, one column per name of `columns` (the evidence columns, under
    /// these names, then the extra ones, all `Int`).
    fn sql(param: usize, columns: &[(&str, ColType)]) -> String;
    /// Binds the rows after the query's other parameters.
    fn bind_to<'q>(
        self,
        query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    ) -> Query<'q, DB, <DB as Database>::Arguments<'q>>;
}

/// SQLite's row set: a JSON array of arrays, each row's values by position.
pub(crate) struct JsonArrayRows(Vec<u8>);

impl EvidenceRowSet<sqlx::Sqlite> for JsonArrayRows {
    fn new(_extra: usize) -> Self {
        JsonArrayRows(b"[".to_vec())
    }

    fn push(&mut self, cols: &EvidenceColumns, extra: &[i64]) {
        let rows = &mut self.0;
        if rows.len() > 1 {
            rows.push(b',');
        }
        crate::json_array::write_values(rows, cols);
        // The row's closing bracket: the extra columns go after the evidence.
        rows.pop();
        for value in extra {
            rows.extend_from_slice(format!(",{value}").as_bytes());
        }
        rows.push(b']');
    }

    fn is_empty(&self) -> bool {
        // Only the opening bracket.
        self.0.len() == 1
    }

    fn sql(param: usize, columns: &[(&str, ColType)]) -> String {
        use crate::dialect::Dialect;
        crate::dialect::Sqlite::json_array_rows(param, columns)
    }

    fn bind_to<'q>(
        mut self,
        query: Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        self.0.push(b']');
        // JSON written from strings and integers is UTF-8.
        query.bind(String::from_utf8(self.0).unwrap_or_default())
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

    fn is_empty(&self) -> bool {
        // Every row has a value in every column, the first included.
        self.text.first().is_none_or(Vec::is_empty)
    }

    fn sql(param: usize, columns: &[(&str, ColType)]) -> String {
        let text_columns = columns
            .iter()
            .filter(|(_, ty)| *ty == ColType::Text)
            .count();
        let (mut next_text, mut next_int) = (param, param + text_columns);
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
    fn postgres_binds_text_arrays_then_integer_arrays_and_zips_them_in_column_order() {
        let columns = [("a", Text), ("b", Int), ("c", Text), ("seq", Int)];
        assert_eq!(
            <ColumnArrays as EvidenceRowSet<sqlx::Postgres>>::sql(2, &columns),
            "(SELECT * FROM UNNEST($2::text[], $4::bigint[], $3::text[], $5::bigint[]) \
             AS rows(a, b, c, seq))"
        );
    }
}
