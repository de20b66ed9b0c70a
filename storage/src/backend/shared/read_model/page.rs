// Page and scoped reads: one indexed statement for the rows, a fold of exactly the dirty
// rows among them (a fixed number of set-based statements), one statement for their open
// runs. With no dirty rows a page is two statements whatever the fleet size.

use super::extract::{extract_alone, Reading};
use super::fold::fold_for_read;
use crate::built_once::BuiltOnce;
use crate::dialect::Dialect;
use crate::evidence_row::EvidenceColumns;
use crate::list_reader::ListStatement;
use crate::read_context::{ContextRow, ReadContext};
use crate::types::{
    DeepEvidence, EvidencePage, EvidenceStream, FoldClaim, ListKey, ListOrder, ListQuery,
    PagePosition,
};
use console_domain::evidence::Evidence;
use console_domain::Instant;
use futures::StreamExt as _;
use crate::id_map::{IdMap, IdSet};
use std::sync::LazyLock;

use crate::evidence_row::StoredRow;

/// The rows of one statement.
fn decode_rows(rows: &[DbRow]) -> StoreResult<Vec<StoredRow>> {
    use super::super::common::{decode_columns, decode_maintenance, Verified};
    let (mut columns, mut maintenance) = (Verified::default(), Verified::default());
    rows.iter()
        .map(|row| {
            Ok((
                decode_columns(row, &mut columns)?,
                decode_maintenance(row, &mut maintenance)?,
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

/// The `WHERE` filters and `ORDER BY` columns of a list query, binding into `binds`.
fn list_clauses(
    query: &ListQuery,
    binds: &mut Vec<Bind>,
) -> StoreResult<(Vec<String>, &'static str)> {
    let mut filters: Vec<String> = Vec::new();
    let param = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(status) = query.status {
        let p = param(binds, Bind::Text(status.as_str().to_owned()));
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
                values.push(param(binds, Bind::Int(*rank)));
                values.push(param(
                    binds,
                    Bind::Int(stale_at.unwrap_or(crate::evidence_row::NO_STALE_AT)),
                ));
                key
            }
            _ => return Err(bad_position()),
        };
        values.push(param(binds, Bind::Text(key.connector_id.clone())));
        values.push(param(binds, Bind::Int(ms(key.created_at))));
        values.push(param(binds, Bind::Text(key.connection_id.clone())));
        filters.push(format!("({key_cols}) > ({})", values.join(", ")));
    }
    Ok((filters, key_cols))
}

fn where_clause(filters: &[String]) -> String {
    if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    }
}

/// The list statement of `query` and its binds: one ordered statement walking the order's
/// index (the query-plan tests check that it does not sort), with a page's limit one row
/// past the page (whether there is a next page).
fn list_statement(query: &ListQuery) -> StoreResult<ListStatement> {
    let mut binds: Vec<Bind> = Vec::new();
    let (filters, key_cols) = list_clauses(query, &mut binds)?;
    let limit_clause = match query.page_size() {
        Some(l) => {
            binds.push(Bind::Int(i64::from(l) + 1));
            format!(" LIMIT ${}", binds.len())
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT {} FROM connector_summary_evidence e{} ORDER BY {key_cols}{limit_clause}",
        super::super::common::evidence_select_list(),
        where_clause(&filters),
    );
    Ok(ListStatement {
        sql,
        binds,
        unpaged: query.limit.is_none(),
    })
}

/// Every row of a list statement, read by this backend's list reader: on SQLite in place
/// from the connection's handle, where sqlx's driver copied every value and handed each
/// row over between threads (a page of 100 cost about 50 thread switches, the whole list
/// of 100 about 20).
async fn read_rows(pool: &Pool, statement: ListStatement) -> StoreResult<Vec<StoredRow>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(STREAM_DEPTH);
    super::super::list_reader::spawn(pool.clone(), None, statement, Ok, sender);
    let mut rows = Vec::new();
    while let Some(batch) = receiver.recv().await {
        for row in batch {
            rows.push(row?);
        }
    }
    Ok(rows)
}

pub(crate) async fn read_page(
    pool: &Pool,
    query: &ListQuery,
    now: Instant,
) -> StoreResult<EvidencePage> {
    let mut rows = read_rows(pool, list_statement(query)?).await?;
    let mut next = None;
    if let Some(l) = query.page_size() {
        if rows.len() > l as usize {
            rows.truncate(l as usize);
            if let Some((cols, _)) = rows.last() {
                next = Some(position_of(query.order, cols)?);
            }
        }
    }
    finish_page(pool, rows, next, now).await
}

/// Batches in flight between the statement and the reader (backpressure beyond that).
const STREAM_DEPTH: usize = 4;

/// What the fold before a stream did, for the rows the stream then meets.
#[derive(Default)]
struct StreamFold {
    /// Ids the fold took on (dirty when the read began).
    attempted: IdSet,
    /// Fresh evidence of the rows it extracted (published or not).
    fresh: IdMap<Evidence>,
    /// Sanitized reasons of rows whose extraction failed.
    failed: IdMap<String>,
    /// The fold itself failed: its rows read as failed with this reason.
    broken: Option<&'static str>,
}

impl StreamFold {
    /// One streamed row as evidence. Rows the fold published come back clean from the
    /// statement; a row still dirty was skipped by the fold (another folder held it, or a
    /// write raced it) and is answered from the fold's fresh extraction, like a page. A row
    /// dirtied only after the read began keeps its stored evidence, marked dirty.
    fn evidence(&mut self, (cols, mut m): StoredRow) -> StoreResult<Evidence> {
        let fresh = if self.fresh.is_empty() {
            None
        } else {
            self.fresh.remove(&cols.connection_id)
        };
        if m.dirty && self.attempted.contains(&cols.connection_id) {
            if let Some(fresh) = fresh {
                return Ok(fresh);
            }
            m.error = Some(match (self.broken, self.failed.get(&cols.connection_id)) {
                (Some(reason), _) => reason.to_owned(),
                (None, Some(reason)) => reason.clone(),
                (None, None) => "evidence could not be extracted".to_owned(),
            });
        }
        lift(cols.into_evidence_or_failed(&m))
    }
}

/// The unpaged list as a stream. One connection reads the list's context (the dirty rows,
/// every open run, the runtime's heartbeat: one statement) and, when no row the list returns
/// is dirty, goes straight on to the list statement, whose rows a task hands over in small
/// batches. Otherwise the reader returns its connection, the page fold folds the dirty rows
/// (its set of statements; on SQLite each publish takes one more per 500 rows beyond the
/// first 500) and another reader streams the list.
///
/// When this returns, the stream's reader holds a connection until the rows are taken or
/// the stream is dropped: read anything else first (on a one-connection pool a read in
/// between waits for the stream).
pub(crate) async fn stream_all(
    pool: &Pool,
    query: &ListQuery,
    now: Instant,
) -> StoreResult<EvidenceStream> {
    let statement = list_statement(query)?;
    // The query's status picks the dirty rows here rather than in the context statement's
    // dirty branch: a status condition there would make SQLite walk that status's whole
    // index instead of the dirty rows' partial index.
    let status = query.status;
    let listed = move |row_status: &str| status.is_none_or(|s| s.as_str() == row_status);
    let (reply, context) = tokio::sync::oneshot::channel();
    let prelude = crate::list_reader::Prelude {
        sql: context_statement(ContextOf::Stream).to_owned(),
        reply,
        go_on: Box::new(move |context| !context.dirty.iter().any(|(_, s)| listed(s))),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_DEPTH);
    // Nothing is folded when this reader goes on to the list.
    let mut fold_state = StreamFold::default();
    super::super::list_reader::spawn(
        pool.clone(),
        Some(prelude),
        statement,
        move |row| fold_state.evidence(row),
        sender,
    );
    // A reader that panicked before answering dropped its reply.
    let context = context.await.unwrap_or_else(|_| Err(crate::list_reader::crashed()))?;
    let dirty: Vec<String> = context
        .dirty
        .into_iter()
        .filter(|(_, s)| listed(s))
        .map(|(id, _)| id)
        .collect();
    let receiver = if dirty.is_empty() {
        receiver
    } else {
        drop(receiver);
        let mut fold_state = StreamFold::default();
        match fold_for_read(pool, &dirty, None, Reading::Changed, now).await {
            Some(o) => {
                fold_state.fresh = o.fresh;
                fold_state.failed = o.published.failed;
            }
            None => fold_state.broken = Some("source read failed while folding"),
        }
        fold_state.attempted = dirty.into_iter().collect();
        // Built again rather than kept from the first reader: this path is the rare one.
        let statement = list_statement(query)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_DEPTH);
        super::super::list_reader::spawn(
            pool.clone(),
            None,
            statement,
            move |row| fold_state.evidence(row),
            sender,
        );
        receiver
    };
    let rows = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|batch| (futures::stream::iter(batch), receiver))
    })
    .flatten()
    .boxed();
    Ok(EvidenceStream {
        open_runs: context.open_runs,
        runtime_heartbeat: context.runtime_heartbeat,
        rows,
    })
}

