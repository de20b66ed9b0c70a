// THE evidence extraction: set-based over a list of connection ids, a fixed number of
// statements however many ids (connection+connector+schedule, stream stats, last and last
// successful run, failure streaks, open attention, unrecovered gaps). Used by the lazy
// fold, the sweeper, the rebuild and the detail read.

use crate::assemble::{
    assemble, ConnectionSource, GapSource, Parts, RunSource, ScheduleSource, StatSource,
};
use crate::dialect::Dialect;
use crate::evidence_row::Maintenance;
use console_domain::evidence::Evidence;
use std::collections::HashMap;

/// Per connection that exists: its evidence, or a sanitized reason it could not be built.
pub(crate) type Extracted = HashMap<String, Result<Evidence, String>>;

const SUCCESS: &str = "('succeeded', 'succeeded_with_gaps')";

pub(crate) async fn extract(c: &mut Conn, ids: &[String]) -> StoreResult<Extracted> {
    let mut out = Extracted::new();
    if ids.is_empty() {
        return Ok(out);
    }

    // 1. Connections with connector, schedule and evidence maintenance columns.
    let sql = format!(
        "SELECT c.connection_id, c.connector_id, c.display_name, c.status,
                c.maximum_staleness_seconds, c.created_at, c.updated_at, c.revoked_at,
                k.display_name AS connector_display_name, k.source_kind, k.recommended_mode,
                k.manifest,
                s.interval_seconds, s.jitter_seconds, s.enabled, s.next_due_at,
                e.dirty, e.dirty_since, e.write_seq, e.folded_seq, e.computed_at, e.error
         FROM connections c
         JOIN connectors k ON k.connector_id = c.connector_id
         LEFT JOIN schedules s ON s.connection_id = c.connection_id
         LEFT JOIN connector_summary_evidence e ON e.connection_id = c.connection_id
         WHERE {}",
        D::in_ids("c.connection_id", 1)
    );
    let rows = sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?;
    let mut sources = Vec::with_capacity(rows.len());
    for row in rows {
        let interval: Option<i64> = row.try_get("interval_seconds")?;
        let schedule = match interval {
            Some(interval_seconds) => Some(ScheduleSource {
                interval_seconds,
                jitter_seconds: row.try_get("jitter_seconds")?,
                enabled: row.try_get("enabled")?,
                next_due_at: row.try_get("next_due_at")?,
            }),
            None => None,
        };
        let write_seq: Option<i64> = row.try_get("write_seq")?;
        let maintenance = match write_seq {
            Some(write_seq) => Some(Maintenance {
                dirty: row.try_get("dirty")?,
                dirty_since: row.try_get("dirty_since")?,
                write_seq,
                folded_seq: row.try_get("folded_seq")?,
                computed_at: row.try_get("computed_at")?,
                error: row.try_get("error")?,
            }),
            None => None,
        };
        sources.push(ConnectionSource {
            connection_id: row.try_get("connection_id")?,
            connector_id: row.try_get("connector_id")?,
            display_name: row.try_get("display_name")?,
            status: row.try_get("status")?,
            maximum_staleness_seconds: row.try_get("maximum_staleness_seconds")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            revoked_at: row.try_get("revoked_at")?,
            connector_display_name: row.try_get("connector_display_name")?,
            source_kind: row.try_get("source_kind")?,
            recommended_mode: row.try_get("recommended_mode")?,
            manifest: row.try_get("manifest")?,
            schedule,
            maintenance,
        });
    }
    if sources.is_empty() {
        return Ok(out);
    }
    let mut parts: HashMap<String, Parts> = HashMap::new();

    // 2. Stream stats (exact, maintained by the writers).
    let sql = format!(
        "SELECT connection_id, stream, record_count, last_updated_at FROM record_stats
         WHERE {} ORDER BY connection_id, stream",
        D::in_ids("connection_id", 1)
    );
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        parts
            .entry(row.try_get("connection_id")?)
            .or_default()
            .stats
            .push(StatSource {
                stream: row.try_get("stream")?,
                record_count: row.try_get("record_count")?,
                last_updated_at: row.try_get("last_updated_at")?,
            });
    }

    // 3. Last finished run and last successful run: per connection, two newest-first
    // probes of `runs_by_connection` that stop at the first match. (Numbering every run
    // of every connection with window functions sorted all their runs twice and made this
    // the slowest statement of a fold.)
    let newest = |filter: &str, kind: i64| {
        format!(
            "SELECT i.id AS target_id, CAST({kind} AS BIGINT) AS kind,
                    (SELECT r2.run_id FROM runs r2
                     WHERE r2.connection_id = i.id AND r2.status {filter}
                     ORDER BY r2.started_at DESC, r2.run_id DESC LIMIT 1) AS found_id
             FROM {} AS i",
            D::id_rows(1)
        )
    };
    let sql = format!(
        "SELECT x.target_id AS connection_id, x.kind, r.run_id, r.status, r.started_at,
                r.finished_at, r.failure_reason, r.records_written, r.gap_count
         FROM ({} UNION ALL {}) x
         JOIN runs r ON r.run_id = x.found_id",
        newest("NOT IN ('queued', 'running')", 1),
        newest(&format!("IN {SUCCESS}"), 2),
    );
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        let kind: i64 = row.try_get("kind")?;
        parts
            .entry(row.try_get("connection_id")?)
            .or_default()
            .runs
            .push(RunSource {
                run_id: row.try_get("run_id")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                failure_reason: row.try_get("failure_reason")?,
                records_written: row.try_get("records_written")?,
                gap_count: row.try_get("gap_count")?,
                is_last: kind == 1,
                is_last_success: kind == 2,
                status: row.try_get("status")?,
            });
    }

    // 4. Failed runs since the last success, and the newest-first connector_error streak.
    // Cancelled runs neither count nor reset.
    let sql = format!(
        "SELECT x.connection_id, COUNT(*) AS failures,
                COALESCE(MIN(CASE WHEN x.failure_reason IS NULL
                                    OR x.failure_reason <> 'connector_error'
                                  THEN x.rn END) - 1, COUNT(*)) AS connector_errors
         FROM (
            SELECT r.connection_id, r.failure_reason,
                   ROW_NUMBER() OVER (PARTITION BY r.connection_id
                                      ORDER BY r.started_at DESC, r.run_id DESC) AS rn
            FROM runs r
            WHERE {} AND r.status = 'failed'
              AND NOT EXISTS (
                  SELECT 1 FROM runs s
                  WHERE s.connection_id = r.connection_id AND s.status IN {SUCCESS}
                    AND (s.started_at > r.started_at
                         OR (s.started_at = r.started_at AND s.run_id > r.run_id)))
         ) x
         GROUP BY x.connection_id",
        D::in_ids("r.connection_id", 1)
    );
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        let p = parts.entry(row.try_get("connection_id")?).or_default();
        p.consecutive_failures = row.try_get("failures")?;
        p.consecutive_connector_errors = row.try_get("connector_errors")?;
    }

    // 5. Open attention.
    let sql = format!(
        "SELECT connection_id, kind FROM attention
         WHERE {} AND resolved_at IS NULL
         ORDER BY connection_id, opened_at, attention_id",
        D::in_ids("connection_id", 1)
    );
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        parts
            .entry(row.try_get("connection_id")?)
            .or_default()
            .attention
            .push(row.try_get("kind")?);
    }

    // 6. Unrecovered gaps, oldest run first.
    let sql = format!(
        "SELECT g.connection_id, g.run_id, g.stream, g.reason, g.retryable
         FROM run_gaps g JOIN runs r ON r.run_id = g.run_id
         WHERE {} AND g.recovered_at IS NULL
         ORDER BY g.connection_id, r.started_at, g.run_id, g.seq",
        D::in_ids("g.connection_id", 1)
    );
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        parts
            .entry(row.try_get("connection_id")?)
            .or_default()
            .gaps
            .push(GapSource {
                run_id: row.try_get("run_id")?,
                stream: row.try_get("stream")?,
                reason: row.try_get("reason")?,
                retryable: row.try_get("retryable")?,
            });
    }

    let empty = Parts::default();
    for source in sources {
        let evidence = assemble(&source, parts.get(&source.connection_id).unwrap_or(&empty));
        out.insert(source.connection_id, evidence);
    }
    Ok(out)
}
