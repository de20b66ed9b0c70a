// Runs, their gaps and events. Start, finish (fail, cancel) and gap recovery dirty the
// connection's evidence; heartbeats are liveness only and dirty nothing.

use super::common::{begin_write, lock_connection, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use super::schedules::on_run_started;
use crate::dialect::Dialect;
use crate::evidence_row::ColType;
use crate::types::{NewRunEvent, RunEvent, RunGap, RunOutcome, RunRow, RunTrigger};
use console_domain::liveness::OpenRun;
use console_domain::model::{FailureReason, RunStatus};
use console_domain::Instant;
use std::collections::HashMap;

const COLUMNS: &str = "run_id, connection_id, status, run_trigger, started_at, heartbeat_at, \
    finished_at, failure_reason, records_written";

fn trigger_text(trigger: RunTrigger) -> &'static str {
    match trigger {
        RunTrigger::Schedule => "schedule",
        RunTrigger::Owner => "owner",
        RunTrigger::Api => "api",
    }
}

fn parse_trigger(text: &str) -> Option<RunTrigger> {
    match text {
        "schedule" => Some(RunTrigger::Schedule),
        "owner" => Some(RunTrigger::Owner),
        "api" => Some(RunTrigger::Api),
        _ => None,
    }
}

fn decode(row: &DbRow) -> StoreResult<RunRow> {
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("run_trigger")?;
    Ok(RunRow {
        run_id: row.try_get("run_id")?,
        connection_id: row.try_get("connection_id")?,
        status: lift(parse_enum(&status, "run status", RunStatus::parse))?,
        trigger: lift(parse_enum(&trigger, "run trigger", parse_trigger))?,
        started_at: lift(instant(row.try_get("started_at")?))?,
        heartbeat_at: lift(opt_instant(row.try_get("heartbeat_at")?))?,
        finished_at: lift(opt_instant(row.try_get("finished_at")?))?,
        failure_reason: row
            .try_get::<Option<String>, _>("failure_reason")?
            .as_deref()
            .map(FailureReason::parse),
        records_written: row.try_get("records_written")?,
        gaps: Vec::new(),
    })
}

/// Decodes runs and attaches their gaps (one statement for all of them).
async fn with_gaps(c: &mut Conn, rows: Vec<DbRow>) -> StoreResult<Vec<RunRow>> {
    let mut runs = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
    if runs.is_empty() {
        return Ok(runs);
    }
    let ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let sql = format!(
        "SELECT run_id, stream, reason, retryable, recovered_at FROM run_gaps
         WHERE {} ORDER BY run_id, seq",
        D::in_ids("run_id", 1)
    );
    let gap_rows = sqlx::query(&sql)
        .bind(D::ids(&ids))
        .fetch_all(&mut *c)
        .await?;
    let mut gaps: HashMap<String, Vec<RunGap>> = HashMap::new();
    for row in gap_rows {
        gaps.entry(row.try_get("run_id")?)
            .or_default()
            .push(RunGap {
                stream: row.try_get("stream")?,
                reason: row.try_get("reason")?,
                retryable: row.try_get("retryable")?,
                recovered_at: lift(opt_instant(row.try_get("recovered_at")?))?,
            });
    }
    for run in &mut runs {
        run.gaps = gaps.remove(&run.run_id).unwrap_or_default();
    }
    Ok(runs)
}

async fn fetch(c: &mut Conn, run_id: &str) -> StoreResult<Option<RunRow>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE run_id = $1");
    let rows = sqlx::query(&sql).bind(run_id).fetch_all(&mut *c).await?;
    Ok(with_gaps(c, rows).await?.into_iter().next())
}

async fn open_run_of(c: &mut Conn, connection_id: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "SELECT run_id FROM runs WHERE connection_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(connection_id)
    .fetch_optional(&mut *c)
    .await?;
    Ok(row.map(|r| r.try_get("run_id")).transpose()?)
}

fn already_active(run_id: String) -> StoreError {
    StoreError::Conflict {
        code: "run_already_active",
        message: format!("run {run_id} is already active for this connection"),
        existing: Some(run_id),
    }
}

pub(crate) async fn start(
    pool: &Pool,
    connection_id: &str,
    trigger: RunTrigger,
    now: Instant,
) -> StoreResult<RunRow> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    if let Some(active) = open_run_of(&mut tx, connection_id).await? {
        return Err(already_active(active));
    }
    let run_id = new_id("run");
    let inserted = sqlx::query(
        "INSERT INTO runs (run_id, connection_id, status, run_trigger, started_at)
         VALUES ($1, $2, 'running', $3, $4)",
    )
    .bind(&run_id)
    .bind(connection_id)
    .bind(trigger_text(trigger))
    .bind(ms(now))
    .execute(&mut *tx)
    .await;
    if let Err(sqlx::Error::Database(db)) = &inserted {
        if db.is_unique_violation() {
            // Another starter won the partial unique index: report its run.
            drop(tx);
            let mut c = pool.acquire().await?;
            let active = open_run_of(&mut c, connection_id).await?;
            return Err(already_active(active.unwrap_or_default()));
        }
    }
    inserted?;
    on_run_started(&mut tx, connection_id, now).await?;
    // The evidence holds finished runs only (open runs are read live); what a start changes
    // is the schedule's next due time, which every fold reads.
    mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::NONE,
        now,
    )
    .await?;
    let run = fetch(&mut tx, &run_id)
        .await?
        .ok_or_else(|| StoreError::not_found("run", &run_id))?;
    tx.commit().await?;
    Ok(run)
}

