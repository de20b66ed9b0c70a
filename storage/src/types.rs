//! Plain data crossing the storage boundary.

use chrono::{DateTime, Utc};
use console_domain::evidence::Evidence;
use console_domain::liveness::OpenRun;
use console_domain::model::{AttentionKind, ConnectionStatus, FailureReason, Gap, RunStatus};
use console_domain::Instant;
use serde::{Deserialize, Serialize};

// Instants serialize through `console_domain::instant_json`: chrono's bytes, written
// directly rather than through `fmt::Display` (a detail read's instructions -10% on
// Postgres, -4% on SQLite; docs/performance.md, "Twenty-ninth round").

/// A connection as stored (source table, not evidence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionRow {
    pub connection_id: String,
    pub connector_id: String,
    pub display_name: Option<String>,
    pub status: ConnectionStatus,
    pub maximum_staleness_seconds: Option<i64>,
    #[serde(with = "console_domain::instant_json")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "console_domain::instant_json")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConnection {
    pub connector_id: String,
    pub display_name: Option<String>,
    /// `draft` or `active`.
    pub status: ConnectionStatus,
    pub maximum_staleness_seconds: Option<i64>,
}

/// One change to a connection's own fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionChange {
    Rename(Option<String>),
    /// Move from `from` to `to`; refused with a conflict if the status is no longer `from`.
    Status {
        from: ConnectionStatus,
        to: ConnectionStatus,
    },
    StalenessOverride(Option<i64>),
}

/// Validated schedule input (interval >= 60 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleInput {
    pub interval_seconds: i64,
    pub jitter_seconds: i64,
    pub enabled: bool,
}

/// Why a run was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Schedule,
    Owner,
    Api,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunRow {
    pub run_id: String,
    pub connection_id: String,
    pub status: RunStatus,
    pub trigger: RunTrigger,
    #[serde(with = "console_domain::instant_json")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub heartbeat_at: Option<DateTime<Utc>>,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub finished_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<FailureReason>,
    pub records_written: i64,
    pub gaps: Vec<RunGap>,
}

/// A gap as stored, with its recovery state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunGap {
    pub stream: String,
    pub reason: String,
    pub retryable: bool,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub recovered_at: Option<DateTime<Utc>>,
}

/// How a run ended. `status` must be terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub failure_reason: Option<FailureReason>,
    pub records_written: i64,
    pub gaps: Vec<Gap>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunEvent {
    pub run_id: String,
    pub seq: i64,
    #[serde(with = "console_domain::instant_json")]
    pub at: DateTime<Utc>,
    pub kind: String,
    pub message: String,
    pub stream: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRunEvent {
    pub kind: String,
    pub message: String,
    pub stream: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttentionRow {
    pub attention_id: String,
    pub connection_id: String,
    pub kind: AttentionKind,
    pub message: Option<String>,
    #[serde(with = "console_domain::instant_json")]
    pub opened_at: DateTime<Utc>,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One record to ingest. `data` is stored as its canonical JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordInput {
    pub stream: String,
    pub record_key: String,
    pub data: serde_json::Value,
    pub emitted_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Which records to soft-delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDeletion {
    pub stream: String,
    /// `None` deletes every record of the stream.
    pub record_keys: Option<Vec<String>>,
}

/// Immutable list order key: (`connector_id`, `created_at`, `connection_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListKey {
    pub connector_id: String,
    pub created_at: DateTime<Utc>,
    pub connection_id: String,
}

/// "Needs you first" key: rows with owner work first, then earliest `stale_at`, then the
/// immutable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// (`connector_id`, `created_at`, `connection_id`).
    Stable,
    /// Open attention first, then failing, then stale-soonest, then the stable order.
    NeedsYouFirst,
}

/// A page request over the evidence table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// `None` reads every row (streamed by the caller in chunks).
    pub limit: Option<u32>,
    /// Opaque position after which to continue (encoded by the caller; see `PagePosition`).
    pub after: Option<PagePosition>,
    pub status: Option<ConnectionStatus>,
    pub order: ListOrder,
}

impl ListQuery {
    /// The rows a page holds: the limit asked for, at least one (`None`: every row).
    pub(crate) fn page_size(&self) -> Option<u32> {
        self.limit.map(|l| l.max(1))
    }
}

/// Where a page ended: enough to continue in either order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PagePosition {
    Stable(ListKey),
    NeedsYouFirst {
        rank: i64,
        stale_at: Option<i64>,
        key: ListKey,
    },
}

