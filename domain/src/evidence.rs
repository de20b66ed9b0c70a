//! Durable connector-summary evidence: what the read model stores per connection.
//!
//! Nothing here depends on "now". Freshness, health, verdicts and actions are computed from
//! this at read time by [`crate::synthesis`].

use crate::model::{
    string_enum, AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus,
    Schedule,
};
use crate::Instant;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

string_enum!(
    /// Whether a count can be shown as a plain number.
    CountState {
        /// Exact as of the last fold.
        Known => "known",
        /// The last known value; a newer count is pending (evidence dirty or fold failed).
        Stale => "stale",
        /// Never counted.
        Unknown => "unknown",
    }
);

/// Retained records of one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamEvidence {
    pub name: String,
    pub required: bool,
    pub record_count: i64,
    pub count_state: CountState,
    #[serde(default, with = "crate::instant_json::option")]
    pub last_updated_at: Option<DateTime<Utc>>,
}

/// The facts about one run that summaries carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunBrief {
    pub run_id: String,
    pub status: RunStatus,
    #[serde(with = "crate::instant_json")]
    pub started_at: DateTime<Utc>,
    #[serde(default, with = "crate::instant_json::option")]
    pub finished_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<FailureReason>,
    pub records_written: i64,
    pub gap_count: i64,
}

/// An unrecovered gap, with whether its stream is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GapEvidence {
    pub run_id: String,
    pub stream: String,
    pub reason: String,
    pub retryable: bool,
    pub required: bool,
}

/// Where the effective staleness window came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    ConnectionOverride,
    Manifest,
    Schedule,
}

string_enum!(
    /// Maintenance state of an evidence row.
    EvidenceState {
        /// Folded at the latest write.
        Current => "current",
        /// A write arrived after the last fold; the read path folds before answering.
        Dirty => "dirty",
        /// The last fold failed; see `error`.
        Failed => "failed",
        /// No evidence row exists for the connection.
        Missing => "missing",
    }
);

/// Maintenance metadata: sequences and timestamps, never verdicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceMeta {
    pub state: EvidenceState,
    #[serde(default, with = "crate::instant_json::option")]
    pub computed_at: Option<DateTime<Utc>>,
    /// Global, monotonically increasing sequence of the latest write to this connection.
    pub write_seq: i64,
    /// The write sequence the stored evidence reflects.
    pub folded_seq: i64,
    /// Sanitized reason the last fold failed.
    pub error: Option<String>,
}

/// Durable evidence for one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    // Identity and lifecycle.
    pub connection_id: String,
    pub connector_id: String,
    pub connector_display_name: String,
    pub display_name: Option<String>,
    pub status: ConnectionStatus,
    pub source_kind: String,
    pub recommended_mode: RecommendedMode,
    #[serde(with = "crate::instant_json")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::instant_json")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, with = "crate::instant_json::option")]
    pub revoked_at: Option<DateTime<Utc>>,

    // Records.
    pub streams: Vec<StreamEvidence>,
    pub total_records: i64,
    pub total_records_state: CountState,

    // Runs.
    pub last_run: Option<RunBrief>,
    pub last_successful_run: Option<RunBrief>,
    /// Failed runs since the last success (cancelled runs neither count nor reset).
    pub consecutive_failures: i64,
    /// Of those, how many in a row (most recent first) failed with `connector_error`.
    pub consecutive_connector_errors: i64,

    // Owner work and backlog.
    pub open_attention: Vec<AttentionKind>,
    pub unrecovered_gaps: Vec<GapEvidence>,

    // Schedule and freshness inputs.
    pub schedule: Option<Schedule>,
    /// The connection's own override, if any.
    pub maximum_staleness_override: Option<i64>,
    /// The manifest's `refresh_policy.maximum_staleness_seconds`, if any.
    pub manifest_staleness_seconds: Option<i64>,
    /// Effective window: override, else manifest, else `2 * interval + jitter` when scheduled.
    pub window_seconds: Option<i64>,
    pub window_source: Option<WindowSource>,
    /// `last_success + window`: a durable instant the list can sort on by index.
    #[serde(default, with = "crate::instant_json::option")]
    pub stale_at: Option<DateTime<Utc>>,

    pub meta: EvidenceMeta,
}

impl Evidence {
    /// The effective staleness window and where it came from (SPEC §4 "window").
    pub fn effective_window(
        maximum_staleness_override: Option<i64>,
        manifest_staleness_seconds: Option<i64>,
        schedule: Option<&Schedule>,
    ) -> Option<(i64, WindowSource)> {
        if let Some(seconds) = maximum_staleness_override {
            return Some((seconds, WindowSource::ConnectionOverride));
        }
        if let Some(seconds) = manifest_staleness_seconds {
            return Some((seconds, WindowSource::Manifest));
        }
        schedule.filter(|s| s.enabled).map(|s| {
            (
                2 * s.interval_seconds + s.jitter_seconds,
                WindowSource::Schedule,
            )
        })
    }

    /// `last_success + window`, when both exist.
    pub fn compute_stale_at(
        last_successful_run: Option<&RunBrief>,
        window_seconds: Option<i64>,
    ) -> Option<Instant> {
        let success = last_successful_run?;
        let at = success.finished_at.unwrap_or(success.started_at);
        Some(at + chrono::Duration::seconds(window_seconds?))
    }

    /// When the last successful run finished (or started, if it never recorded a finish).
    pub fn last_success_at(&self) -> Option<Instant> {
        self.last_successful_run
            .as_ref()
            .map(|r| r.finished_at.unwrap_or(r.started_at))
    }

    /// Owner label, else the connector's name.
    pub fn name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.connector_display_name)
    }
}
