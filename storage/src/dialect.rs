//! The few places SQLite and Postgres SQL differ. Everything else is one SQL text shared by
//! both backends (sqlx-sqlite accepts `$1`-style placeholders).

use crate::evidence_row::ColType;

pub(crate) trait Dialect {
    /// `sqlite` or `postgres`.
    const NAME: &'static str;
    /// Opens a writing transaction. SQLite takes the write lock up front (no deferred
    /// read-to-write upgrade that busy-waits cannot fix).
    const BEGIN_WRITE: &'static str;
    /// Opens a transaction that writes only derived, rebuildable data (fold, rebuild): on
    /// Postgres it does not wait for the WAL flush at commit. Losing such a commit in a crash
    /// loses nothing: the source writes and their dirty marks were committed durably, so
    /// the rows are simply folded again; WAL order keeps every later durable commit after it.
    /// One round trip either way.
    const BEGIN_DERIVED: &'static str;
    /// Serializes writers of one connection (Postgres row lock that still lets foreign-key
    /// checks through; SQLite has a single writer already).
    const LOCK_FOR_WRITE: &'static str;
    /// Claims rows for a fold without waiting on another folder.
    const LOCK_SKIP_LOCKED: &'static str;
    /// Claims rows, waiting for writers (rebuild).
    const LOCK_WAIT: &'static str;
    /// Takes the next value of the global write sequence; returns one BIGINT column.
    const NEXT_SEQ: &'static str;
    /// An inner join that keeps the written order: SQLite's `CROSS JOIN` (its documented way
    /// to pin the outer loop, needed where it misjudges a JSON row set's size), a plain
    /// `JOIN` on Postgres (whose planner sees the row set's size).
    const JOIN_IN_ORDER: &'static str;

    /// How a set of ids is bound.
    type Ids;
    fn ids(ids: &[String]) -> Self::Ids;
    /// `column` is one of the ids bound at placeholder `param`.
    fn in_ids(column: &str, param: usize) -> String;
    /// A sub-select (usable after FROM, aliased by the caller) of the ids bound at `param`,
    /// one row per id in a column `id`.
    fn id_rows(param: usize) -> String;
    /// A sub-select (usable after FROM, aliased by the caller) of the rows of the JSON array
    /// bound at `param`, one typed column per listed field.
    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String;
}

pub(crate) struct Sqlite;
pub(crate) struct Postgres;

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // `synchronous = NORMAL` in WAL mode already commits without an fsync.
    const BEGIN_DERIVED: &'static str = "BEGIN IMMEDIATE";
    const LOCK_FOR_WRITE: &'static str = "";
    const LOCK_SKIP_LOCKED: &'static str = "";
    const LOCK_WAIT: &'static str = "";
    const NEXT_SEQ: &'static str =
        "UPDATE evidence_write_seq SET value = value + 1 WHERE id = 1 RETURNING value";
    const JOIN_IN_ORDER: &'static str = "CROSS JOIN";

    type Ids = String;

    fn ids(ids: &[String]) -> String {
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
    }

    fn in_ids(column: &str, param: usize) -> String {
        format!("{column} IN (SELECT value FROM json_each(${param}))")
    }

    fn id_rows(param: usize) -> String {
        format!("(SELECT value AS id FROM json_each(${param}))")
    }

    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, _)| format!("json_extract(value, '$.{name}') AS {name}"))
            .collect();
        format!("(SELECT {} FROM json_each(${param}))", fields.join(", "))
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_DERIVED: &'static str = "BEGIN; SET LOCAL synchronous_commit = off";
    const LOCK_FOR_WRITE: &'static str = " FOR NO KEY UPDATE";
    const LOCK_SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const LOCK_WAIT: &'static str = " FOR UPDATE";
    const NEXT_SEQ: &'static str = "SELECT nextval('evidence_write_seq')";
    const JOIN_IN_ORDER: &'static str = "JOIN";

    type Ids = Vec<String>;

    fn ids(ids: &[String]) -> Vec<String> {
        ids.to_vec()
    }

    fn in_ids(column: &str, param: usize) -> String {
        format!("{column} = ANY(${param})")
    }

    fn id_rows(param: usize) -> String {
        format!("(SELECT unnest(${param}::text[]) AS id)")
    }

    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, ty)| {
                let ty = match ty {
                    ColType::Text => "text",
                    ColType::Int => "bigint",
                    ColType::Bool => "boolean",
                };
                format!("{name} {ty}")
            })
            .collect();
        format!(
            "(SELECT * FROM jsonb_to_recordset(${param}::jsonb) AS j({}))",
            fields.join(", ")
        )
    }
}
