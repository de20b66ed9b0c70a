// Connections: create (with its dirty evidence row), read, change, delete, selectors.

use super::common::{begin_write, lock_connection, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use crate::types::{ConnectionChange, ConnectionRow, NewConnection};
use console_domain::model::ConnectionStatus;
use console_domain::selector::SelectorCandidates;
use console_domain::Instant;

const COLUMNS: &str = "connection_id, connector_id, display_name, status, \
    maximum_staleness_seconds, created_at, updated_at, revoked_at";

fn decode(row: &DbRow) -> StoreResult<ConnectionRow> {
    let status: String = row.try_get("status")?;
    Ok(ConnectionRow {
        connection_id: row.try_get("connection_id")?,
        connector_id: row.try_get("connector_id")?,
        display_name: row.try_get("display_name")?,
        status: lift(parse_enum(
            &status,
            "connection status",
            ConnectionStatus::parse,
        ))?,
        maximum_staleness_seconds: row.try_get("maximum_staleness_seconds")?,
        created_at: lift(instant(row.try_get("created_at")?))?,
        updated_at: lift(instant(row.try_get("updated_at")?))?,
        revoked_at: lift(opt_instant(row.try_get("revoked_at")?))?,
    })
}

async fn fetch(c: &mut Conn, connection_id: &str) -> StoreResult<Option<ConnectionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE connection_id = $1");
    let row = sqlx::query(&sql)
        .bind(connection_id)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(crate) async fn create(
    pool: &Pool,
    new: &NewConnection,
    now: Instant,
) -> StoreResult<ConnectionRow> {
    let mut tx = begin_write(pool).await?;
    let known = sqlx::query("SELECT connector_id FROM connectors WHERE connector_id = $1")
        .bind(&new.connector_id)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(invalid(
            "unknown_connector",
            "no connector with that id is registered",
            "connector_id",
        ));
    }
    let id = new_id("conn");
    let revoked_at = (new.status == ConnectionStatus::Revoked).then(|| ms(now));
    sqlx::query(
        "INSERT INTO connections (connection_id, connector_id, display_name, status,
            maximum_staleness_seconds, created_at, updated_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
    )
    .bind(&id)
    .bind(&new.connector_id)
    .bind(&new.display_name)
    .bind(new.status.as_str())
    .bind(new.maximum_staleness_seconds)
    .bind(ms(now))
    .bind(revoked_at)
    .execute(&mut *tx)
    .await?;
    // A new row: nothing folded to carry over.
    mark_dirty(&mut tx, Affected::Connection(&id), DirtyParts::ALL, now).await?;
    let row = fetch(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::not_found("connection", &id))?;
    tx.commit().await?;
    Ok(row)
}

pub(crate) async fn get(pool: &Pool, connection_id: &str) -> StoreResult<Option<ConnectionRow>> {
    let mut c = pool.acquire().await?;
    fetch(&mut c, connection_id).await
}

pub(crate) async fn update(
    pool: &Pool,
    connection_id: &str,
    change: &ConnectionChange,
    now: Instant,
) -> StoreResult<ConnectionRow> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    let current = fetch(&mut tx, connection_id)
        .await?
        .ok_or_else(|| StoreError::not_found("connection", connection_id))?;
    let changed = match change {
        ConnectionChange::Rename(label) => {
            if &current.display_name == label {
                false
            } else {
                sqlx::query(
                    "UPDATE connections SET display_name = $1, updated_at = $2
                     WHERE connection_id = $3",
                )
                .bind(label)
                .bind(ms(now))
                .bind(connection_id)
                .execute(&mut *tx)
                .await?;
                true
            }
        }
        ConnectionChange::Status { from, to } => {
            if current.status != *from {
                return Err(StoreError::Conflict {
                    code: "status_changed",
                    message: format!(
                        "the connection is {}, not {}; reload and try again",
                        current.status, from
                    ),
                    existing: Some(current.status.as_str().to_owned()),
                });
            }
            if from == to {
                false
            } else {
                let revoked_at = match to {
                    ConnectionStatus::Revoked => Some(ms(now)),
                    _ => None,
                };
                sqlx::query(
                    "UPDATE connections SET status = $1, revoked_at = $2, updated_at = $3
                     WHERE connection_id = $4",
                )
                .bind(to.as_str())
                .bind(revoked_at)
                .bind(ms(now))
                .bind(connection_id)
                .execute(&mut *tx)
                .await?;
                true
            }
        }
        ConnectionChange::StalenessOverride(seconds) => {
            if current.maximum_staleness_seconds == *seconds {
                false
            } else {
                sqlx::query(
                    "UPDATE connections SET maximum_staleness_seconds = $1, updated_at = $2
                     WHERE connection_id = $3",
                )
                .bind(seconds)
                .bind(ms(now))
                .bind(connection_id)
                .execute(&mut *tx)
                .await?;
                true
            }
        }
    };
    if !changed {
        tx.commit().await?;
        return Ok(current);
    }
    mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::NONE,
        now,
    )
    .await?;
    let row = fetch(&mut tx, connection_id)
        .await?
        .ok_or_else(|| StoreError::not_found("connection", connection_id))?;
    tx.commit().await?;
    Ok(row)
}

pub(crate) async fn delete(pool: &Pool, connection_id: &str) -> StoreResult<()> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    // Owned rows go by ON DELETE CASCADE; the evidence row has no foreign key.
    sqlx::query("DELETE FROM connections WHERE connection_id = $1")
        .bind(connection_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM connector_summary_evidence WHERE connection_id = $1")
        .bind(connection_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn count(pool: &Pool) -> StoreResult<u64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM connections")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<i64, _>("n")?.max(0) as u64)
}

/// One statement: the exact id (if any) and up to two connections of a connector id.
pub(crate) async fn selector_candidates(
    pool: &Pool,
    selector: &str,
) -> StoreResult<SelectorCandidates> {
    let rows = sqlx::query(
        "SELECT connection_id, connector_id FROM connections
         WHERE connection_id = $1 OR connector_id = $1
         ORDER BY CASE WHEN connection_id = $1 THEN 0 ELSE 1 END, created_at, connection_id
         LIMIT 3",
    )
    .bind(selector)
    .fetch_all(pool)
    .await?;
    let mut candidates = SelectorCandidates::default();
    for row in rows {
        let id: String = row.try_get("connection_id")?;
        let connector: String = row.try_get("connector_id")?;
        if id == selector {
            candidates.exact = Some(id.clone());
        }
        if connector == selector && candidates.by_connector.len() < 2 {
            candidates.by_connector.push(id);
        }
    }
    Ok(candidates)
}
