// THE evidence extraction: one statement for any number of connection ids. It answers seven
// set-based questions (connection+schedule, their connectors, stream stats, last and last
// successful run, failure streaks, open attention, unrecovered gaps), each aggregated by the
// database into one JSON array, so the whole extraction is a single row of seven values
// however many ids and source rows. Used by the lazy fold, the sweeper, the rebuild and the
// detail read. A fold's extraction asks the run-side questions only for the rows whose
// writes since their last fold touched those parts (`dirty_parts`) and carries the other
// rows' parts over from the stored evidence, read by the same statement.

use crate::built_once::BuiltOnce;
use crate::assemble::{
    assemble, Carried, CarriedRuns, ConnectionSource, ConnectorSource, GapSource, Parts,
    RunSource, ScheduleSource, StatSource,
};
use crate::dialect::Dialect;
use crate::dirty_parts::DirtyParts;
use crate::evidence_row::{Maintenance, StoredBool};
use console_domain::evidence::Evidence;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use crate::id_map::{id_map, IdMap};

/// Per connection that exists: its evidence, or a sanitized reason it could not be built.
pub(crate) type Extracted = IdMap<Result<Evidence, String>>;

/// How much of each connection's evidence an extraction reads from the source tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Every part (the rebuild, which repairs drift, and the detail read).
    Full,
    /// The parts the writes since the row's last fold may have changed (its `dirty_parts`);
    /// the others are carried over from the stored row (folds, and reads that fold).
    Changed,
}

/// The parts a row asks of the source tables, as an SQL expression over its evidence row
/// `e` (LEFT JOINed: a connection without one has nothing to carry over). The connection
/// question returns it and the run-side questions take their ids by it, both in the one
/// statement, so the rows a question answers are exactly the rows read as asking.
fn asked_parts(reading: Reading) -> String {
    let all = DirtyParts::ALL.bits();
    match reading {
        Reading::Full => all.to_string(),
        Reading::Changed => format!("COALESCE(e.dirty_parts, {all})"),
    }
}

const SUCCESS: &str = "('succeeded', 'succeeded_with_gaps')";

/// `inner`'s rows as one JSON array (of arrays of `columns`, in `order` when the reader
/// needs one: sorting wide rows only to put them in a map costs the database for nothing):
/// a scalar subquery.
fn aggregated(inner: &str, columns: &[&str], order: Option<&str>) -> String {
    let values: Vec<String> = columns.iter().map(|c| format!("q.{c}")).collect();
    let row = format!("{}({})", D::JSON_ARRAY, values.join(", "));
    format!(
        "(SELECT {} FROM ({inner}) q)",
        D::json_array_agg(&row, order)
    )
}

/// Row of question 1, in its column order.
#[derive(Deserialize)]
struct ConnectionRow {
    connection_id: String,
    connector_id: String,
    display_name: Option<String>,
    status: String,
    maximum_staleness_seconds: Option<i64>,
    created_at: i64,
    updated_at: i64,
    revoked_at: Option<i64>,
    interval_seconds: Option<i64>,
    jitter_seconds: Option<i64>,
    enabled: Option<StoredBool>,
    next_due_at: Option<i64>,
    dirty: Option<StoredBool>,
    dirty_since: Option<i64>,
    write_seq: Option<i64>,
    folded_seq: Option<i64>,
    computed_at: Option<i64>,
    error: Option<String>,
    asked_parts: i64,
    last_run: Option<String>,
    last_successful_run: Option<String>,
    consecutive_failures: Option<i64>,
    consecutive_connector_errors: Option<i64>,
    open_attention: Option<String>,
    unrecovered_gaps: Option<String>,
}

const CONNECTION_COLUMNS: &[&str] = &[
    "connection_id",
    "connector_id",
    "display_name",
    "status",
    "maximum_staleness_seconds",
    "created_at",
    "updated_at",
    "revoked_at",
    "interval_seconds",
    "jitter_seconds",
    "enabled",
    "next_due_at",
    "dirty",
    "dirty_since",
    "write_seq",
    "folded_seq",
    "computed_at",
    "error",
    "asked_parts",
    "last_run",
    "last_successful_run",
    "consecutive_failures",
    "consecutive_connector_errors",
    "open_attention",
    "unrecovered_gaps",
];

