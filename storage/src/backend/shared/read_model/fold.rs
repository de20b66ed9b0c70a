// The fold: read dirty rows' (id, write_seq), extract, publish with ONE set-based
// compare-and-set UPDATE (only rows whose write_seq still equals the value read and that
// are still dirty: a rebuild that repaired the row meanwhile cleans it without moving its
// sequence, and its evidence must stand). Rows whose sequence moved stay dirty (`raced`);
// rows whose extraction failed keep their last evidence, get a sanitized `error` and move
// to the back of the sweep queue.

use super::super::common::begin_fold;
use super::extract::{extract, extract_alone, Extracted, Reading};
use crate::built_once::BuiltOnce;
use crate::dialect::Dialect;
use crate::evidence_row::{ColType, EvidenceColumns, EVIDENCE_COLUMNS};
use crate::row_set::EvidenceRowSet as _;
use crate::types::{FoldReport, SweepReport};
use console_domain::evidence::{CountState, Evidence, EvidenceState};
use console_domain::Instant;
use crate::id_map::{id_map, IdHasher, IdMap, IdSet};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::LazyLock;

use crate::types::FoldClaim as Claim;

/// Which dirty rows a fold takes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    /// These rows (a page about to be returned), if still dirty.
    Ids(&'a [String]),
    /// The `budget` oldest-dirty rows (the sweeper).
    Oldest(u32),
}

/// Reads the dirty rows of `scope`. With `lock` (inside a fold transaction) Postgres claims
/// them `FOR UPDATE SKIP LOCKED`, so concurrent folders split the work instead of waiting.
pub(crate) async fn claim(c: &mut Conn, scope: Scope<'_>, lock: bool) -> StoreResult<Vec<Claim>> {
    let query = sqlx::query(claim_statement(scope, lock));
    let query = match scope {
        Scope::Ids([]) => return Ok(Vec::new()),
        Scope::Ids(ids) => query.bind(D::ids(ids)),
        Scope::Oldest(budget) => query.bind(i64::from(budget)),
    };
    let rows = query.fetch_all(&mut *c).await?;
    rows.iter()
        .map(|row| {
            Ok(Claim {
                connection_id: row.try_get("connection_id")?,
                write_seq: row.try_get("write_seq")?,
                stored_rank: (row.try_get("needs_rank")?, row.try_get("stale_sort")?),
            })
        })
        .collect()
}

/// [`claim`]'s statement for the kind of `scope`, with or without the lock; each built once.
fn claim_statement(scope: Scope<'_>, lock: bool) -> &'static str {
    static TEXTS: BuiltOnce<String, 4> = BuiltOnce::new();
    let by_ids = matches!(scope, Scope::Ids(_));
    TEXTS.get(2 * usize::from(by_ids) + usize::from(lock), || {
        claim_sql(by_ids, if lock { D::LOCK_SKIP_LOCKED } else { "" })
    })
}

/// The claim of the ids bound as an array (`by_ids`) or of the oldest dirty rows up to the
/// limit bound, then `lock`.
fn claim_sql(by_ids: bool, lock: &str) -> String {
    if by_ids {
        format!(
            "SELECT connection_id, write_seq, needs_rank, stale_sort
             FROM connector_summary_evidence
             WHERE {} AND {}
             ORDER BY dirty_since, connection_id{lock}",
            D::dirty_by_key("dirty"),
            D::in_ids("connection_id", 1)
        )
    } else {
        // `WHERE dirty`, not `dirty = TRUE`: SQLite uses the partial index `cse_dirty`
        // only when the query repeats its predicate literally; otherwise every sweep
        // scans the whole table and sorts it (fold time grew with the fleet).
        format!(
            "SELECT connection_id, write_seq, needs_rank, stale_sort
             FROM connector_summary_evidence
             WHERE dirty
             ORDER BY dirty_since, connection_id LIMIT $1{lock}"
        )
    }
}

/// Evidence columns a fold never writes. `connection_id`, `connector_id` and `created_at`
/// never change (the list's immutable order key); `status` is written by the marking in the
/// very transaction that changes it, and the compare-and-set publishes only rows no write
/// has touched since the fold read them, so the fold would write the value already there.
/// Leaving them out of the `SET` spares SQLite rewriting the `cse_stable` and
/// `cse_status_*` index entries of every folded row (it maintains an index whenever one of
/// its columns is assigned, even to the same value).
const NOT_PUBLISHED: &[&str] = &["connection_id", "connector_id", "created_at", "status"];

/// The "needs you first" order columns (indexed by `cse_needs` and `cse_status_needs`).
const RANK_COLUMNS: &[&str] = &["needs_rank", "stale_sort"];

fn published_columns() -> impl Iterator<Item = &'static (&'static str, ColType)> {
    EVIDENCE_COLUMNS
        .iter()
        .filter(|(name, _)| !NOT_PUBLISHED.contains(name))
}