async fn not_active(c: &mut Conn, run_id: &str) -> StoreError {
    match fetch(c, run_id).await {
        Ok(Some(run)) => StoreError::Conflict {
            code: "run_not_active",
            message: format!("run {run_id} is already {}", run.status),
            existing: Some(run.status.as_str().to_owned()),
        },
        Ok(None) => StoreError::not_found("run", run_id),
        Err(e) => e,
    }
}

/// Liveness only: no evidence is dirtied.
pub(crate) async fn heartbeat(pool: &Pool, run_id: &str, now: Instant) -> StoreResult<RunRow> {
    let mut c = pool.acquire().await?;
    let done = sqlx::query(
        "UPDATE runs SET heartbeat_at = $1,
            status = CASE WHEN status = 'queued' THEN 'running' ELSE status END
         WHERE run_id = $2 AND status IN ('queued', 'running')",
    )
    .bind(ms(now))
    .bind(run_id)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(not_active(&mut c, run_id).await);
    }
    fetch(&mut c, run_id)
        .await?
        .ok_or_else(|| StoreError::not_found("run", run_id))
}

const GAP_FIELDS: &[(&str, ColType)] = &[
    ("seq", ColType::Int),
    ("stream", ColType::Text),
    ("reason", ColType::Text),
    ("retryable", ColType::Bool),
];