impl ConnectionRow {
    fn into_source(self) -> ConnectionSource {
        let schedule = match (self.interval_seconds, self.jitter_seconds, self.enabled) {
            (Some(interval_seconds), Some(jitter_seconds), Some(enabled)) => {
                Some(ScheduleSource {
                    interval_seconds,
                    jitter_seconds,
                    enabled: enabled.0,
                    next_due_at: self.next_due_at,
                })
            }
            _ => None,
        };
        let maintenance = match (self.write_seq, self.dirty, self.folded_seq) {
            (Some(write_seq), Some(dirty), Some(folded_seq)) => Some(Maintenance {
                dirty: dirty.0,
                dirty_since: self.dirty_since,
                write_seq,
                folded_seq,
                computed_at: self.computed_at,
                error: self.error,
            }),
            _ => None,
        };
        // A part not asked again is carried over; its stored columns are NOT NULL (the
        // runs' two are nullable: no run yet), so a missing value means it was not selected.
        let asked = DirtyParts::from_bits(self.asked_parts);
        let carried = Carried {
            runs: match (
                asked.contains(DirtyParts::RUNS),
                self.consecutive_failures,
                self.consecutive_connector_errors,
            ) {
                (false, Some(consecutive_failures), Some(consecutive_connector_errors)) => {
                    Some(CarriedRuns {
                        last_run: self.last_run,
                        last_successful_run: self.last_successful_run,
                        consecutive_failures,
                        consecutive_connector_errors,
                    })
                }
                _ => None,
            },
            attention: self
                .open_attention
                .filter(|_| !asked.contains(DirtyParts::ATTENTION)),
            gaps: self
                .unrecovered_gaps
                .filter(|_| !asked.contains(DirtyParts::GAPS)),
        };
        ConnectionSource {
            connection_id: self.connection_id,
            connector_id: self.connector_id,
            display_name: self.display_name,
            status: self.status,
            maximum_staleness_seconds: self.maximum_staleness_seconds,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revoked_at: self.revoked_at,
            schedule,
            maintenance,
            carried,
        }
    }
}

/// `(connector_id, display_name, source_kind, recommended_mode, manifest)`: one per
/// connector of the extracted connections, so each manifest is sent and parsed once per
/// extraction rather than once per connection.
type ConnectorRow = (String, String, String, String, String);
/// `(connection_id, stream, record_count, last_updated_at)`
type StatRow = (String, String, i64, Option<i64>);
/// `(connection_id, kind, run_id, status, started_at, finished_at, failure_reason,
/// records_written, gap_count)`; kind 1 is the last finished run, 2 the last success.
type RunRow = (
    String,
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);
/// `(connection_id, failures, connector_errors)`
type StreakRow = (String, i64, i64);
/// `(connection_id, kind)`
type AttentionRow = (String, String);
/// `(connection_id, run_id, stream, reason, retryable)`
type GapRow = (String, String, String, String, StoredBool);

/// The extraction's text for `reading`, built once.
fn extraction_statement(reading: Reading) -> &'static str {
    static TEXTS: BuiltOnce<String, 2> = BuiltOnce::new();
    TEXTS.get(reading as usize, || extraction_sql(reading))
}

