// Page and scoped reads: one indexed statement for the rows, a fold of exactly the dirty
// rows among them (a fixed number of set-based statements), one statement for their open
// runs. With no dirty rows a page is two statements whatever the fleet size.

use super::fold::{compute_only, fold, Scope};
use crate::dialect::Dialect;
use crate::evidence_row::{EvidenceColumns, Maintenance};
use crate::types::{EvidencePage, ListKey, ListOrder, ListQuery, PagePosition};
use console_domain::evidence::Evidence;
use console_domain::Instant;

enum Bind {
    Text(String),
    Int(i64),
}

type StoredRow = (EvidenceColumns, Maintenance);

fn decode_rows(rows: &[DbRow]) -> StoreResult<Vec<StoredRow>> {
    rows.iter()
        .map(|row| {
            Ok((
                super::super::common::decode_columns(row)?,
                super::super::common::decode_maintenance(row)?,
            ))
        })
        .collect()
}

fn bad_position() -> StoreError {
    invalid(
        "invalid_cursor",
        "the page position does not belong to this order",
        "cursor",
    )
}

fn position_of(order: ListOrder, cols: &EvidenceColumns) -> StoreResult<PagePosition> {
    let key = ListKey {
        connector_id: cols.connector_id.clone(),
        created_at: lift(instant(cols.created_at))?,
        connection_id: cols.connection_id.clone(),
    };
    Ok(match order {
        ListOrder::Stable => PagePosition::Stable(key),
        ListOrder::NeedsYouFirst => PagePosition::NeedsYouFirst {
            rank: cols.needs_rank,
            stale_at: Some(cols.stale_sort),
            key,
        },
    })
}

pub(crate) async fn read_page(
    pool: &Pool,
    query: &ListQuery,
    now: Instant,
) -> StoreResult<EvidencePage> {
    let mut binds: Vec<Bind> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let param = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(status) = query.status {
        let p = param(&mut binds, Bind::Text(status.as_str().to_owned()));
        filters.push(format!("e.status = {p}"));
    }
    let key_cols = match query.order {
        ListOrder::Stable => "e.connector_id, e.created_at, e.connection_id",
        ListOrder::NeedsYouFirst => {
            "e.needs_rank, e.stale_sort, e.connector_id, e.created_at, e.connection_id"
        }
    };
    if let Some(after) = &query.after {
        let mut values = Vec::new();
        let key = match (query.order, after) {
            (ListOrder::Stable, PagePosition::Stable(key)) => key,
            (
                ListOrder::NeedsYouFirst,
                PagePosition::NeedsYouFirst {
                    rank,
                    stale_at,
                    key,
                },
            ) => {
                values.push(param(&mut binds, Bind::Int(*rank)));
                values.push(param(
                    &mut binds,
                    Bind::Int(stale_at.unwrap_or(crate::evidence_row::NO_STALE_AT)),
                ));
                key
            }
            _ => return Err(bad_position()),
        };
        values.push(param(&mut binds, Bind::Text(key.connector_id.clone())));
        values.push(param(&mut binds, Bind::Int(ms(key.created_at))));
        values.push(param(&mut binds, Bind::Text(key.connection_id.clone())));
        filters.push(format!("({key_cols}) > ({})", values.join(", ")));
    }
    let limit = query.limit.map(|l| l.max(1));
    let limit_clause = match limit {
        Some(l) => format!(" LIMIT {}", param(&mut binds, Bind::Int(i64::from(l) + 1))),
        None => String::new(),
    };
    let where_clause = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let sql = format!(
        "SELECT {} FROM connector_summary_evidence e{where_clause} ORDER BY {key_cols}{limit_clause}",
        super::super::common::evidence_select_list("e"),
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(pool).await?;
    let mut rows = decode_rows(&rows)?;
    let mut next = None;
    if let Some(l) = limit {
        if rows.len() > l as usize {
            rows.truncate(l as usize);
            if let Some((cols, _)) = rows.last() {
                next = Some(position_of(query.order, cols)?);
            }
        }
    }
    finish_page(pool, rows, next, now).await
}

/// Exactly these connections (in the order given; unknown ids are skipped).
pub(crate) async fn read_ids(
    pool: &Pool,
    ids: &[String],
    now: Instant,
) -> StoreResult<EvidencePage> {
    if ids.is_empty() {
        return Ok(EvidencePage {
            rows: Vec::new(),
            open_runs: Vec::new(),
            next: None,
        });
    }
    let sql = format!(
        "SELECT {} FROM connector_summary_evidence e WHERE {}",
        super::super::common::evidence_select_list("e"),
        D::in_ids("e.connection_id", 1)
    );
    let rows = sqlx::query(&sql).bind(D::ids(ids)).fetch_all(pool).await?;
    let mut rows = decode_rows(&rows)?;
    rows.sort_by_key(|(cols, _)| ids.iter().position(|id| *id == cols.connection_id));
    finish_page(pool, rows, None, now).await
}

/// Folds the dirty rows among `rows`, then reads their open runs.
async fn finish_page(
    pool: &Pool,
    rows: Vec<StoredRow>,
    next: Option<PagePosition>,
    now: Instant,
) -> StoreResult<EvidencePage> {
    let evidence = resolve(pool, rows, now).await?;
    let ids: Vec<String> = evidence.iter().map(|e| e.connection_id.clone()).collect();
    let open_runs = if ids.is_empty() {
        Vec::new()
    } else {
        let mut c = pool.acquire().await?;
        super::super::runs::open_runs(&mut c, &ids).await?
    };
    Ok(EvidencePage {
        rows: evidence,
        open_runs,
        next,
    })
}

/// Stored rows as evidence, folding the dirty ones first. If the fold cannot run (the
/// write lock is busy), the dirty rows are computed with the same extraction and returned
/// unpublished; if even that fails, they read as failed with the reason, never a guess.
async fn resolve(pool: &Pool, rows: Vec<StoredRow>, now: Instant) -> StoreResult<Vec<Evidence>> {
    let dirty: Vec<String> = rows
        .iter()
        .filter(|(_, m)| m.dirty)
        .map(|(cols, _)| cols.connection_id.clone())
        .collect();
    let mut outcome = None;
    if !dirty.is_empty() {
        outcome = match fold(pool, Scope::Ids(&dirty), now).await {
            Ok(o) => Some(o),
            Err(fold_error) => {
                tracing::warn!(error = %fold_error, "page fold failed; computing without publishing");
                compute_only(pool, &dirty, now).await.ok()
            }
        };
    }
    let mut out = Vec::with_capacity(rows.len());
    for (cols, mut m) in rows {
        if m.dirty {
            match &mut outcome {
                Some(o) => {
                    if let Some(fresh) = o.fresh.remove(&cols.connection_id) {
                        out.push(fresh);
                        continue;
                    }
                    if let Some(reason) = o.published.failed.get(&cols.connection_id) {
                        m.error = Some(reason.clone());
                    } else {
                        m.error = Some("evidence could not be extracted".to_owned());
                    }
                }
                None => m.error = Some("source read failed while folding".to_owned()),
            }
        }
        out.push(lift(cols.to_evidence_or_failed(&m))?);
    }
    Ok(out)
}