/// The publish statement's row fields, by position: every evidence column (the ones not
/// published are carried but not assigned; `connection_id` as `target_id`, which keeps
/// `RETURNING connection_id` unambiguous), then the claimed sequence and the fold's instant
/// (in every row: the rows are the statement's only parameters). Listed once.
static PUBLISH_FIELDS: LazyLock<Vec<(&str, ColType)>> = LazyLock::new(|| {
    let mut fields: Vec<(&str, ColType)> = EVIDENCE_COLUMNS
        .iter()
        .map(|&(name, ty)| match name {
            "connection_id" => ("target_id", ty),
            _ => (name, ty),
        })
        .collect();
    fields.push(("seq", ColType::Int));
    fields.push(("now", ColType::Int));
    fields
});

/// Result of publishing one fold.
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub report: FoldReport,
    /// Rows whose evidence was published at their claimed sequence.
    pub published: IdSet,
    /// Rows whose extraction failed, with the sanitized reason.
    pub failed: IdMap<String>,
}

/// Publishes extracted evidence for the claims: compare-and-set UPDATEs for the rows that
/// extracted (on SQLite two: rank unchanged, rank moved), one more for the rows that failed
/// (only when there are any).
pub(crate) async fn publish(
    c: &mut Conn,
    claims: &[Claim],
    extracted: &Extracted,
    now: Instant,
) -> StoreResult<Published> {
    let mut out = Published::default();
    out.published.reserve(claims.len());
    // On SQLite, two compare-and-set statements, one over the rows whose place in the
    // needs-you-first order stays (as the claim read it) and one over those whose place
    // moved. Most folds leave it where it was; those rows' rank columns stay out of the
    // `SET`, so SQLite does not rewrite the two `*_needs` index entries of the row (it
    // maintains an index whenever one of its columns is assigned, even to the same value).
    // Each statement also checks the rank it assumes, so a rank that moved since the claim
    // leaves the row dirty for the next fold rather than a stale index entry. One statement
    // over every row on Postgres. Both always run (an empty set is `[]`), so the statement
    // count does not depend on the data.
    let passes: &[Option<bool>] = if D::PUBLISH_SPLITS_ON_RANK {
        &[Some(false), Some(true)]
    } else {
        &[None]
    };
    let mut payloads: Vec<EvidenceRows> = passes.iter().map(|_| EvidenceRows::new(2)).collect();
    let mut attempted = 0u64;
    let mut failed_rows = Vec::new();
    for claim in claims {
        match extracted.get(&claim.connection_id) {
            Some(Ok(evidence)) => {
                let cols = EvidenceColumns::from_evidence(evidence);
                let moved = (cols.needs_rank, cols.stale_sort) != claim.stored_rank;
                let pass = passes
                    .iter()
                    .position(|p| p.is_none_or(|rank_moved| rank_moved == moved))
                    .unwrap_or(0);
                payloads[pass].push(&cols, &[claim.write_seq, ms(now)]);
                attempted += 1;
            }
            Some(Err(reason)) => {
                out.failed
                    .insert(claim.connection_id.clone(), reason.clone());
                failed_rows.push(serde_json::json!({
                    "target_id": claim.connection_id, "seq": claim.write_seq, "error": reason,
                }));
            }
            None => {
                let reason = "the connection no longer exists".to_owned();
                out.failed
                    .insert(claim.connection_id.clone(), reason.clone());
                failed_rows.push(serde_json::json!({
                    "target_id": claim.connection_id, "seq": claim.write_seq, "error": reason,
                }));
            }
        }
    }
    if attempted > 0 {
        for (rank_moved, rows) in passes.iter().zip(payloads) {
            let (head, tail) = publish_frame(*rank_moved);
            for part in rows.into_parts() {
                let sql = format!("{head}{}{tail}", part.sql(&PUBLISH_FIELDS));
                let published = part.bind_to(sqlx::query(&sql)).fetch_all(&mut *c).await?;
                for row in published {
                    out.published.insert(row.try_get("connection_id")?);
                }
            }
        }
        out.report.folded = out.published.len() as u64;
        out.report.raced = attempted - out.report.folded;
    }
    if !failed_rows.is_empty() {
        let fields = [
            ("target_id", ColType::Text),
            ("seq", ColType::Int),
            ("error", ColType::Text),
        ];
        let sql = format!(
            "UPDATE connector_summary_evidence AS e SET error = j.error, dirty_since = $1
             FROM {} AS j
             WHERE e.connection_id = j.target_id AND e.write_seq = j.seq AND {}",
            D::json_rows(2, &fields),
            D::dirty_by_key("e.dirty"),
        );
        sqlx::query(&sql)
            .bind(ms(now))
            .bind(serde_json::Value::Array(failed_rows).to_string())
            .execute(&mut *c)
            .await?;
        out.report.failed = out.failed.len() as u64;
    }
    Ok(out)
}

