//! Facts read off the evidence and liveness once, so the health table, the verdict and the
//! actions all ask the same questions the same way.

use crate::evidence::{Evidence, EvidenceState};
use crate::liveness::{Liveness, RunLiveness};
use crate::model::{
    AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus, Schedule,
};
use crate::Instant;

pub(super) struct Signals<'a> {
    pub evidence: &'a Evidence,
    pub now: Instant,
    pub liveness: &'a Liveness,
}

impl<'a> Signals<'a> {
    pub fn new(evidence: &'a Evidence, now: Instant, liveness: &'a Liveness) -> Self {
        Signals {
            evidence,
            now,
            liveness,
        }
    }

    pub fn evidence_unavailable(&self) -> bool {
        matches!(
            self.evidence.meta.state,
            EvidenceState::Failed | EvidenceState::Missing
        )
    }

    pub fn status(&self) -> ConnectionStatus {
        self.evidence.status
    }

    pub fn is_manual(&self) -> bool {
        self.evidence.recommended_mode == RecommendedMode::Manual
    }

    pub fn is_scheduled(&self) -> bool {
        self.evidence.recommended_mode == RecommendedMode::Scheduled
    }

    /// Cancelled runs are not failures: only `failed` counts.
    pub fn last_run_failed(&self) -> bool {
        self.evidence
            .last_run
            .as_ref()
            .is_some_and(|run| run.status == RunStatus::Failed)
    }

    /// The reason the last run failed, when it failed and recorded one.
    pub fn last_failure(&self) -> Option<&'a FailureReason> {
        self.evidence
            .last_run
            .as_ref()
            .filter(|run| run.status == RunStatus::Failed)
            .and_then(|run| run.failure_reason.as_ref())
    }

    /// A failure with no recorded reason is treated as retryable: nothing says the owner must
    /// act, and a later automatic run is the cheapest way to find out.
    pub fn last_failure_retryable(&self) -> bool {
        self.last_run_failed() && self.last_failure().is_none_or(FailureReason::is_retryable)
    }

    pub fn never_succeeded(&self) -> bool {
        self.evidence.last_successful_run.is_none()
    }

    pub fn has_attention(&self, kind: AttentionKind) -> bool {
        self.evidence.open_attention.contains(&kind)
    }

    pub fn reauth_needed(&self) -> bool {
        self.has_attention(AttentionKind::Reauth)
            || self.last_failure() == Some(&FailureReason::CredentialRejected)
    }

    pub fn owner_input_needed(&self) -> bool {
        self.has_attention(AttentionKind::AddInfo)
            || self.last_failure() == Some(&FailureReason::NeedsOwnerInput)
    }

    pub fn enabled_schedule(&self) -> Option<&'a Schedule> {
        self.evidence.schedule.as_ref().filter(|s| s.enabled)
    }

    /// A scheduled connector whose schedule row exists but is switched off. A scheduled
    /// connector with no schedule row at all was never put on a schedule, which is not the
    /// same as someone turning it off.
    pub fn schedule_disabled(&self) -> bool {
        self.is_scheduled() && self.evidence.schedule.as_ref().is_some_and(|s| !s.enabled)
    }

    /// When the runtime will next try on its own: the enabled schedule's next due time.
    pub fn next_scheduled_at(&self) -> Option<Instant> {
        self.enabled_schedule().and_then(|s| s.next_due_at)
    }

    pub fn run_active(&self) -> bool {
        self.liveness.run.is_active()
    }

    pub fn stalled_since(&self) -> Option<Instant> {
        match &self.liveness.run {
            RunLiveness::Stalled { heartbeat_at, .. } => Some(*heartbeat_at),
            _ => None,
        }
    }

    pub fn has_required_gaps(&self) -> bool {
        self.evidence.unrecovered_gaps.iter().any(|g| g.required)
    }

    pub fn has_retryable_gaps(&self) -> bool {
        self.evidence.unrecovered_gaps.iter().any(|g| g.retryable)
    }

    /// Distinct streams with unrecovered gaps.
    pub fn gap_stream_count(&self) -> usize {
        let mut streams: Vec<&str> = self
            .evidence
            .unrecovered_gaps
            .iter()
            .map(|g| g.stream.as_str())
            .collect();
        streams.sort_unstable();
        streams.dedup();
        streams.len()
    }
}