/// The SQL of the extraction: one row, seven JSON arrays. Every question is driven by the
/// bound ids (`i.id`), joined to each table through its index, so the plan never depends on
/// table statistics: with none yet (a freshly rebuilt `record_stats`), Postgres scanned the
/// whole table and tested every row against the id array. The run-side questions take only
/// the ids asking for their part ([`asked_parts`]), from a table of the ids with their parts
/// built once first: as a condition inside each question, Postgres probed the runs of
/// every id before filtering. Those questions join in the written order (ids first):
/// SQLite, which cannot size the table of ids, otherwise walked every run.
fn extraction_sql(reading: Reading) -> String {
    let ids = || D::id_rows(1);
    // The table of asking ids, and the stored run-side parts, read only where they can be
    // carried over.
    let (asking, carried) = match reading {
        Reading::Full => (
            String::new(),
            "NULL AS last_run, NULL AS last_successful_run,
                NULL AS consecutive_failures, NULL AS consecutive_connector_errors,
                NULL AS open_attention, NULL AS unrecovered_gaps",
        ),
        Reading::Changed => (
            format!(
                "WITH asking AS MATERIALIZED (
                    SELECT i.id, {} AS parts FROM {} AS i
                    LEFT JOIN connector_summary_evidence e ON e.connection_id = i.id)
                 ",
                asked_parts(reading),
                ids()
            ),
            "e.last_run, e.last_successful_run, e.consecutive_failures,
                e.consecutive_connector_errors, e.open_attention, e.unrecovered_gaps",
        ),
    };
    let ids_asking = |part: DirtyParts| match reading {
        Reading::Full => ids(),
        Reading::Changed => format!(
            "(SELECT id FROM asking WHERE (parts & {}) <> 0)",
            part.bits()
        ),
    };
    // 1. Connections with schedule and evidence maintenance columns.
    let connections = aggregated(
        &format!(
            "SELECT c.connection_id, c.connector_id, c.display_name, c.status,
                    c.maximum_staleness_seconds, c.created_at, c.updated_at, c.revoked_at,
                    s.interval_seconds, s.jitter_seconds, s.enabled, s.next_due_at,
                    e.dirty, e.dirty_since, e.write_seq, e.folded_seq, e.computed_at, e.error,
                    {} AS asked_parts, {carried}
             FROM {} AS i
             JOIN connections c ON c.connection_id = i.id
             LEFT JOIN schedules s ON s.connection_id = c.connection_id
             LEFT JOIN connector_summary_evidence e ON e.connection_id = c.connection_id",
            asked_parts(reading),
            ids()
        ),
        CONNECTION_COLUMNS,
        None,
    );

    // 2. Their connectors, each once.
    let connectors = aggregated(
        &format!(
            "SELECT k.connector_id, k.display_name, k.source_kind, k.recommended_mode,
                    k.manifest
             FROM (SELECT DISTINCT c.connector_id FROM {} AS i
                   JOIN connections c ON c.connection_id = i.id) u
             JOIN connectors k ON k.connector_id = u.connector_id",
            ids()
        ),
        &[
            "connector_id",
            "display_name",
            "source_kind",
            "recommended_mode",
            "manifest",
        ],
        None,
    );

    // 3. Stream stats (exact, maintained by the writers).
    let stats = aggregated(
        &format!(
            "SELECT t.connection_id, t.stream, t.record_count, t.last_updated_at
             FROM {} AS i JOIN record_stats t ON t.connection_id = i.id",
            ids()
        ),
        &["connection_id", "stream", "record_count", "last_updated_at"],
        None,
    );

    // 4. Last finished run and last successful run: per connection, two newest-first
    // probes of `runs_by_connection` that stop at the first match. (Numbering every run
    // of every connection with window functions sorted all their runs twice.)
    let newest = |filter: &str, kind: i64| {
        format!(
            "SELECT i.id AS target_id, CAST({kind} AS BIGINT) AS kind,
                    (SELECT r2.run_id FROM runs r2
                     WHERE r2.connection_id = i.id AND r2.status {filter}
                     ORDER BY r2.started_at DESC, r2.run_id DESC LIMIT 1) AS found_id
             FROM {} AS i",
            ids_asking(DirtyParts::RUNS)
        )
    };
    let runs = aggregated(
        &format!(
            "SELECT x.target_id AS connection_id, x.kind, r.run_id, r.status, r.started_at,
                    r.finished_at, r.failure_reason, r.records_written, r.gap_count
             FROM ({} UNION ALL {}) x
             {} runs r ON r.run_id = x.found_id",
            newest("NOT IN ('queued', 'running')", 1),
            newest(&format!("IN {SUCCESS}"), 2),
            D::JOIN_IN_ORDER,
        ),
        &[
            "connection_id",
            "kind",
            "run_id",
            "status",
            "started_at",
            "finished_at",
            "failure_reason",
            "records_written",
            "gap_count",
        ],
        None,
    );

    // 5. Failed runs since the last success, and the newest-first connector_error streak.
    // Cancelled runs neither count nor reset.
    let streaks = aggregated(
        &format!(
            "SELECT x.connection_id, COUNT(*) AS failures,
                    COALESCE(MIN(CASE WHEN x.failure_reason IS NULL
                                        OR x.failure_reason <> 'connector_error'
                                      THEN x.rn END) - 1, COUNT(*)) AS connector_errors
             FROM (
                SELECT r.connection_id, r.failure_reason,
                       ROW_NUMBER() OVER (PARTITION BY r.connection_id
                                          ORDER BY r.started_at DESC, r.run_id DESC) AS rn
                FROM {} AS i {} runs r ON r.connection_id = i.id
                WHERE r.status = 'failed'
                  AND NOT EXISTS (
                      SELECT 1 FROM runs s
                      WHERE s.connection_id = r.connection_id AND s.status IN {SUCCESS}
                        AND (s.started_at > r.started_at
                             OR (s.started_at = r.started_at AND s.run_id > r.run_id)))
             ) x
             GROUP BY x.connection_id",
            ids_asking(DirtyParts::RUNS),
            D::JOIN_IN_ORDER,
        ),
        &["connection_id", "failures", "connector_errors"],
        None,
    );

    // 6. Open attention, oldest first.
    let attention = aggregated(
        &format!(
            "SELECT a.connection_id, a.kind, a.opened_at, a.attention_id
             FROM {} AS i {} attention a ON a.connection_id = i.id
             WHERE a.resolved_at IS NULL",
            ids_asking(DirtyParts::ATTENTION),
            D::JOIN_IN_ORDER,
        ),
        &["connection_id", "kind"],
        Some("q.connection_id, q.opened_at, q.attention_id"),
    );

    // 7. Unrecovered gaps, oldest run first.
    let gaps = aggregated(
        &format!(
            "SELECT g.connection_id, g.run_id, g.stream, g.reason, g.retryable,
                    r.started_at AS run_started_at, g.seq
             FROM {} AS i
             {join} run_gaps g ON g.connection_id = i.id
             {join} runs r ON r.run_id = g.run_id
             WHERE g.recovered_at IS NULL",
            ids_asking(DirtyParts::GAPS),
            join = D::JOIN_IN_ORDER,
        ),
        &["connection_id", "run_id", "stream", "reason", "retryable"],
        Some("q.connection_id, q.run_started_at, q.run_id, q.seq"),
    );

    format!(
        "{asking}SELECT {connections} AS connections, {connectors} AS connectors, {stats} AS stats,
                {runs} AS runs, {streaks} AS streaks, {attention} AS attention, {gaps} AS gaps"
    )
}