/// The text of a publish statement before and after its rows, for the pass over the rows
/// whose rank `rank_moved` (every row: `None`); each built once.
fn publish_frame(rank_moved: Option<bool>) -> &'static (String, String) {
    static TEXTS: BuiltOnce<(String, String), 3> = BuiltOnce::new();
    let kind = match rank_moved {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    };
    TEXTS.get(kind, || publish_frame_sql(rank_moved))
}

fn publish_frame_sql(rank_moved: Option<bool>) -> (String, String) {
    let set: Vec<String> = published_columns()
        .filter(|(name, _)| rank_moved != Some(false) || !RANK_COLUMNS.contains(name))
        .map(|(name, _)| format!("{name} = j.{name}"))
        .collect();
    let same_rank = RANK_COLUMNS
        .iter()
        .map(|name| format!("e.{name} = j.{name}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let rank_filter = match rank_moved {
        None => String::new(),
        Some(true) => format!(" AND NOT ({same_rank})"),
        Some(false) => format!(" AND {same_rank}"),
    };
    let head = format!(
        "UPDATE connector_summary_evidence AS e SET {},
            folded_seq = j.seq, dirty = FALSE, dirty_since = NULL,
            computed_at = j.now, error = NULL
         FROM ",
        set.join(", ")
    );
    let tail = format!(
        " AS j
         WHERE e.connection_id = j.target_id AND e.write_seq = j.seq AND {}{rank_filter}
         RETURNING connection_id",
        D::dirty_by_key("e.dirty"),
    );
    (head, tail)
}

/// A fold's fresh evidence for the rows it extracted, with meta saying whether it was
/// published (current) or only computed (dirty: skipped by a concurrent folder or raced).
#[derive(Debug, Default)]
pub(crate) struct FoldOutcome {
    pub published: Published,
    pub fresh: IdMap<Evidence>,
}

fn fresh_evidence(
    extracted: Extracted,
    claims: &[Claim],
    published: &Published,
    now: Instant,
) -> IdMap<Evidence> {
    let seqs: HashMap<&str, i64, IdHasher> = claims
        .iter()
        .map(|c| (c.connection_id.as_str(), c.write_seq))
        .collect();
    let mut fresh = id_map(extracted.len());
    for (id, result) in extracted {
        let Ok(mut evidence) = result else { continue };
        if published.published.contains(&id) {
            let seq = seqs
                .get(id.as_str())
                .copied()
                .unwrap_or(evidence.meta.write_seq);
            evidence.meta.state = EvidenceState::Current;
            evidence.meta.write_seq = seq;
            evidence.meta.folded_seq = seq;
            evidence.meta.computed_at = Some(now);
            evidence.meta.error = None;
        } else {
            evidence.meta.state = EvidenceState::Dirty;
        }
        for s in &mut evidence.streams {
            s.count_state = CountState::Known;
        }
        evidence.total_records_state = CountState::Known;
        fresh.insert(id, evidence);
    }
    fresh
}

/// A read's fold of the dirty rows `ids` (a page, the streamed list, one detail), extracted
/// as `reading` says: claimed, extracted, published with a compare-and-set and committed as
/// one fold. A read that has just read the rows passes them as `read` (their sequences and
/// ranks), which stand in for the claim where it takes no lock (see [`fold_on`]). If the
/// fold cannot run (the write lock is busy), the same extraction computes them without
/// publishing; `None` when even that failed.
pub(crate) async fn fold_for_read(
    pool: &Pool,
    ids: &[String],
    read: Option<Vec<Claim>>,
    reading: Reading,
    now: Instant,
) -> Option<FoldOutcome> {
    match fold_on(pool, None, Scope::Ids(ids), read, reading, now).await {
        Ok(outcome) => Some(outcome),
        Err(fold_error) => {
            tracing::warn!(error = %fold_error, "read fold failed; computing without publishing");
            compute_only(pool, ids, reading, now).await.ok()
        }
    }
}

/// The sweeper's `budget` oldest dirty rows, as folds of at most [`Dialect::FOLD_CHUNK`]
/// rows, up to [`Dialect::FOLD_WORKERS`] of them at once, each in its own transaction on its
/// own connection. A worker takes the next chunk of the budget when its fold commits, so
/// one slow fold holds up no other; concurrent claims lock disjoint rows (`SKIP LOCKED`),
/// together exactly the oldest `budget`. The first worker waits for a pooled connection,
/// the others start only on connections idle at hand: a busy pool means fewer workers, not
/// a queue of them.
///
/// Where folds run side by side, the sweep first counts the dirty rows (up to `budget`)
/// and shares them out: two hundred dirty rows become four folds of 50 at once instead of
/// one fold of 200 while three workers find nothing left to claim (see
/// docs/performance.md, "Sixteenth round"), and a tick that finds nothing dirty costs that
/// one statement instead of a transaction per worker. It folds only as many rows as it
/// counted: rows dirtied meanwhile wait for the next tick (or the read that meets them).
pub(crate) async fn sweep(pool: &Pool, budget: u32, now: Instant) -> SweepReport {
    let (budget, chunk) = if D::FOLD_WORKERS > 1 {
        match dirty_rows_up_to(pool, budget).await {
            Ok(0) => return SweepReport::default(),
            Ok(dirty) => (dirty, share(dirty)),
            Err(e) => {
                return SweepReport {
                    stopped_by: Some(e),
                    ..SweepReport::default()
                }
            }
        }
    } else {
        (budget, D::FOLD_CHUNK)
    };
    let remaining = AtomicU32::new(budget);
    let mut workers = vec![sweep_worker(pool, None, &remaining, chunk, now)];
    for _ in 1..D::FOLD_WORKERS.min(budget.div_ceil(chunk)) {
        let Some(conn) = pool.try_acquire() else { break };
        workers.push(sweep_worker(pool, Some(conn), &remaining, chunk, now));
    }
    // `join_all`, not `try_join_all`: a worker that fails must not cut the others short in
    // the middle of their transactions (their work would be rolled back for nothing).
    let mut total = SweepReport::default();
    for worker in futures::future::join_all(workers).await {
        total.done += worker.done;
        total.stopped_by = total.stopped_by.or(worker.stopped_by);
    }
    total
}

/// Fewest rows a fold of a shared-out sweep takes: below it a fold's fixed cost (its
/// transaction, three statements' round trips, and the extraction's and publish's start-up
/// in Postgres) outweighs what sharing saves. On the 2-core machine a hundred dirty rows
/// folded fastest as two folds of 50: ~6% more rows per second than four folds of 25 and a
/// fifth less CPU per row in this process (docs/performance.md, "Twentieth round").
const SHARE_MIN_ROWS: u32 = 50;

/// The rows of each fold when `dirty` rows are shared among [`Dialect::FOLD_WORKERS`].
fn share(dirty: u32) -> u32 {
    dirty
        .div_ceil(D::FOLD_WORKERS)
        .clamp(SHARE_MIN_ROWS, D::FOLD_CHUNK)
}

/// How many rows are dirty, counting no further than `limit`.
async fn dirty_rows_up_to(pool: &Pool, limit: u32) -> StoreResult<u32> {
    let dirty: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM
           (SELECT 1 FROM connector_summary_evidence WHERE dirty LIMIT $1) AS d",
    )
    .bind(i64::from(limit))
    .fetch_one(pool)
    .await?;
    Ok(u32::try_from(dirty).unwrap_or(limit))
}

