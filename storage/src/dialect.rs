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
    /// [`Self::BEGIN_DERIVED`] for a fold. Postgres also plans the fold's statements
    /// generically: each connection plans the extraction once instead of with the values
    /// of each of its first five folds (3-11 ms of planning per fold against ~1 ms of
    /// running a fold of 25 rows; see docs/performance.md, "Sixteenth round"). Its plan does
    /// not depend on the values: the ids drive every question (`storage/tests/query_plans.rs`
    /// checks the generic plans). Not for the rebuild: a generic plan made while the tables
    /// it fills are still empty stays in use as they grow (a rebuild of 10,000 connections
    /// took 7.4 s with one instead of 1.7 s).
    const BEGIN_FOLD: &'static str;
    /// Opens the read-only transaction an extraction outside a fold runs in (the detail read
    /// of a clean row, a read that could not claim its dirty rows), if it needs one. Postgres
    /// plans it generically, as a fold's: planned with the id's value each time, the
    /// extraction spent ~1.1 ms of its ~1.2 ms at bind, more as the tables grew, and kept
    /// choosing such plans (docs/performance.md, "Eighteenth round"). SQLite plans once per
    /// prepared statement and needs none.
    const BEGIN_EXTRACT: Option<&'static str>;
    /// Serializes writers of one connection (Postgres row lock that still lets foreign-key
    /// checks through; SQLite has a single writer already).
    const LOCK_FOR_WRITE: &'static str;
    /// Claims rows for a fold without waiting on another folder.
    const LOCK_SKIP_LOCKED: &'static str;
    /// Whether a fold claims and extracts inside its writing transaction. Postgres does:
    /// the claim's row locks are what split the rows between concurrent folders. SQLite
    /// claims and extracts on a plain read snapshot and takes the write lock only to
    /// publish, so writers wait for the publish alone (the compare-and-set on the write
    /// sequence leaves a row that a write reached meanwhile dirty for the next fold).
    const FOLD_EXTRACTS_IN_TRANSACTION: bool;
    /// Whether every row of a statement has the column types its first row has. On
    /// Postgres a result's row description fixes them; on SQLite each value has its own
    /// type, whatever its column declares. See `common::Verified`.
    const COLUMN_TYPES_PER_STATEMENT: bool;
    /// Most rows one fold transaction of the sweeper takes; a larger budget is folded as
    /// several such folds.
    const FOLD_CHUNK: u32;
    /// Most folds the sweeper runs at once, each on its own pooled connection (the extra
    /// ones only on connections idle at hand). Postgres: four, so that while one fold's
    /// rows are assembled in this process or cross the socket, the others keep both cores
    /// busy in Postgres (two folds left the cores ~30% idle; see docs/performance.md,
    /// "Eleventh round"). SQLite: one, it has one writer (its fold shares the extraction
    /// over two connections instead).
    const FOLD_WORKERS: u32;
    /// Claims rows, waiting for writers (rebuild).
    const LOCK_WAIT: &'static str;
    /// Takes the next value of the global write sequence; returns one BIGINT column.
    const NEXT_SEQ: &'static str;
    /// An inner join that keeps the written order: SQLite's `CROSS JOIN` (its documented way
    /// to pin the outer loop, needed where it misjudges a JSON row set's size), a plain
    /// `JOIN` on Postgres (whose planner sees the row set's size).
    const JOIN_IN_ORDER: &'static str;
    /// The JSON array constructor.
    const JSON_ARRAY: &'static str;
    /// Whether the fold publishes rows whose needs-you-first rank did not move with a
    /// separate statement that leaves the rank columns alone. SQLite then skips rewriting
    /// the two `*_needs` index entries; Postgres writes every index entry of an updated row
    /// anyway (the publish also changes `dirty_since`, indexed by `cse_dirty`), so there the
    /// second statement would only cost a round trip and a join.
    const PUBLISH_SPLITS_ON_RANK: bool;

    /// Run after a rebuild: statistics for the tables it rewrote. Postgres gets
    /// `ANALYZE`: a rebuild deletes and re-inserts every row of `record_stats`, and until
    /// autovacuum analyzes it again (up to a minute or more later) the planner may take the
    /// table for one it knows nothing about and read it whole for every extraction (seen
    /// after a bench rebuild: 15 ms of a 20 ms extraction of 250 rows, 3.7 ms with
    /// statistics). SQLite gets none: its statements are written for its planner without
    /// statistics (pinned join order, partial-index predicates repeated literally), and
    /// nothing in production runs `ANALYZE` there.
    const ANALYZE_AFTER_REBUILD: Option<&'static str>;

    /// "`column` is set", for rows found by their key: written on Postgres so that it
    /// cannot use the partial index `cse_dirty`. That index and the `dirty` column have
    /// the statistics of their last `ANALYZE`, usually taken while (nearly) every row was
    /// clean; after a manifest change dirties thousands of rows the planner still expects
    /// none, and reached a fold's claimed or published rows by walking every dirty row of
    /// `cse_dirty` (for each publish, a hash of all of them) instead of probing the
    /// primary key for each: a fold of N dirty rows cost N squared. `dirty IS NOT FALSE`
    /// equals `dirty` on a `NOT NULL` column, and implies no index predicate. SQLite keeps
    /// the plain test (it plans without statistics, and its claim of the oldest rows needs
    /// `WHERE dirty` repeated literally to use the index).
    fn dirty_by_key(column: &str) -> String;

    /// How a set of ids is bound.
    type Ids;
    /// How a set-based statement receives evidence rows (see [`crate::row_set`]).
    type EvidenceRows;
    fn ids(ids: &[String]) -> Self::Ids;
    /// `column` is one of the ids bound at placeholder `param`.
    fn in_ids(column: &str, param: usize) -> String;
    /// A sub-select (usable after FROM, aliased by the caller) of the ids bound at `param`,
    /// one row per id in a column `id`.
    fn id_rows(param: usize) -> String;
    /// A sub-select (usable after FROM, aliased by the caller) of the rows of the JSON array
    /// bound at `param`, one typed column per listed field.
    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String;
    /// Like [`Dialect::json_rows`], for a JSON array of arrays: each row's values in the
    /// order of `columns`. The fast form for wide rows (ingest; SQLite's evidence rows): SQLite
    /// renders each row's JSON once and reads its fields by position, where `json_rows`
    /// renders the row again and searches its keys for every field.
    fn json_array_rows(param: usize, columns: &[(&str, ColType)]) -> String;
    /// An aggregate of `value` (a JSON value per row) into one JSON array as text, in
    /// `order` if given (else as the rows come). Over no rows it is `[]` on SQLite and NULL
    /// on Postgres.
    fn json_array_agg(value: &str, order: Option<&str>) -> String;
}

