//! The summary item: one per connection, identical in the unscoped list, the scoped list,
//! the detail response and the console. Built only by [`SummaryItem::project`].

use crate::evidence::{CountState, Evidence, EvidenceState, RunBrief, StreamEvidence};
use crate::liveness::Liveness;
use crate::model::{ConnectionStatus, Schedule};
use crate::synthesis::{
    synthesize, ConnectionHealth, Freshness, Projection, RenderedVerdict, RequiredAction,
};
use crate::Instant;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceSummary {
    pub state: EvidenceState,
    #[serde(default, with = "crate::instant_json::option")]
    pub computed_at: Option<DateTime<Utc>>,
    pub folded_seq: i64,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryItem {
    pub connection_id: String,
    pub connector_instance_id: String,
    pub connector_id: String,
    pub connector_display_name: String,
    pub display_name: Option<String>,
    pub status: ConnectionStatus,
    pub source_kind: String,
    #[serde(with = "crate::instant_json")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::instant_json")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "crate::instant_json::option")]
    pub revoked_at: Option<DateTime<Utc>>,
    pub streams: Vec<StreamEvidence>,
    pub total_records: i64,
    pub total_records_state: CountState,
    pub last_run: Option<RunBrief>,
    pub last_successful_run: Option<RunBrief>,
    pub schedule: Option<Schedule>,
    pub freshness: Freshness,
    pub connection_health: ConnectionHealth,
    pub rendered_verdict: RenderedVerdict,
    pub next_action: Option<RequiredAction>,
    pub evidence: EvidenceSummary,
}

impl SummaryItem {
    /// The one per-connection projector's pure half: evidence + `now` + liveness -> item.
    /// Takes the evidence by value: every caller is done with it, and moving its strings
    /// and nested parts into the item spares a copy of each per listed connection.
    pub fn project(evidence: Evidence, now: Instant, liveness: &Liveness) -> Self {
        let projection = synthesize(&evidence, now, liveness);
        Self::from_projection(evidence, projection)
    }

    /// The item from evidence and its already synthesized projection (the diagnostics
    /// route shows the projection's rule trace beside the item, synthesized once).
    pub fn from_projection(evidence: Evidence, projection: Projection) -> Self {
        let next_action = projection.verdict.required_actions.first().cloned();
        // Fields moved out one by one (the evidence is not used again).
        SummaryItem {
            connector_instance_id: evidence.connection_id.clone(),
            connection_id: evidence.connection_id,
            connector_id: evidence.connector_id,
            connector_display_name: evidence.connector_display_name,
            display_name: evidence.display_name,
            status: evidence.status,
            source_kind: evidence.source_kind,
            created_at: evidence.created_at,
            updated_at: evidence.updated_at,
            revoked_at: evidence.revoked_at,
            streams: evidence.streams,
            total_records: evidence.total_records,
            total_records_state: evidence.total_records_state,
            last_run: evidence.last_run,
            last_successful_run: evidence.last_successful_run,
            schedule: evidence.schedule,
            freshness: projection.freshness,
            connection_health: projection.health,
            rendered_verdict: projection.verdict,
            next_action,
            evidence: EvidenceSummary {
                state: evidence.meta.state,
                computed_at: evidence.meta.computed_at,
                folded_seq: evidence.meta.folded_seq,
                error: evidence.meta.error,
            },
        }
    }

    /// Owner label, else the connector's name.
    pub fn name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.connector_display_name)
    }
}