/// Which read a context is for.
#[derive(Clone, Copy)]
enum ContextOf {
    /// The streamed list: every dirty row and every open run.
    Stream,
    /// A page: the open runs of the connections bound as the first parameter.
    Page,
}

/// A read's context in one statement, one round trip on one connection: as statements side
/// by side they took a pooled connection each, and on SQLite each a trip to its
/// connection's worker thread and back, twice (sqlx pings a connection as it returns to the
/// pool). Each part is a branch of a `UNION ALL`, planned on its own: for the stream every
/// dirty row (through the partial index `cse_dirty`: its predicate is repeated literally, so
/// SQLite uses it), the open runs through `runs_one_open` (a page's, or for the stream every
/// open run: at most one per connection, in practice the few collecting right now), and the
/// runtime's latest heartbeat. Its columns are [`ContextRow`]'s fields, in order. Built
/// once per kind.
fn context_statement(of: ContextOf) -> &'static str {
    static TEXTS: BuiltOnce<String, 2> = BuiltOnce::new();
    TEXTS.get(of as usize, || context_sql(of))
}

fn context_sql(of: ContextOf) -> String {
    let (dirty_branch, of_ids) = match of {
        ContextOf::Stream => (
            "SELECT 'dirty' AS kind, connection_id, status, NULL AS run_id, NULL AS started_at,
                    NULL AS heartbeat_at
               FROM connector_summary_evidence WHERE dirty
             UNION ALL ",
            String::new(),
        ),
        ContextOf::Page => ("", format!(" AND {}", D::in_ids("connection_id", 1))),
    };
    format!(
        "{dirty_branch}SELECT 'run' AS kind, connection_id, status, run_id, started_at,
                heartbeat_at
           FROM runs WHERE status IN ('queued', 'running'){of_ids}
         UNION ALL
         SELECT 'runtime', h.label, NULL, NULL, NULL, h.last_heartbeat_at
           FROM ({}) h",
        super::super::settings::LATEST_HEARTBEAT
    )
}

