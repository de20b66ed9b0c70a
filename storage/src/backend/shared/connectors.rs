// Connector manifests. A changed manifest dirties every connection of the connector.

use super::common::{begin_write, mark_dirty, Affected};
use crate::dirty_parts::DirtyParts;
use console_domain::model::ConnectorManifest;
use console_domain::Instant;

fn parse_manifest(text: &str) -> StoreResult<ConnectorManifest> {
    serde_json::from_str(text).map_err(|_| corrupt("stored connector manifest is not readable"))
}

fn manifest_text(manifest: &ConnectorManifest) -> StoreResult<String> {
    let value = serde_json::to_value(manifest).map_err(|_| {
        invalid(
            "invalid_manifest",
            "manifest cannot be serialized",
            "manifest",
        )
    })?;
    Ok(canonical_json(&value))
}

pub(crate) async fn upsert(
    pool: &Pool,
    manifest: &ConnectorManifest,
    now: Instant,
) -> StoreResult<bool> {
    let text = manifest_text(manifest)?;
    let mut tx = begin_write(pool).await?;
    let sql = format!(
        "SELECT manifest FROM connectors WHERE connector_id = $1{}",
        <D as crate::dialect::Dialect>::LOCK_FOR_WRITE
    );
    let existing: Option<String> = sqlx::query(&sql)
        .bind(&manifest.connector_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("manifest"))
        .transpose()?;
    if existing.as_deref() == Some(text.as_str()) {
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO connectors (connector_id, display_name, version, source_kind,
            recommended_mode, maximum_staleness_seconds, manifest, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (connector_id) DO UPDATE SET
            display_name = excluded.display_name, version = excluded.version,
            source_kind = excluded.source_kind, recommended_mode = excluded.recommended_mode,
            maximum_staleness_seconds = excluded.maximum_staleness_seconds,
            manifest = excluded.manifest, updated_at = excluded.updated_at",
    )
    .bind(&manifest.connector_id)
    .bind(&manifest.display_name)
    .bind(&manifest.version)
    .bind(&manifest.source_kind)
    .bind(manifest.recommended_mode.as_str())
    .bind(manifest.refresh_policy.maximum_staleness_seconds)
    .bind(&text)
    .bind(ms(now))
    .execute(&mut *tx)
    .await?;
    if existing.is_some() {
        mark_dirty(
            &mut tx,
            Affected::Connector(&manifest.connector_id),
            DirtyParts::NONE,
            now,
        ).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn get(pool: &Pool, connector_id: &str) -> StoreResult<Option<ConnectorManifest>> {
    let row = sqlx::query("SELECT manifest FROM connectors WHERE connector_id = $1")
        .bind(connector_id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| parse_manifest(&r.try_get::<String, _>("manifest")?))
        .transpose()
}

pub(crate) async fn list(pool: &Pool) -> StoreResult<Vec<ConnectorManifest>> {
    let rows = sqlx::query("SELECT manifest FROM connectors ORDER BY connector_id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| parse_manifest(&r.try_get::<String, _>("manifest")?))
        .collect()
}