/// Locks the run's connection, as every writer of a connection does before anything else.
/// Locking the run first deadlocked (Postgres) with a connection delete: the delete holds
/// the connection and cascades into the run, while the finish held the run and its gap
/// insert's foreign-key check waited for the connection.
async fn lock_run_connection(c: &mut Conn, run_id: &str) -> StoreResult<()> {
    let connection_id: Option<String> =
        sqlx::query_scalar("SELECT connection_id FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&mut *c)
            .await?;
    let Some(connection_id) = connection_id else {
        return Err(StoreError::not_found("run", run_id));
    };
    match lock_connection(c, &connection_id).await {
        // Deleted since: the run went with it.
        Err(StoreError::NotFound { .. }) => Err(StoreError::not_found("run", run_id)),
        other => other.map(drop),
    }
}

pub(crate) async fn finish(
    pool: &Pool,
    run_id: &str,
    outcome: &RunOutcome,
    now: Instant,
) -> StoreResult<RunRow> {
    if !outcome.status.is_terminal() {
        return Err(invalid(
            "invalid_run_status",
            "a run finishes as succeeded, succeeded_with_gaps, failed or cancelled",
            "status",
        ));
    }
    if outcome.records_written < 0 {
        return Err(invalid(
            "invalid_records_written",
            "records_written must not be negative",
            "records_written",
        ));
    }
    let mut tx = begin_write(pool).await?;
    lock_run_connection(&mut tx, run_id).await?;
    let row = sqlx::query(
        "UPDATE runs SET status = $1, finished_at = $2, failure_reason = $3,
            records_written = $4, gap_count = $5
         WHERE run_id = $6 AND status IN ('queued', 'running')
         RETURNING connection_id",
    )
    .bind(outcome.status.as_str())
    .bind(ms(now))
    .bind(
        outcome
            .failure_reason
            .as_ref()
            .map(|r| r.as_str().to_owned()),
    )
    .bind(outcome.records_written)
    .bind(outcome.gaps.len() as i64)
    .bind(run_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(not_active(&mut tx, run_id).await);
    };
    let connection_id: String = row.try_get("connection_id")?;
    if !outcome.gaps.is_empty() {
        let payload: Vec<serde_json::Value> = outcome
            .gaps
            .iter()
            .enumerate()
            .map(|(i, g)| {
                serde_json::json!({
                    "seq": i as i64 + 1,
                    "stream": g.stream,
                    "reason": g.reason,
                    "retryable": g.retryable,
                })
            })
            .collect();
        let sql = format!(
            "INSERT INTO run_gaps (run_id, seq, connection_id, stream, reason, retryable)
             SELECT $1, j.seq, $2, j.stream, j.reason, j.retryable FROM {} AS j",
            D::json_rows(3, GAP_FIELDS)
        );
        sqlx::query(&sql)
            .bind(run_id)
            .bind(&connection_id)
            .bind(serde_json::Value::Array(payload).to_string())
            .execute(&mut *tx)
            .await?;
    }
    mark_dirty(
        &mut tx,
        Affected::Connection(&connection_id),
        DirtyParts::RUNS | DirtyParts::GAPS,
        now,
    )
    .await?;
    let run = fetch(&mut tx, run_id)
        .await?
        .ok_or_else(|| StoreError::not_found("run", run_id))?;
    tx.commit().await?;
    Ok(run)
}

const EVENT_FIELDS: &[(&str, ColType)] = &[
    ("seq", ColType::Int),
    ("kind", ColType::Text),
    ("message", ColType::Text),
    ("stream", ColType::Text),
];

/// Events are the deep timeline, not evidence: nothing is dirtied.
pub(crate) async fn append_events(
    pool: &Pool,
    run_id: &str,
    events: &[NewRunEvent],
    now: Instant,
) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    let sql = format!(
        "SELECT run_id FROM runs WHERE run_id = $1{}",
        D::LOCK_FOR_WRITE
    );
    if sqlx::query(&sql)
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(StoreError::not_found("run", run_id));
    }
    if events.is_empty() {
        tx.commit().await?;
        return Ok(());
    }
    let base: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) AS base FROM run_events WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("base")?;
    let payload: Vec<serde_json::Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            serde_json::json!({
                "seq": base + i as i64 + 1,
                "kind": e.kind,
                "message": e.message,
                "stream": e.stream,
            })
        })
        .collect();
    let sql = format!(
        "INSERT INTO run_events (run_id, seq, at, kind, message, stream)
         SELECT $1, j.seq, $2, j.kind, j.message, j.stream FROM {} AS j",
        D::json_rows(3, EVENT_FIELDS)
    );
    sqlx::query(&sql)
        .bind(run_id)
        .bind(ms(now))
        .bind(serde_json::Value::Array(payload).to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn recover_gaps(
    pool: &Pool,
    connection_id: &str,
    stream: Option<&str>,
    now: Instant,
) -> StoreResult<u64> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    let done = sqlx::query(
        "UPDATE run_gaps SET recovered_at = $1
         WHERE connection_id = $2 AND recovered_at IS NULL AND ($3 IS NULL OR stream = $3)",
    )
    .bind(ms(now))
    .bind(connection_id)
    .bind(stream)
    .execute(&mut *tx)
    .await?;
    let n = done.rows_affected();
    if n > 0 {
        mark_dirty(
            &mut tx,
            Affected::Connection(connection_id),
            DirtyParts::GAPS,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn get(pool: &Pool, run_id: &str) -> StoreResult<Option<RunRow>> {
    let mut c = pool.acquire().await?;
    fetch(&mut c, run_id).await
}

pub(crate) async fn events(pool: &Pool, run_id: &str) -> StoreResult<Vec<RunEvent>> {
    let rows = sqlx::query(
        "SELECT run_id, seq, at, kind, message, stream FROM run_events
         WHERE run_id = $1 ORDER BY seq",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunEvent {
                run_id: row.try_get("run_id")?,
                seq: row.try_get("seq")?,
                at: lift(instant(row.try_get("at")?))?,
                kind: row.try_get("kind")?,
                message: row.try_get("message")?,
                stream: row.try_get("stream")?,
            })
        })
        .collect()
}

/// Newest first; `before` continues after that run.
pub(crate) async fn list(
    pool: &Pool,
    connection_id: &str,
    limit: u32,
    before: Option<&str>,
) -> StoreResult<Vec<RunRow>> {
    let mut c = pool.acquire().await?;
    let limit = i64::from(limit.max(1));
    let rows = match before {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM runs WHERE connection_id = $1
                 ORDER BY started_at DESC, run_id DESC LIMIT $2"
            );
            sqlx::query(&sql)
                .bind(connection_id)
                .bind(limit)
                .fetch_all(&mut *c)
                .await?
        }
        Some(before) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM runs r WHERE r.connection_id = $1
                   AND EXISTS (SELECT 1 FROM runs b WHERE b.run_id = $2
                       AND b.connection_id = r.connection_id
                       AND (r.started_at < b.started_at
                            OR (r.started_at = b.started_at AND r.run_id < b.run_id)))
                 ORDER BY r.started_at DESC, r.run_id DESC LIMIT $3"
            );
            sqlx::query(&sql)
                .bind(connection_id)
                .bind(before)
                .bind(limit)
                .fetch_all(&mut *c)
                .await?
        }
    };
    with_gaps(&mut c, rows).await
}

/// Every open run, oldest first, up to `limit`.
pub(crate) async fn all_open_runs(pool: &Pool, limit: u32) -> StoreResult<Vec<OpenRun>> {
    // Rows of a read's context, so one decoder reads open runs wherever they are asked.
    let rows = sqlx::query_as::<_, crate::read_context::ContextRow>(
        "SELECT 'run' AS kind, connection_id, status, run_id, started_at, heartbeat_at
         FROM runs WHERE status IN ('queued', 'running')
         ORDER BY started_at, run_id LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(crate::read_context::ReadContext::from_rows(rows)?.open_runs)
}