/// A page of evidence, folded so that every row reflects every write before the read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidencePage {
    pub rows: Vec<Evidence>,
    /// The open (queued/running) runs of the rows' connections.
    pub open_runs: Vec<OpenRun>,
    /// The collection runtime's latest heartbeat (label and time), read with the open runs
    /// in one statement.
    pub runtime_heartbeat: Option<(String, Instant)>,
    pub next: Option<PagePosition>,
}

/// One connection as the detail read needs it (see [`crate::Store::read_deep_evidence`]).
#[derive(Debug)]
pub struct DeepEvidence {
    /// Its read-model row (folded first when dirty) and open runs, as a page of one.
    pub page: EvidencePage,
    /// Its evidence extracted from the source tables by this read.
    pub extracted: Evidence,
}

/// What one fold pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldReport {
    pub folded: u64,
    /// Rows whose write sequence moved during the fold: still dirty, folded next time.
    pub raced: u64,
    pub failed: u64,
}

impl FoldReport {
    /// Rows the fold took: folded, raced or failed.
    pub fn taken(&self) -> u64 {
        self.folded + self.raced + self.failed
    }
}

impl std::ops::AddAssign for FoldReport {
    fn add_assign(&mut self, other: FoldReport) {
        self.folded += other.folded;
        self.raced += other.raced;
        self.failed += other.failed;
    }
}

/// What a sweep of the oldest dirty rows did. A sweep is several folds, each committed on
/// its own; when one fails the others' work stands, so the report counts it and carries the
/// error that stopped the sweep.
#[derive(Debug, Default)]
pub struct SweepReport {
    /// The committed folds' rows.
    pub done: FoldReport,
    /// The first error a fold met; the sweep took no further chunk after it.
    pub stopped_by: Option<crate::StoreError>,
}

impl SweepReport {
    /// The report, or the error when the sweep stopped part way (for callers to whom a
    /// partial sweep is a failure).
    pub fn into_result(self) -> Result<FoldReport, crate::StoreError> {
        match self.stopped_by {
            Some(e) => Err(e),
            None => Ok(self.done),
        }
    }
}

/// What a rebuild changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebuildReport {
    pub examined: u64,
    pub created: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub batches: u64,
}

/// Read-model maintenance state for `/_ref/connector-summary/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadModelStatus {
    pub rows: u64,
    pub dirty: u64,
    pub failed: u64,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub oldest_dirty_since: Option<DateTime<Utc>>,
}

/// Progress callback for long work (rebuild): (done, total).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// A dirty evidence row as read at the start of a fold: the sequence it publishes against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoldClaim {
    pub connection_id: String,
    pub write_seq: i64,
    /// The row's place in the needs-you-first order as stored: `(needs_rank, stale_sort)`.
    pub stored_rank: (i64, i64),
}

/// The first half of a fold split in two ([`crate::ReadModelAdmin::fold_prepare`]): the
/// claimed rows and their extracted evidence, not yet published.
#[derive(Clone, Debug)]
pub struct PreparedFold {
    pub(crate) claims: Vec<FoldClaim>,
    pub(crate) extracted: crate::id_map::IdMap<Result<Evidence, String>>,
}

impl PreparedFold {
    pub fn claims(&self) -> &[FoldClaim] {
        &self.claims
    }
}

/// The maintenance columns of one evidence row (diagnostics and tests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceMaintenance {
    pub connection_id: String,
    pub dirty: bool,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub dirty_since: Option<DateTime<Utc>>,
    pub write_seq: i64,
    pub folded_seq: i64,
    #[serde(default, with = "console_domain::instant_json::option")]
    pub computed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// The whole list as a stream of evidence rows (the unpaged `GET /_ref/connectors`): the
/// rows arrive in list order while the storage statement runs, so memory does not grow with
/// the fleet. Dropping the stream stops the statement.
pub struct EvidenceStream {
    /// Every open (queued/running) run, read once before the rows, for liveness.
    pub open_runs: Vec<OpenRun>,
    /// The collection runtime's latest heartbeat (label and time), read with the open runs
    /// in one statement.
    pub runtime_heartbeat: Option<(String, Instant)>,
    pub rows: futures::stream::BoxStream<'static, crate::error::StoreResult<Evidence>>,
}

impl std::fmt::Debug for EvidenceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceStream")
            .field("open_runs", &self.open_runs.len())
            .finish_non_exhaustive()
    }
}
