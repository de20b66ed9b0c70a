// Full rebuild / repair: remove orphan evidence rows, then, in bounded batches of
// connections (each batch one transaction), recompute the stream stats from `records` and
// every evidence row with the same extraction the fold uses. Idempotent.

use super::super::common::{decode_columns, decode_maintenance, Verified};
use super::extract::{extract, Reading};
use crate::dirty_parts::DirtyParts;
use crate::dialect::Dialect;
use crate::evidence_row::{ColType, EvidenceColumns, Maintenance, EVIDENCE_COLUMNS};
use crate::row_set::EvidenceRowSet as _;
use crate::types::{Progress, ReadModelStatus, RebuildReport};
use console_domain::Instant;
use crate::id_map::{id_map, IdMap};

pub(crate) async fn rebuild(
    pool: &Pool,
    batch_size: u32,
    now: Instant,
    progress: Progress<'_>,
) -> StoreResult<RebuildReport> {
    let batch_size = i64::from(batch_size.clamp(1, 10_000));
    let mut report = RebuildReport::default();
    let total = super::super::connections::count(pool).await?;

    let mut tx = super::super::common::begin_derived(pool).await?;
    let removed = sqlx::query(
        "DELETE FROM connector_summary_evidence WHERE NOT EXISTS (
            SELECT 1 FROM connections c
            WHERE c.connection_id = connector_summary_evidence.connection_id)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    report.removed = removed.rows_affected();
    progress(0, total);

    let mut after: Option<String> = None;
    loop {
        let mut tx = super::super::common::begin_derived(pool).await?;
        let rows = match &after {
            // Writers lock the connection row first; so does the rebuild (no lock cycle).
            None => {
                let sql = format!(
                    "SELECT connection_id FROM connections ORDER BY connection_id LIMIT $1{}",
                    D::LOCK_FOR_WRITE
                );
                sqlx::query(&sql)
                    .bind(batch_size)
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(after) => {
                let sql = format!(
                    "SELECT connection_id FROM connections WHERE connection_id > $1
                     ORDER BY connection_id LIMIT $2{}",
                    D::LOCK_FOR_WRITE
                );
                sqlx::query(&sql)
                    .bind(after)
                    .bind(batch_size)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let ids = rows
            .iter()
            .map(|r| r.try_get::<String, _>("connection_id"))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            tx.commit().await?;
            break;
        }
        rebuild_batch(&mut tx, &ids, now, &mut report).await?;
        tx.commit().await?;
        report.batches += 1;
        report.examined += ids.len() as u64;
        progress(report.examined, total.max(report.examined));
        after = ids.last().cloned();
    }
    if let Some(analyze) = D::ANALYZE_AFTER_REBUILD {
        sqlx::query(analyze).execute(pool).await?;
    }
    Ok(report)
}

async fn rebuild_batch(
    c: &mut Conn,
    ids: &[String],
    now: Instant,
    report: &mut RebuildReport,
) -> StoreResult<()> {
    // Hold the batch's evidence rows so no write interleaves (Postgres; SQLite has one writer).
    let sql = format!(
        "SELECT {} FROM connector_summary_evidence e WHERE {} ORDER BY e.connection_id{}",
        super::super::common::evidence_select_list(),
        D::in_ids("e.connection_id", 1),
        D::LOCK_WAIT
    );
    let mut existing: IdMap<(Result<EvidenceColumns, String>, Maintenance)> =
        id_map(ids.len());
    let (mut columns, mut maintenance) = (Verified::default(), Verified::default());
    for row in sqlx::query(&sql)
        .bind(D::ids(ids))
        .fetch_all(&mut *c)
        .await?
    {
        let id: String = row.try_get("connection_id")?;
        let cols = decode_columns(&row, &mut columns).map_err(|_| "unreadable".to_owned());
        existing.insert(id, (cols, decode_maintenance(&row, &mut maintenance)?));
    }

    // Stream stats from the records themselves.
    let sql = format!(
        "DELETE FROM record_stats WHERE {}",
        D::in_ids("connection_id", 1)
    );
    sqlx::query(&sql).bind(D::ids(ids)).execute(&mut *c).await?;
    let sql = format!(
        "INSERT INTO record_stats (connection_id, stream, record_count, last_updated_at)
         SELECT connection_id, stream,
                SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END), MAX(updated_at)
         FROM records WHERE {}
         GROUP BY connection_id, stream",
        D::in_ids("connection_id", 1)
    );
    sqlx::query(&sql).bind(D::ids(ids)).execute(&mut *c).await?;

    let extracted = extract(c, ids, Reading::Full).await?;
    // The upsert's rows.
    let mut writes = Vec::new();
    let mut failures = Vec::new();
    for id in ids {
        let Some(result) = extracted.get(id) else {
            continue;
        };
        let old = existing.get(id);
        match result {
            Ok(evidence) => {
                let cols = EvidenceColumns::from_evidence(evidence);
                match old {
                    None => report.created += 1,
                    Some((Ok(old_cols), m))
                        if *old_cols == cols && !m.dirty && m.error.is_none() =>
                    {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => report.changed += 1,
                }
                writes.push(cols);
            }
            Err(reason) => {
                match old {
                    Some((_, m)) if m.error.as_deref() == Some(reason.as_str()) => {
                        report.unchanged += 1
                    }
                    _ => report.changed += 1,
                }
                failures.push(serde_json::json!({"target_id": id, "error": reason}));
            }
        }
    }

    if !writes.is_empty() {
        let seq = super::super::common::next_seq(c).await?;
        let names: Vec<&str> = EVIDENCE_COLUMNS.iter().map(|(n, _)| *n).collect();
        let select: Vec<String> = names.iter().map(|n| format!("j.{n}")).collect();
        let set: Vec<String> = names
            .iter()
            .filter(|n| **n != "connection_id")
            .map(|n| format!("{n} = excluded.{n}"))
            .collect();
        // The sequence and the instant ride in every row: the rows are the statement's only
        // parameters.
        let mut rows = EvidenceRows::new(2);
        for cols in &writes {
            rows.push(cols, &[seq, ms(now)]);
        }
        let mut columns = EVIDENCE_COLUMNS.to_vec();
        columns.extend([("seq", ColType::Int), ("now", ColType::Int)]);
        for part in rows.into_parts() {
            let sql = format!(
                "INSERT INTO connector_summary_evidence ({}, dirty, dirty_since, write_seq,
                    folded_seq, computed_at, error)
                 SELECT {}, FALSE, NULL, j.seq, j.seq, j.now, NULL FROM {} AS j WHERE TRUE
                 ON CONFLICT (connection_id) DO UPDATE SET {},
                    dirty = FALSE, dirty_since = NULL,
                    folded_seq = connector_summary_evidence.write_seq,
                    computed_at = excluded.computed_at, error = NULL",
                names.join(", "),
                select.join(", "),
                part.sql(&columns),
                set.join(", ")
            );
            part.bind_to(sqlx::query(&sql)).execute(&mut *c).await?;
        }
    }
    if !failures.is_empty() {
        let fields = [("target_id", ColType::Text), ("error", ColType::Text)];
        let sql = format!(
            "UPDATE connector_summary_evidence AS e SET error = j.error, dirty = TRUE,
                dirty_since = COALESCE(e.dirty_since, $1), dirty_parts = {all}
             FROM {} AS j WHERE e.connection_id = j.target_id",
            D::json_rows(2, &fields),
            // Its evidence could not be rebuilt: the next fold carries nothing over.
            all = DirtyParts::ALL.bits(),
        );
        sqlx::query(&sql)
            .bind(ms(now))
            .bind(serde_json::Value::Array(failures).to_string())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub(crate) async fn status(pool: &Pool) -> StoreResult<ReadModelStatus> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total_rows,
                COALESCE(SUM(CASE WHEN dirty THEN 1 ELSE 0 END), 0) AS dirty_rows,
                COALESCE(SUM(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed_rows,
                MIN(CASE WHEN dirty THEN dirty_since END) AS oldest_dirty_since
         FROM connector_summary_evidence",
    )
    .fetch_one(pool)
    .await?;
    let count = |name: &str| -> StoreResult<u64> { Ok(row.try_get::<i64, _>(name)?.max(0) as u64) };
    Ok(ReadModelStatus {
        rows: count("total_rows")?,
        dirty: count("dirty_rows")?,
        failed: count("failed_rows")?,
        oldest_dirty_since: lift(opt_instant(row.try_get("oldest_dirty_since")?))?,
    })
}

/// Maintenance columns of every evidence row (diagnostics and tests).
pub(crate) async fn maintenance_rows(
    pool: &Pool,
) -> StoreResult<Vec<crate::types::EvidenceMaintenance>> {
    let rows = sqlx::query(
        "SELECT connection_id, dirty, dirty_since, write_seq, folded_seq, computed_at, error
         FROM connector_summary_evidence ORDER BY connection_id",
    )
    .fetch_all(pool)
    .await?;
    let mut maintenance = Verified::default();
    rows.iter()
        .map(|row| {
            let m = decode_maintenance(row, &mut maintenance)?;
            Ok(crate::types::EvidenceMaintenance {
                connection_id: row.try_get("connection_id")?,
                dirty: m.dirty,
                dirty_since: lift(opt_instant(m.dirty_since))?,
                write_seq: m.write_seq,
                folded_seq: m.folded_seq,
                computed_at: lift(opt_instant(m.computed_at))?,
                error: m.error,
            })
        })
        .collect()
}