/// A page's context (see [`context_statement`]), through sqlx.
async fn read_page_context(pool: &Pool, ids: &[String]) -> StoreResult<ReadContext> {
    let rows = sqlx::query_as::<_, ContextRow>(context_statement(ContextOf::Page))
        .bind(D::ids(ids))
        .fetch_all(pool)
        .await?;
    ReadContext::from_rows(rows)
}

/// The evidence rows of exactly these connections (in the order given; unknown ids are
/// skipped), as stored.
async fn stored_rows(pool: &Pool, ids: &[String]) -> StoreResult<Vec<StoredRow>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM connector_summary_evidence e WHERE {}",
            super::super::common::evidence_select_list(),
            D::in_ids("e.connection_id", 1)
        )
    });
    let rows = sqlx::query(&SQL).bind(D::ids(ids)).fetch_all(pool).await?;
    let mut rows = decode_rows(&rows)?;
    rows.sort_by_key(|(cols, _)| ids.iter().position(|id| *id == cols.connection_id));
    Ok(rows)
}

/// Exactly these connections (in the order given; unknown ids are skipped).
pub(crate) async fn read_ids(
    pool: &Pool,
    ids: &[String],
    now: Instant,
) -> StoreResult<EvidencePage> {
    if ids.is_empty() {
        return with_liveness(pool, Vec::new(), None).await;
    }
    let rows = stored_rows(pool, ids).await?;
    finish_page(pool, rows, None, now).await
}

