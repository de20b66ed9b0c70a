// Runtime liveness heartbeats and owner settings: neither is evidence.

use console_domain::Instant;

pub(crate) async fn runtime_heartbeat(pool: &Pool, label: &str, now: Instant) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO runtime_heartbeats (label, last_heartbeat_at) VALUES ($1, $2)
         ON CONFLICT (label) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at",
    )
    .bind(label)
    .bind(ms(now))
    .execute(pool)
    .await?;
    Ok(())
}

/// The runtime's latest heartbeat: at most one row, `label` and `last_heartbeat_at`.
pub(crate) const LATEST_HEARTBEAT: &str = "SELECT label, last_heartbeat_at FROM runtime_heartbeats
     ORDER BY last_heartbeat_at DESC, label LIMIT 1";

pub(crate) async fn get(pool: &Pool, key: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

/// Sets the value only if absent; returns the value now stored.
pub(crate) async fn init(pool: &Pool, key: &str, value: &str) -> StoreResult<String> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(pool)
        .await?;
    get(pool, key)
        .await?
        .ok_or_else(|| corrupt("setting vanished right after it was written"))
}

pub(crate) async fn put(pool: &Pool, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    Ok(())
}
