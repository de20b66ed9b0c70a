// The `Store` (and `ReadModelAdmin`) implementation of one backend: thin delegation to the
// modules that hold the SQL.

use super::read_model::{fold, page, rebuild};
use super::{attention, connections, connectors, records, runs, schedules, settings};
use crate::store::{ReadModelAdmin, Store};
use crate::types::*;
use console_domain::liveness::OpenRun;
use console_domain::model::{AttentionKind, ConnectorManifest};
use console_domain::selector::SelectorCandidates;
use console_domain::Instant;

/// The store over one concrete pool.
#[derive(Clone, Debug)]
pub struct BackendStore {
    pool: Pool,
}

impl BackendStore {
    /// Wraps a pool whose database is already migrated.
    pub fn new(pool: Pool) -> Self {
        BackendStore { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

#[async_trait::async_trait]
impl Store for BackendStore {
    fn backend(&self) -> &'static str {
        <D as crate::dialect::Dialect>::NAME
    }

    async fn upsert_connector(
        &self,
        manifest: &ConnectorManifest,
        now: Instant,
    ) -> StoreResult<bool> {
        connectors::upsert(&self.pool, manifest, now).await
    }

    async fn get_connector(&self, connector_id: &str) -> StoreResult<Option<ConnectorManifest>> {
        connectors::get(&self.pool, connector_id).await
    }

    async fn list_connectors(&self) -> StoreResult<Vec<ConnectorManifest>> {
        connectors::list(&self.pool).await
    }

    async fn create_connection(
        &self,
        new: &NewConnection,
        now: Instant,
    ) -> StoreResult<ConnectionRow> {
        connections::create(&self.pool, new, now).await
    }

    async fn get_connection(&self, connection_id: &str) -> StoreResult<Option<ConnectionRow>> {
        connections::get(&self.pool, connection_id).await
    }

    async fn update_connection(
        &self,
        connection_id: &str,
        change: &ConnectionChange,
        now: Instant,
    ) -> StoreResult<ConnectionRow> {
        connections::update(&self.pool, connection_id, change, now).await
    }

    async fn delete_connection(&self, connection_id: &str) -> StoreResult<()> {
        connections::delete(&self.pool, connection_id).await
    }

    async fn count_connections(&self) -> StoreResult<u64> {
        connections::count(&self.pool).await
    }

    async fn put_schedule(
        &self,
        connection_id: &str,
        schedule: &ScheduleInput,
        now: Instant,
    ) -> StoreResult<()> {
        schedules::put(&self.pool, connection_id, schedule, now).await
    }

    async fn due_connections(&self, now: Instant, limit: u32) -> StoreResult<Vec<String>> {
        schedules::due(&self.pool, now, limit).await
    }

    async fn start_run(
        &self,
        connection_id: &str,
        trigger: RunTrigger,
        now: Instant,
    ) -> StoreResult<RunRow> {
        runs::start(&self.pool, connection_id, trigger, now).await
    }

    async fn heartbeat_run(&self, run_id: &str, now: Instant) -> StoreResult<RunRow> {
        runs::heartbeat(&self.pool, run_id, now).await
    }

    async fn finish_run(
        &self,
        run_id: &str,
        outcome: &RunOutcome,
        now: Instant,
    ) -> StoreResult<RunRow> {
        runs::finish(&self.pool, run_id, outcome, now).await
    }

    async fn append_run_events(
        &self,
        run_id: &str,
        events: &[NewRunEvent],
        now: Instant,
    ) -> StoreResult<()> {
        runs::append_events(&self.pool, run_id, events, now).await
    }

    async fn recover_gaps(
        &self,
        connection_id: &str,
        stream: Option<&str>,
        now: Instant,
    ) -> StoreResult<u64> {
        runs::recover_gaps(&self.pool, connection_id, stream, now).await
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRow>> {
        runs::get(&self.pool, run_id).await
    }

    async fn run_events(&self, run_id: &str) -> StoreResult<Vec<RunEvent>> {
        runs::events(&self.pool, run_id).await
    }

    async fn list_runs(
        &self,
        connection_id: &str,
        limit: u32,
        before: Option<&str>,
    ) -> StoreResult<Vec<RunRow>> {
        runs::list(&self.pool, connection_id, limit, before).await
    }

    async fn open_attention(
        &self,
        connection_id: &str,
        kind: AttentionKind,
        message: Option<&str>,
        now: Instant,
    ) -> StoreResult<AttentionRow> {
        attention::open(&self.pool, connection_id, kind, message, now).await
    }

    async fn resolve_attention(
        &self,
        attention_id: &str,
        now: Instant,
    ) -> StoreResult<AttentionRow> {
        attention::resolve(&self.pool, attention_id, now).await
    }

    async fn list_attention(&self, connection_id: &str) -> StoreResult<Vec<AttentionRow>> {
        attention::list(&self.pool, connection_id).await
    }

    async fn ingest_records(
        &self,
        connection_id: &str,
        records: &[RecordInput],
        now: Instant,
    ) -> StoreResult<IngestCounts> {
        records::ingest(&self.pool, connection_id, records, now).await
    }

    async fn delete_records(
        &self,
        connection_id: &str,
        deletion: &RecordDeletion,
        now: Instant,
    ) -> StoreResult<u64> {
        records::delete(&self.pool, connection_id, deletion, now).await
    }

    async fn read_evidence_page(
        &self,
        query: &ListQuery,
        now: Instant,
    ) -> StoreResult<EvidencePage> {
        page::read_page(&self.pool, query, now).await
    }

    async fn stream_evidence(
        &self,
        query: &ListQuery,
        now: Instant,
    ) -> StoreResult<EvidenceStream> {
        page::stream_all(&self.pool, query, now).await
    }

    async fn selector_candidates(&self, selector: &str) -> StoreResult<SelectorCandidates> {
        connections::selector_candidates(&self.pool, selector).await
    }

    async fn read_evidence(
        &self,
        connection_ids: &[String],
        now: Instant,
    ) -> StoreResult<EvidencePage> {
        page::read_ids(&self.pool, connection_ids, now).await
    }

    async fn read_deep_evidence(
        &self,
        connection_id: &str,
        now: Instant,
    ) -> StoreResult<Option<DeepEvidence>> {
        page::read_deep(&self.pool, connection_id, now).await
    }

    async fn all_open_runs(&self, limit: u32) -> StoreResult<Vec<OpenRun>> {
        runs::all_open_runs(&self.pool, limit).await
    }

    async fn fold_dirty(&self, budget: u32, now: Instant) -> SweepReport {
        if budget == 0 {
            return SweepReport::default();
        }
        fold::sweep(&self.pool, budget, now).await
    }

    async fn rebuild_evidence(
        &self,
        batch_size: u32,
        now: Instant,
        progress: Progress<'_>,
    ) -> StoreResult<RebuildReport> {
        rebuild::rebuild(&self.pool, batch_size, now, progress).await
    }

    async fn read_model_status(&self) -> StoreResult<ReadModelStatus> {
        rebuild::status(&self.pool).await
    }

    async fn runtime_heartbeat(&self, label: &str, now: Instant) -> StoreResult<()> {
        settings::runtime_heartbeat(&self.pool, label, now).await
    }


    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        settings::get(&self.pool, key).await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        settings::init(&self.pool, key, value).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        settings::put(&self.pool, key, value).await
    }
}

#[async_trait::async_trait]
impl ReadModelAdmin for BackendStore {
    async fn fold_prepare(&self, budget: u32) -> StoreResult<PreparedFold> {
        let (claims, extracted) = fold::prepare(&self.pool, budget).await?;
        Ok(PreparedFold { claims, extracted })
    }

    async fn fold_publish(&self, prepared: PreparedFold, now: Instant) -> StoreResult<FoldReport> {
        fold::publish_prepared(&self.pool, &prepared.claims, &prepared.extracted, now).await
    }

    async fn evidence_maintenance(&self) -> StoreResult<Vec<EvidenceMaintenance>> {
        rebuild::maintenance_rows(&self.pool).await
    }
}