/// One of [`sweep`]'s workers: folds chunks of the remaining budget until it is spent, a
/// fold comes back short (no older dirty row is left unclaimed) or one fails; the last two
/// also stop the other workers from taking another chunk. Its report counts the folds it
/// committed before any failure.
async fn sweep_worker(
    pool: &Pool,
    mut conn: Option<PoolConn>,
    remaining: &AtomicU32,
    chunk: u32,
    now: Instant,
) -> SweepReport {
    let mut total = SweepReport::default();
    loop {
        // The closure always answers `Some`, so this is always `Ok(budget left before)`.
        let take = remaining
            .fetch_update(Relaxed, Relaxed, |left| Some(left - left.min(chunk)))
            .map_or(0, |left| left.min(chunk));
        if take == 0 {
            return total;
        }
        let fold = fold_on(
            pool,
            conn.take(),
            Scope::Oldest(take),
            None,
            Reading::Changed,
            now,
        );
        let report = match fold.await {
            Ok(outcome) => outcome.published.report,
            Err(e) => {
                remaining.store(0, Relaxed);
                total.stopped_by = Some(e);
                return total;
            }
        };
        total.done += report;
        if report.taken() < u64::from(take) {
            remaining.store(0, Relaxed);
            return total;
        }
    }
}

/// One fold: claim, extract, publish with a compare-and-set, commit, in its own transaction
/// on `conn` when given (else on one from the pool). On Postgres all of it in one
/// transaction (the claim locks its rows); on SQLite the transaction holds only the publish
/// (see [`Dialect::FOLD_EXTRACTS_IN_TRANSACTION`]), and the claim is a plain read of each
/// row's sequence before the extraction. Rows a read has just read (`read`) are that
/// already: SQLite folds them without reading them again, a statement (about a tenth of a
/// one-row read fold's time) saved on every read that meets a dirty row. The
/// compare-and-set holds either way: a write since the row was read moved its sequence.
async fn fold_on(
    pool: &Pool,
    conn: Option<PoolConn>,
    scope: Scope<'_>,
    read: Option<Vec<Claim>>,
    reading: Reading,
    now: Instant,
) -> StoreResult<FoldOutcome> {
    // A page extracts all its dirty rows, claimed or not: rows another folder holds are
    // answered from this extraction without publishing.
    let ids_of = |claims: &[Claim]| -> Vec<String> {
        match scope {
            Scope::Ids(ids) => ids.to_vec(),
            Scope::Oldest(_) => claims.iter().map(|c| c.connection_id.clone()).collect(),
        }
    };
    let (claims, extracted, mut tx) = if D::FOLD_EXTRACTS_IN_TRANSACTION {
        let mut tx = begin_fold(pool, conn).await?;
        let claims = claim(&mut tx, scope, true).await?;
        let extracted = extract_shared(pool, scope, reading, &mut tx, &ids_of(&claims)).await?;
        (claims, extracted, tx)
    } else {
        let mut c = match conn {
            Some(c) => c,
            None => pool.acquire().await?,
        };
        let claims = match read {
            Some(read) => read,
            None => claim(&mut c, scope, false).await?,
        };
        let extracted = extract_shared(pool, scope, reading, &mut c, &ids_of(&claims)).await?;
        drop(c);
        if claims.is_empty() {
            return Ok(FoldOutcome {
                fresh: fresh_evidence(extracted, &[], &Published::default(), now),
                ..FoldOutcome::default()
            });
        }
        (claims, extracted, begin_fold(pool, None).await?)
    };
    let published = publish(&mut tx, &claims, &extracted, now).await?;
    tx.commit().await?;
    // Only a read answers from the fold's evidence; the sweeper just publishes.
    let fresh = match scope {
        Scope::Ids(_) => fresh_evidence(extracted, &claims, &published, now),
        Scope::Oldest(_) => IdMap::default(),
    };
    Ok(FoldOutcome { published, fresh })
}