/// One connection for the detail read: its row as [`read_ids`] reads it, and its evidence
/// extracted in full from the source tables. A dirty row's fold extracts in full, so that
/// one extraction is both what the fold publishes and the deep evidence (a detail request
/// of a dirty row used to extract the connection twice); a clean row is extracted on its
/// own. `None` when the connection does not exist.
pub(crate) async fn read_deep(
    pool: &Pool,
    id: &str,
    now: Instant,
) -> StoreResult<Option<DeepEvidence>> {
    let ids = [id.to_owned()];
    let rows = stored_rows(pool, &ids).await?;
    let Some(row) = resolve(pool, rows, Reading::Full, now).await?.pop() else {
        return Ok(None);
    };
    let extracted = if row.extracted {
        row.evidence.clone()
    } else {
        match extract_alone(pool, &ids, Reading::Full).await?.remove(id) {
            Some(result) => lift(result)?,
            // Deleted since its row was read.
            None => return Ok(None),
        }
    };
    Ok(Some(DeepEvidence {
        page: with_liveness(pool, vec![row.evidence], None).await?,
        extracted,
    }))
}

/// Folds the dirty rows among `rows`, then reads their open runs.
async fn finish_page(
    pool: &Pool,
    rows: Vec<StoredRow>,
    next: Option<PagePosition>,
    now: Instant,
) -> StoreResult<EvidencePage> {
    let evidence = resolve(pool, rows, Reading::Changed, now)
        .await?
        .into_iter()
        .map(|row| row.evidence)
        .collect();
    with_liveness(pool, evidence, next).await
}

/// A page of these rows, with their open runs and the runtime's latest heartbeat (one
/// statement).
async fn with_liveness(
    pool: &Pool,
    rows: Vec<Evidence>,
    next: Option<PagePosition>,
) -> StoreResult<EvidencePage> {
    let ids: Vec<String> = rows.iter().map(|e| e.connection_id.clone()).collect();
    let context = read_page_context(pool, &ids).await?;
    Ok(EvidencePage {
        rows,
        open_runs: context.open_runs,
        runtime_heartbeat: context.runtime_heartbeat,
        next,
    })
}

/// A row as a read returns it.
struct Resolved {
    evidence: Evidence,
    /// The evidence comes from this read's own extraction (the row was dirty).
    extracted: bool,
}

/// Stored rows as evidence, folding the dirty ones first (extracted as `reading` says). If
/// the fold cannot run (the write lock is busy), the dirty rows are computed with the same
/// extraction and returned unpublished; if even that fails, they read as failed with the
/// reason, never a guess.
async fn resolve(
    pool: &Pool,
    rows: Vec<StoredRow>,
    reading: Reading,
    now: Instant,
) -> StoreResult<Vec<Resolved>> {
    let read: Vec<FoldClaim> = rows
        .iter()
        .filter(|(_, m)| m.dirty)
        .map(|(cols, m)| FoldClaim {
            connection_id: cols.connection_id.clone(),
            write_seq: m.write_seq,
            stored_rank: (cols.needs_rank, cols.stale_sort),
        })
        .collect();
    let mut outcome = None;
    if !read.is_empty() {
        let dirty: Vec<String> = read.iter().map(|c| c.connection_id.clone()).collect();
        outcome = fold_for_read(pool, &dirty, Some(read), reading, now).await;
    }
    let mut out = Vec::with_capacity(rows.len());
    for (cols, mut m) in rows {
        if m.dirty {
            match &mut outcome {
                Some(o) => {
                    if let Some(fresh) = o.fresh.remove(&cols.connection_id) {
                        out.push(Resolved {
                            evidence: fresh,
                            extracted: true,
                        });
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
        out.push(Resolved {
            evidence: lift(cols.into_evidence_or_failed(&m))?,
            extracted: false,
        });
    }
    Ok(out)
}
