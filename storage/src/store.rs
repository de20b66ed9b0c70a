//! The storage interface every edge and service goes through.

use crate::error::StoreResult;
use crate::types::*;
use console_domain::liveness::OpenRun;
use console_domain::model::{AttentionKind, ConnectorManifest};
use console_domain::selector::SelectorCandidates;
use console_domain::Instant;

/// One storage interface, two backends. All writes take `now` from the caller (the injected
/// clock) and mark the affected evidence dirty in the same transaction.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    // --- connectors (manifests) ---
    /// Inserts or replaces a manifest. A changed manifest dirties every connection of it.
    /// Returns true when something changed.
    async fn upsert_connector(
        &self,
        manifest: &ConnectorManifest,
        now: Instant,
    ) -> StoreResult<bool>;
    async fn get_connector(&self, connector_id: &str) -> StoreResult<Option<ConnectorManifest>>;
    async fn list_connectors(&self) -> StoreResult<Vec<ConnectorManifest>>;

    // --- connections ---
    /// Creates the connection and its (dirty) evidence row in one transaction.
    async fn create_connection(
        &self,
        new: &NewConnection,
        now: Instant,
    ) -> StoreResult<ConnectionRow>;
    async fn get_connection(&self, connection_id: &str) -> StoreResult<Option<ConnectionRow>>;
    async fn update_connection(
        &self,
        connection_id: &str,
        change: &ConnectionChange,
        now: Instant,
    ) -> StoreResult<ConnectionRow>;
    /// Deletes the connection, everything it owns, and its evidence row.
    async fn delete_connection(&self, connection_id: &str) -> StoreResult<()>;
    async fn count_connections(&self) -> StoreResult<u64>;

    // --- schedules ---
    async fn put_schedule(
        &self,
        connection_id: &str,
        schedule: &ScheduleInput,
        now: Instant,
    ) -> StoreResult<()>;
    /// Connections whose enabled schedule is due at `now` and that have no open run.
    async fn due_connections(&self, now: Instant, limit: u32) -> StoreResult<Vec<String>>;

    // --- runs ---
    /// Starts a run; a conflict with `existing = Some(active run id)` when one is open.
    async fn start_run(
        &self,
        connection_id: &str,
        trigger: RunTrigger,
        now: Instant,
    ) -> StoreResult<RunRow>;
    /// Liveness only: refreshes the open run's heartbeat without dirtying evidence.
    async fn heartbeat_run(&self, run_id: &str, now: Instant) -> StoreResult<RunRow>;
    async fn finish_run(
        &self,
        run_id: &str,
        outcome: &RunOutcome,
        now: Instant,
    ) -> StoreResult<RunRow>;
    async fn append_run_events(
        &self,
        run_id: &str,
        events: &[NewRunEvent],
        now: Instant,
    ) -> StoreResult<()>;
    /// Marks unrecovered gaps of the connection (optionally one stream) recovered.
    async fn recover_gaps(
        &self,
        connection_id: &str,
        stream: Option<&str>,
        now: Instant,
    ) -> StoreResult<u64>;
    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRow>>;
    async fn run_events(&self, run_id: &str) -> StoreResult<Vec<RunEvent>>;
    /// Newest first; `before` continues after a run id from the previous page.
    async fn list_runs(
        &self,
        connection_id: &str,
        limit: u32,
        before: Option<&str>,
    ) -> StoreResult<Vec<RunRow>>;

    // --- attention ---
    async fn open_attention(
        &self,
        connection_id: &str,
        kind: AttentionKind,
        message: Option<&str>,
        now: Instant,
    ) -> StoreResult<AttentionRow>;
    async fn resolve_attention(
        &self,
        attention_id: &str,
        now: Instant,
    ) -> StoreResult<AttentionRow>;
    async fn list_attention(&self, connection_id: &str) -> StoreResult<Vec<AttentionRow>>;

    // --- records ---
    /// All-or-nothing. Identical re-ingest is a no-op that dirties nothing.
    async fn ingest_records(
        &self,
        connection_id: &str,
        records: &[RecordInput],
        now: Instant,
    ) -> StoreResult<IngestCounts>;
    async fn delete_records(
        &self,
        connection_id: &str,
        deletion: &RecordDeletion,
        now: Instant,
    ) -> StoreResult<u64>;

    // --- read model ---
    /// A page of evidence. Dirty rows on the page are folded (set-based, bounded statements)
    /// before returning, so the page reflects every write committed before the call.
    async fn read_evidence_page(
        &self,
        query: &ListQuery,
        now: Instant,
    ) -> StoreResult<EvidencePage>;
    /// Every evidence row `query` selects (its `limit` is ignored), streamed in list order:
    /// the unpaged full list. The dirty rows among them are first folded with the page fold's
    /// set-based statements (one more statement finds them, with every open run and the
    /// runtime's heartbeat), then one statement streams the rows, so the stream reflects
    /// every write committed before the call while memory stays flat however large the
    /// fleet. When it returns, the stream holds a pool connection until it ends or is
    /// dropped (the context and the rows are read on one): read anything else before the
    /// call (a pool of one connection, `sqlite::memory:`, would wait for it).
    async fn stream_evidence(&self, query: &ListQuery, now: Instant)
        -> StoreResult<EvidenceStream>;
    /// Candidates for a `?connection=` selector. Never writes.
    async fn selector_candidates(&self, selector: &str) -> StoreResult<SelectorCandidates>;
    /// Evidence of exactly these connections, folded first (scoped list entry).
    async fn read_evidence(
        &self,
        connection_ids: &[String],
        now: Instant,
    ) -> StoreResult<EvidencePage>;
    /// One connection for the deep detail read: its evidence as [`Store::read_evidence`]
    /// reads it (folded first, with its open runs), and as extracted straight from the
    /// source tables (the extraction the fold and rebuild use). When the row is dirty, its
    /// fold's extraction serves as both. `None` when the connection does not exist.
    async fn read_deep_evidence(
        &self,
        connection_id: &str,
        now: Instant,
    ) -> StoreResult<Option<DeepEvidence>>;
    /// Every open (queued/running) run, oldest first, up to `limit` (for the collection
    /// runtime, which must also finish runs the owner started).
    async fn all_open_runs(&self, limit: u32) -> StoreResult<Vec<OpenRun>>;
    /// Folds up to `budget` dirty rows, oldest-dirty first, as several committed folds: the
    /// report counts those that committed even when a later one failed.
    async fn fold_dirty(&self, budget: u32, now: Instant) -> SweepReport;
    /// Rebuilds every evidence row from the source tables in atomic batches.
    async fn rebuild_evidence(
        &self,
        batch_size: u32,
        now: Instant,
        progress: Progress<'_>,
    ) -> StoreResult<RebuildReport>;
    async fn read_model_status(&self) -> StoreResult<ReadModelStatus>;

    // --- runtime liveness and owner settings ---
    async fn runtime_heartbeat(&self, label: &str, now: Instant) -> StoreResult<()>;
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets the value only if absent; returns the value now stored.
    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// Read-model maintenance beyond [`Store`]: the raw maintenance columns, and the fold split
/// into its two steps so tests (and diagnostics) can interleave a write deterministically
/// between a fold's read and its compare-and-set publish. Both backends implement it.
#[async_trait::async_trait]
pub trait ReadModelAdmin: Send + Sync + 'static {
    /// Step one: reads up to `budget` oldest-dirty rows and extracts their evidence,
    /// holding no lock and no transaction.
    async fn fold_prepare(&self, budget: u32) -> StoreResult<crate::types::PreparedFold>;
    /// Step two: publishes with the compare-and-set on the sequences step one read.
    async fn fold_publish(
        &self,
        prepared: crate::types::PreparedFold,
        now: Instant,
    ) -> StoreResult<FoldReport>;
    /// Every evidence row's maintenance columns, ordered by connection id.
    async fn evidence_maintenance(&self) -> StoreResult<Vec<crate::types::EvidenceMaintenance>>;
}