fn sql_type(ty: ColType) -> &'static str {
    match ty {
        ColType::Text => "text",
        ColType::Int => "bigint",
        ColType::Bool => "boolean",
    }
}

pub(crate) struct Sqlite;
pub(crate) struct Postgres;

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // `synchronous = NORMAL` in WAL mode already commits without an fsync.
    const BEGIN_DERIVED: &'static str = "BEGIN IMMEDIATE";
    const BEGIN_FOLD: &'static str = Self::BEGIN_DERIVED;
    const BEGIN_EXTRACT: Option<&'static str> = None;
    const LOCK_FOR_WRITE: &'static str = "";
    const LOCK_SKIP_LOCKED: &'static str = "";
    const FOLD_EXTRACTS_IN_TRANSACTION: bool = false;
    const COLUMN_TYPES_PER_STATEMENT: bool = false;
    const FOLD_CHUNK: u32 = 500;
    const FOLD_WORKERS: u32 = 1;
    const LOCK_WAIT: &'static str = "";
    const NEXT_SEQ: &'static str =
        "UPDATE evidence_write_seq SET value = value + 1 WHERE id = 1 RETURNING value";
    const JOIN_IN_ORDER: &'static str = "CROSS JOIN";
    const JSON_ARRAY: &'static str = "json_array";
    const PUBLISH_SPLITS_ON_RANK: bool = true;
    const ANALYZE_AFTER_REBUILD: Option<&'static str> = None;

    type Ids = String;
    type EvidenceRows = crate::row_set::ValuesRows;

    fn ids(ids: &[String]) -> String {
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
    }

    fn in_ids(column: &str, param: usize) -> String {
        format!("{column} IN (SELECT value FROM json_each(${param}))")
    }

    fn id_rows(param: usize) -> String {
        format!("(SELECT value AS id FROM json_each(${param}))")
    }

    fn dirty_by_key(column: &str) -> String {
        column.to_owned()
    }

    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, _)| format!("json_extract(value, '$.{name}') AS {name}"))
            .collect();
        format!("(SELECT {} FROM json_each(${param}))", fields.join(", "))
    }

    fn json_array_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("v ->> {i} AS {name}"))
            .collect();
        // `OFFSET 0` keeps the inner query from being flattened into this one, which would
        // render the row from `json_each` again for every field.
        format!(
            "(SELECT {} FROM (SELECT value AS v FROM json_each(${param}) LIMIT -1 OFFSET 0))",
            fields.join(", ")
        )
    }

    fn json_array_agg(value: &str, order: Option<&str>) -> String {
        match order {
            Some(order) => format!("json_group_array({value} ORDER BY {order})"),
            None => format!("json_group_array({value})"),
        }
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_DERIVED: &'static str = "BEGIN; SET LOCAL synchronous_commit = off";
    const BEGIN_FOLD: &'static str =
        "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL plan_cache_mode = force_generic_plan";
    const BEGIN_EXTRACT: Option<&'static str> =
        Some("BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan");
    const LOCK_FOR_WRITE: &'static str = " FOR NO KEY UPDATE";
    const LOCK_SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const FOLD_EXTRACTS_IN_TRANSACTION: bool = true;
    const COLUMN_TYPES_PER_STATEMENT: bool = true;
    const FOLD_CHUNK: u32 = 250;
    const FOLD_WORKERS: u32 = 4;
    const LOCK_WAIT: &'static str = " FOR UPDATE";
    const NEXT_SEQ: &'static str = "SELECT nextval('evidence_write_seq')";
    const JOIN_IN_ORDER: &'static str = "JOIN";
    const JSON_ARRAY: &'static str = "json_build_array";
    const PUBLISH_SPLITS_ON_RANK: bool = false;
    const ANALYZE_AFTER_REBUILD: Option<&'static str> =
        Some("ANALYZE record_stats, connector_summary_evidence");

    type Ids = Vec<String>;
    type EvidenceRows = crate::row_set::ColumnArrays;

    fn ids(ids: &[String]) -> Vec<String> {
        ids.to_vec()
    }

    fn in_ids(column: &str, param: usize) -> String {
        format!("{column} = ANY(${param})")
    }

    fn id_rows(param: usize) -> String {
        format!("(SELECT unnest(${param}::text[]) AS id)")
    }

    fn dirty_by_key(column: &str) -> String {
        format!("{column} IS NOT FALSE")
    }

    fn json_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, ty)| format!("{name} {}", sql_type(*ty)))
            .collect();
        format!(
            "(SELECT * FROM jsonb_to_recordset(${param}::jsonb) AS j({}))",
            fields.join(", ")
        )
    }

    fn json_array_rows(param: usize, columns: &[(&str, ColType)]) -> String {
        let fields: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| format!("CAST(v ->> {i} AS {}) AS {name}", sql_type(*ty)))
            .collect();
        format!(
            "(SELECT {} FROM jsonb_array_elements(${param}::jsonb) AS rows(v))",
            fields.join(", ")
        )
    }

    fn json_array_agg(value: &str, order: Option<&str>) -> String {
        match order {
            Some(order) => format!("CAST(json_agg({value} ORDER BY {order}) AS TEXT)"),
            None => format!("CAST(json_agg({value}) AS TEXT)"),
        }
    }
}