/// Below this many rows an extraction runs on one connection.
const SHARED_EXTRACTION_MIN: usize = 64;

/// Extracts `ids` on `c`. For SQLite's sweeper batches (`Scope::Oldest`), when there are
/// many rows and the pool has an idle connection at hand, half of them on that one at the
/// same time: each connection runs its in-process statements on its own thread, so on its
/// own core, and the extraction is most of a SQLite fold, whose publish has to wait for
/// the one writer anyway. Never waits for a second connection, so a busy pool only means
/// one connection does it all. (Postgres splits the whole fold instead: [`sweep`].)
/// A read's fold keeps to one connection: its statement count stays the same whatever the
/// number of dirty rows it meets.
async fn extract_shared(
    pool: &Pool,
    scope: Scope<'_>,
    reading: Reading,
    c: &mut Conn,
    ids: &[String],
) -> StoreResult<Extracted> {
    let sweeping = matches!(scope, Scope::Oldest(_)) && !D::FOLD_EXTRACTS_IN_TRANSACTION;
    if sweeping && ids.len() >= SHARED_EXTRACTION_MIN {
        if let Some(mut helper) = pool.try_acquire() {
            let (mine, theirs) = ids.split_at(ids.len() / 2);
            let (mut extracted, more) =
                futures::try_join!(
                extract(c, mine, reading),
                extract(&mut helper, theirs, reading)
            )?;
            extracted.extend(more);
            return Ok(extracted);
        }
    }
    extract(c, ids, reading).await
}