/// One aggregated column: its rows, none when the database aggregated nothing (NULL on
/// Postgres).
fn rows_of<T: DeserializeOwned>(row: &DbRow, column: &str) -> StoreResult<Vec<T>> {
    let text: Option<String> = row.try_get(column)?;
    match text {
        None => Ok(Vec::new()),
        // Not the parser's message: it can quote stored data.
        Some(text) => serde_json::from_str(&text)
            .map_err(|_| corrupt(format!("extracted {column} are not readable"))),
    }
}

/// [`extract`] on a connection of its own, outside any fold (see
/// [`Dialect::BEGIN_EXTRACT`]).
pub(crate) async fn extract_alone(
    pool: &Pool,
    ids: &[String],
    reading: Reading,
) -> StoreResult<Extracted> {
    match D::BEGIN_EXTRACT {
        Some(begin) => {
            let mut tx = pool.begin_with(begin).await?;
            let extracted = extract(&mut tx, ids, reading).await?;
            tx.commit().await?;
            Ok(extracted)
        }
        None => extract(&mut *pool.acquire().await?, ids, reading).await,
    }
}

/// Extracts the evidence of `ids`, which must be distinct: the questions join them as rows,
/// so an id given twice would count its streams and runs twice. Every caller passes ids read
/// as a table's key (claimed or page rows, a rebuild batch, one detail id).
pub(crate) async fn extract(
    c: &mut Conn,
    ids: &[String],
    reading: Reading,
) -> StoreResult<Extracted> {
    let mut out = Extracted::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let row = sqlx::query(extraction_statement(reading))
        .bind(D::ids(ids))
        .fetch_one(&mut *c)
        .await?;

    let sources: Vec<ConnectionSource> = rows_of::<ConnectionRow>(&row, "connections")?
        .into_iter()
        .map(ConnectionRow::into_source)
        .collect();
    if sources.is_empty() {
        return Ok(out);
    }
    let connectors: IdMap<ConnectorSource> = rows_of::<ConnectorRow>(&row, "connectors")?
        .into_iter()
        .map(
            |(connector_id, display_name, source_kind, recommended_mode, manifest)| {
                let manifest = serde_json::from_str(&manifest)
                    .map_err(|_| "connector manifest is not readable".to_owned());
                let source = ConnectorSource {
                    display_name,
                    source_kind,
                    recommended_mode,
                    manifest,
                };
                (connector_id, source)
            },
        )
        .collect();
    let mut parts: IdMap<Parts> = id_map(sources.len());
    for (connection_id, stream, record_count, last_updated_at) in
        rows_of::<StatRow>(&row, "stats")?
    {
        parts.entry(connection_id).or_default().stats.push(StatSource {
            stream,
            record_count,
            last_updated_at,
        });
    }
    for (
        connection_id,
        kind,
        run_id,
        status,
        started_at,
        finished_at,
        failure_reason,
        records_written,
        gap_count,
    ) in rows_of::<RunRow>(&row, "runs")?
    {
        parts.entry(connection_id).or_default().runs.push(RunSource {
            run_id,
            status,
            started_at,
            finished_at,
            failure_reason,
            records_written,
            gap_count,
            is_last: kind == 1,
            is_last_success: kind == 2,
        });
    }
    for (connection_id, failures, connector_errors) in rows_of::<StreakRow>(&row, "streaks")? {
        let p = parts.entry(connection_id).or_default();
        p.consecutive_failures = failures;
        p.consecutive_connector_errors = connector_errors;
    }
    for (connection_id, kind) in rows_of::<AttentionRow>(&row, "attention")? {
        parts.entry(connection_id).or_default().attention.push(kind);
    }
    for (connection_id, run_id, stream, reason, retryable) in rows_of::<GapRow>(&row, "gaps")? {
        parts.entry(connection_id).or_default().gaps.push(GapSource {
            run_id,
            stream,
            reason,
            retryable: retryable.0,
        });
    }

    let empty = Parts::default();
    out.reserve(sources.len());
    for source in sources {
        // Connections reference their connector (a foreign key); one without would be
        // skipped, like a connection that no longer exists.
        let Some(connector) = connectors.get(&source.connector_id) else {
            continue;
        };
        let parts = parts.get(&source.connection_id).unwrap_or(&empty);
        let evidence = assemble(&source, connector, parts);
        out.insert(source.connection_id, evidence);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_columns_match_the_row_fields() {
        // The row deserializes from an array in field order; a JSON object of the same
        // names must read the same way (serde reads named fields from either).
        let values: Vec<serde_json::Value> = CONNECTION_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, name)| match *name {
                "enabled" | "dirty" => serde_json::json!(1),
                "display_name" | "connection_id" | "connector_id" | "status" | "error"
                | "last_run" | "last_successful_run" | "open_attention"
                | "unrecovered_gaps" => serde_json::json!(name),
                _ => serde_json::json!(i),
            })
            .collect();
        let object: serde_json::Map<String, serde_json::Value> = CONNECTION_COLUMNS
            .iter()
            .map(|n| n.to_string())
            .zip(values.iter().cloned())
            .collect();
        let from_array: ConnectionRow =
            serde_json::from_value(serde_json::Value::Array(values)).unwrap();
        let from_object: ConnectionRow =
            serde_json::from_value(serde_json::Value::Object(object)).unwrap();
        assert_eq!(
            format!("{:?}", from_array.into_source()),
            format!("{:?}", from_object.into_source())
        );
    }
}
