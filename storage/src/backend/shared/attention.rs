// Attention: things only the owner can do. Open and resolve dirty the connection.

use super::common::{begin_write, lock_connection, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use crate::types::AttentionRow;
use console_domain::model::AttentionKind;
use console_domain::Instant;

const COLUMNS: &str = "attention_id, connection_id, kind, message, opened_at, resolved_at";

fn decode(row: &DbRow) -> StoreResult<AttentionRow> {
    let kind: String = row.try_get("kind")?;
    Ok(AttentionRow {
        attention_id: row.try_get("attention_id")?,
        connection_id: row.try_get("connection_id")?,
        kind: lift(parse_enum(&kind, "attention kind", AttentionKind::parse))?,
        message: row.try_get("message")?,
        opened_at: lift(instant(row.try_get("opened_at")?))?,
        resolved_at: lift(opt_instant(row.try_get("resolved_at")?))?,
    })
}

async fn fetch(c: &mut Conn, attention_id: &str) -> StoreResult<Option<AttentionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM attention WHERE attention_id = $1");
    let row = sqlx::query(&sql)
        .bind(attention_id)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Opening a kind that is already open returns the open one and changes nothing.
pub(crate) async fn open(
    pool: &Pool,
    connection_id: &str,
    kind: AttentionKind,
    message: Option<&str>,
    now: Instant,
) -> StoreResult<AttentionRow> {
    let mut tx = begin_write(pool).await?;
    lock_connection(&mut tx, connection_id).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM attention
         WHERE connection_id = $1 AND kind = $2 AND resolved_at IS NULL
         ORDER BY opened_at, attention_id LIMIT 1"
    );
    let existing = sqlx::query(&sql)
        .bind(connection_id)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        let row = decode(&row)?;
        tx.commit().await?;
        return Ok(row);
    }
    let id = new_id("att");
    sqlx::query(
        "INSERT INTO attention (attention_id, connection_id, kind, message, opened_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(connection_id)
    .bind(kind.as_str())
    .bind(message)
    .bind(ms(now))
    .execute(&mut *tx)
    .await?;
    mark_dirty(
        &mut tx,
        Affected::Connection(connection_id),
        DirtyParts::ATTENTION,
        now,
    ).await?;
    let row = fetch(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::not_found("attention", &id))?;
    tx.commit().await?;
    Ok(row)
}

/// Resolving an already resolved attention returns it unchanged.
pub(crate) async fn resolve(
    pool: &Pool,
    attention_id: &str,
    now: Instant,
) -> StoreResult<AttentionRow> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(
        "UPDATE attention SET resolved_at = $1
         WHERE attention_id = $2 AND resolved_at IS NULL
         RETURNING connection_id",
    )
    .bind(ms(now))
    .bind(attention_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = row {
        let connection_id: String = row.try_get("connection_id")?;
        mark_dirty(
            &mut tx,
            Affected::Connection(&connection_id),
            DirtyParts::ATTENTION,
            now,
        ).await?;
    }
    let current = fetch(&mut tx, attention_id)
        .await?
        .ok_or_else(|| StoreError::not_found("attention", attention_id))?;
    tx.commit().await?;
    Ok(current)
}

/// Newest first.
pub(crate) async fn list(pool: &Pool, connection_id: &str) -> StoreResult<Vec<AttentionRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM attention WHERE connection_id = $1
         ORDER BY opened_at DESC, attention_id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(connection_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}