/// Computes evidence without publishing (a read whose fold could not take the write lock).
async fn compute_only(
    pool: &Pool,
    ids: &[String],
    reading: Reading,
    now: Instant,
) -> StoreResult<FoldOutcome> {
    let extracted = extract_alone(pool, ids, reading).await?;
    let published = Published::default();
    let fresh = fresh_evidence(extracted, &[], &published, now);
    Ok(FoldOutcome { published, fresh })
}

/// Step one of a fold split in two (deterministic interleaving tests, diagnostics): reads
/// the oldest dirty rows and extracts their evidence, holding no lock and no transaction.
pub(crate) async fn prepare(pool: &Pool, budget: u32) -> StoreResult<(Vec<Claim>, Extracted)> {
    let mut c = pool.acquire().await?;
    let claims = claim(&mut c, Scope::Oldest(budget), false).await?;
    let ids: Vec<String> = claims.iter().map(|c| c.connection_id.clone()).collect();
    let extracted = extract(&mut c, &ids, Reading::Changed).await?;
    Ok((claims, extracted))
}

/// Step two: publishes a prepared fold with the same compare-and-set.
pub(crate) async fn publish_prepared(
    pool: &Pool,
    claims: &[Claim],
    extracted: &Extracted,
    now: Instant,
) -> StoreResult<FoldReport> {
    let mut tx = begin_fold(pool, None).await?;
    let published = publish(&mut tx, claims, extracted, now).await?;
    tx.commit().await?;
    Ok(published.report)
}
