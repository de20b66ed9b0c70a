// Schedules: `next_due_at` is derived = last run start + interval, or (never run) the
// schedule's creation + jitter; NULL while disabled.

use super::common::{begin_write, lock_connection, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use crate::types::ScheduleInput;
use console_domain::Instant;

pub(crate) async fn put(
    pool: &Pool,
    connection_id: &str,
    input: &ScheduleInput,
    now: Instant,
) -> StoreResult<()> {
    if input.interval_seconds <= 0 || input.jitter_seconds < 0 {
        return Err(invalid(
            "invalid_interval",
            "interval_seconds must be positive and jitter_seconds not negative",
            "interval_seconds",
        ));
    }
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    let existing = sqlx::query(
        "SELECT interval_seconds, jitter_seconds, enabled, created_at FROM schedules
         WHERE connection_id = $1",
    )
    .bind(connection_id)
    .fetch_optional(&mut *tx)
    .await?;
    let created_at = match &existing {
        Some(row) => {
            let same = row.try_get::<i64, _>("interval_seconds")? == input.interval_seconds
                && row.try_get::<i64, _>("jitter_seconds")? == input.jitter_seconds
                && row.try_get::<bool, _>("enabled")? == input.enabled;
            if same {
                tx.commit().await?;
                return Ok(());
            }
            row.try_get::<i64, _>("created_at")?
        }
        None => ms(now),
    };
    let last_start: Option<i64> =
        sqlx::query("SELECT MAX(started_at) AS last_start FROM runs WHERE connection_id = $1")
            .bind(connection_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last_start")?;
    let next_due_at = input.enabled.then(|| match last_start {
        Some(start) => start.saturating_add(input.interval_seconds.saturating_mul(1000)),
        None => created_at.saturating_add(input.jitter_seconds.saturating_mul(1000)),
    });
    sqlx::query(
        "INSERT INTO schedules (connection_id, interval_seconds, jitter_seconds, enabled,
            next_due_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (connection_id) DO UPDATE SET
            interval_seconds = excluded.interval_seconds,
            jitter_seconds = excluded.jitter_seconds, enabled = excluded.enabled,
            next_due_at = excluded.next_due_at, updated_at = excluded.updated_at",
    )
    .bind(connection_id)
    .bind(input.interval_seconds)
    .bind(input.jitter_seconds)
    .bind(input.enabled)
    .bind(next_due_at)
    .bind(created_at)
    .bind(ms(now))
    .execute(&mut *tx)
    .await?;
    mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::NONE,
        now,
    ).await?;
    tx.commit().await?;
    Ok(())
}

/// Advances `next_due_at` when a run starts (inside the run-start transaction).
pub(crate) async fn on_run_started(
    c: &mut Conn,
    connection_id: &str,
    now: Instant,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE schedules SET next_due_at = $1 + interval_seconds * 1000
         WHERE connection_id = $2 AND enabled = TRUE",
    )
    .bind(ms(now))
    .bind(connection_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub(crate) async fn due(pool: &Pool, now: Instant, limit: u32) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT s.connection_id FROM schedules s
         JOIN connections c ON c.connection_id = s.connection_id
         WHERE s.enabled = TRUE AND s.next_due_at <= $1 AND c.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.connection_id = s.connection_id
                           AND r.status IN ('queued', 'running'))
         ORDER BY s.next_due_at, s.connection_id
         LIMIT $2",
    )
    .bind(ms(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("connection_id")?))
        .collect()
}
