//! The exact, deep reads of one connection: detail (recent runs, the failing run's events,
//! attention history, per-stream evidence extracted straight from the source tables) and
//! diagnostics (why the verdict is what it is). They carry the same summary item the list
//! shows, and never fall back to the list's shallow projection for their deep parts.

use crate::error::{ServiceError, ServiceResult};
use crate::Console;
use console_domain::evidence::Evidence;
use console_domain::summary::SummaryItem;
use console_domain::synthesis::{synthesize, RuleTrace};
use console_domain::Instant;
use console_storage::{AttentionRow, RunEvent, RunRow};
use serde::Serialize;

/// Largest page of run history.
pub const MAX_RUNS_PAGE: u32 = 100;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionDetail {
    pub object: &'static str,
    /// The same item the list shows for this connection.
    pub summary: SummaryItem,
    /// Evidence extracted from the source tables for this read (not the read model).
    pub evidence: Evidence,
    pub runs: Vec<RunRow>,
    pub runs_next_cursor: Option<String>,
    /// The most recent failed run among the runs shown, with its timeline.
    pub failing_run: Option<RunWithEvents>,
    pub attention: Vec<AttentionRow>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RunWithEvents {
    pub run: RunRow,
    pub events: Vec<RunEvent>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Diagnostics {
    pub object: &'static str,
    pub connection_id: String,
    pub now: chrono::DateTime<chrono::Utc>,
    /// The health rule that fired and why, in plain words.
    pub rule: RuleTrace,
    pub lease_seconds: i64,
    pub runtime_up: bool,
    pub run_liveness: console_domain::liveness::RunLiveness,
    /// The durable inputs synthesis read.
    pub inputs: Evidence,
    pub summary: SummaryItem,
}

impl Console {
    fn not_found(connection_id: &str) -> ServiceError {
        ServiceError::NotFound {
            entity: "connection",
            id: connection_id.to_owned(),
        }
    }

    pub async fn detail(
        &self,
        connection_id: &str,
        runs_limit: u32,
        runs_before: Option<&str>,
    ) -> ServiceResult<ConnectionDetail> {
        let now = self.now();
        // Three independent reads, asked at once so the request waits for the slowest
        // rather than their sum (each on its own pooled connection). They are joined, not
        // raced, so an unknown connection is reported as such before any other error.
        let (summary, runs, attention) = futures::join!(
            self.deep_summary(connection_id, now),
            self.runs_page(connection_id, runs_limit, runs_before),
            self.store.list_attention(connection_id),
        );
        let (summary, evidence) = summary?;
        let (runs, runs_next_cursor, failing_run) = runs?;
        Ok(ConnectionDetail {
            object: "connection_detail",
            summary,
            evidence,
            runs,
            runs_next_cursor,
            failing_run,
            attention: attention?,
        })
    }

    /// The connection's summary item and its evidence extracted from the source tables.
    async fn deep_summary(
        &self,
        connection_id: &str,
        now: Instant,
    ) -> ServiceResult<(SummaryItem, Evidence)> {
        let deep = self
            .store
            .read_deep_evidence(connection_id, now)
            .await?
            .ok_or_else(|| Self::not_found(connection_id))?;
        let summary = self.project_one(deep.page, connection_id, now)?;
        Ok((summary, deep.extracted))
    }

    /// A page of the connection's runs, newest first, the cursor of the next page, and the
    /// most recent failed run among them with its timeline.
    async fn runs_page(
        &self,
        connection_id: &str,
        runs_limit: u32,
        runs_before: Option<&str>,
    ) -> ServiceResult<(Vec<RunRow>, Option<String>, Option<RunWithEvents>)> {
        let limit = runs_limit.clamp(1, MAX_RUNS_PAGE);
        let mut runs = self
            .store
            .list_runs(connection_id, limit + 1, runs_before)
            .await?;
        let runs_next_cursor = if runs.len() > limit as usize {
            runs.truncate(limit as usize);
            runs.last().map(|r| r.run_id.clone())
        } else {
            None
        };
        let failing_run = match runs
            .iter()
            .find(|r| r.status == console_domain::model::RunStatus::Failed)
        {
            Some(run) => Some(RunWithEvents {
                run: run.clone(),
                events: self.store.run_events(&run.run_id).await?,
            }),
            None => None,
        };
        Ok((runs, runs_next_cursor, failing_run))
    }

    pub async fn diagnostics(&self, connection_id: &str) -> ServiceResult<Diagnostics> {
        let now = self.now();
        let mut page = self
            .store
            .read_evidence(&[connection_id.to_owned()], now)
            .await?;
        let observation = self.observe(&mut page, now);
        let evidence = page
            .rows
            .into_iter()
            .next()
            .ok_or_else(|| Self::not_found(connection_id))?;
        let liveness = observation.liveness_for(connection_id);
        let projection = synthesize(&evidence, now, &liveness);
        let rule = projection.trace.clone();
        let summary = SummaryItem::from_projection(evidence.clone(), projection);
        Ok(Diagnostics {
            object: "connection_diagnostics",
            connection_id: connection_id.to_owned(),
            now,
            rule,
            lease_seconds: self.settings.lease_seconds,
            runtime_up: observation.runtime.up,
            run_liveness: liveness.run,
            inputs: evidence,
            summary,
        })
    }

    pub async fn run_with_events(&self, run_id: &str) -> ServiceResult<RunWithEvents> {
        let run = self.run(run_id).await?;
        let events = self.store.run_events(run_id).await?;
        Ok(RunWithEvents { run, events })
    }
}
