//! SPEC §4 health table: first matching row wins.
//!
//! Every outcome is a [`Reason`]; the state and the table row follow from it, so the three can
//! never disagree.

use super::signals::Signals;
use super::wording::{ago, plural};
use super::{Freshness, FreshnessStatus, HealthState};
use crate::model::{AttentionKind, ConnectionStatus, FailureReason};

/// Consecutive failed runs at which a connection counts as blocked (row 4).
pub(super) const BLOCKED_AFTER_FAILURES: i64 = 7;
/// Consecutive `connector_error` failures at which a connection counts as blocked (row 4).
pub(super) const BLOCKED_AFTER_CONNECTOR_ERRORS: i64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    SetupIncomplete,
    Revoked,
    EvidenceUnavailable,
    ReauthRequired,
    OwnerInputRequired,
    Paused,
    ScheduleDisabled,
    RepeatedFailures,
    ConnectorErrorRepeated,
    RunStalled,
    RetryScheduled,
    LastRunFailed,
    GapsUnrecovered,
    Stale,
    NeverRun,
    RefreshDue,
    NoStalenessWindow,
    Fresh,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SetupIncomplete => "setup_incomplete",
            Reason::Revoked => "revoked",
            Reason::EvidenceUnavailable => "evidence_unavailable",
            Reason::ReauthRequired => "reauth_required",
            Reason::OwnerInputRequired => "owner_input_required",
            Reason::Paused => "paused",
            Reason::ScheduleDisabled => "schedule_disabled",
            Reason::RepeatedFailures => "repeated_failures",
            Reason::ConnectorErrorRepeated => "connector_error_repeated",
            Reason::RunStalled => "run_stalled",
            Reason::RetryScheduled => "retry_scheduled",
            Reason::LastRunFailed => "last_run_failed",
            Reason::GapsUnrecovered => "gaps_unrecovered",
            Reason::Stale => "stale",
            Reason::NeverRun => "never_run",
            Reason::RefreshDue => "refresh_due",
            Reason::NoStalenessWindow => "no_staleness_window",
            Reason::Fresh => "fresh",
        }
    }

    /// Row of the SPEC health table; 0 for the draft/revoked lifecycle that skips it.
    pub fn rule(self) -> u8 {
        match self {
            Reason::SetupIncomplete | Reason::Revoked => 0,
            Reason::EvidenceUnavailable => 1,
            Reason::ReauthRequired | Reason::OwnerInputRequired => 2,
            Reason::Paused | Reason::ScheduleDisabled => 3,
            Reason::RepeatedFailures | Reason::ConnectorErrorRepeated => 4,
            Reason::RunStalled => 5,
            Reason::RetryScheduled => 6,
            Reason::LastRunFailed | Reason::GapsUnrecovered | Reason::Stale => 7,
            Reason::NeverRun => 8,
            Reason::RefreshDue => 9,
            Reason::NoStalenessWindow => 10,
            Reason::Fresh => 11,
        }
    }

    /// Draft and revoked connections are idle: nothing runs until the owner acts, and neither
    /// is a fault.
    pub fn state(self) -> HealthState {
        match self {
            Reason::SetupIncomplete
            | Reason::Revoked
            | Reason::Paused
            | Reason::ScheduleDisabled
            | Reason::NeverRun
            | Reason::RefreshDue => HealthState::Idle,
            Reason::EvidenceUnavailable | Reason::NoStalenessWindow => HealthState::Unknown,
            Reason::ReauthRequired | Reason::OwnerInputRequired => HealthState::NeedsAttention,
            Reason::RepeatedFailures | Reason::ConnectorErrorRepeated => HealthState::Blocked,
            Reason::RunStalled
            | Reason::LastRunFailed
            | Reason::GapsUnrecovered
            | Reason::Stale => HealthState::Degraded,
            Reason::RetryScheduled => HealthState::CoolingOff,
            Reason::Fresh => HealthState::Healthy,
        }
    }
}

/// Walks the table. Where a row has several triggers, the reason names the first one listed
/// here; for row 4 the repeated connector error wins over the plain failure count because it
/// points at the connector itself.
pub(super) fn classify(signals: &Signals<'_>, freshness: &Freshness) -> Reason {
    let evidence = signals.evidence;
    match signals.status() {
        ConnectionStatus::Draft => return Reason::SetupIncomplete,
        ConnectionStatus::Revoked => return Reason::Revoked,
        ConnectionStatus::Active | ConnectionStatus::Paused => {}
    }
    if signals.evidence_unavailable() {
        return Reason::EvidenceUnavailable;
    }
    if signals.reauth_needed() {
        return Reason::ReauthRequired;
    }
    if signals.owner_input_needed() {
        return Reason::OwnerInputRequired;
    }
    if signals.status() == ConnectionStatus::Paused {
        return Reason::Paused;
    }
    if signals.schedule_disabled() {
        return Reason::ScheduleDisabled;
    }
    if evidence.consecutive_connector_errors >= BLOCKED_AFTER_CONNECTOR_ERRORS {
        return Reason::ConnectorErrorRepeated;
    }
    if evidence.consecutive_failures >= BLOCKED_AFTER_FAILURES {
        return Reason::RepeatedFailures;
    }
    if signals.stalled_since().is_some() {
        return Reason::RunStalled;
    }
    if signals.last_failure_retryable()
        && freshness.status == FreshnessStatus::Current
        && signals.next_scheduled_at().is_some()
    {
        return Reason::RetryScheduled;
    }
    if signals.last_run_failed() {
        return Reason::LastRunFailed;
    }
    if signals.has_required_gaps() {
        return Reason::GapsUnrecovered;
    }
    if freshness.status == FreshnessStatus::Stale && signals.is_scheduled() {
        return Reason::Stale;
    }
    if signals.never_succeeded() {
        return Reason::NeverRun;
    }
    if signals.is_manual() && freshness.status == FreshnessStatus::Stale {
        return Reason::RefreshDue;
    }
    if freshness.status == FreshnessStatus::Unknown {
        return Reason::NoStalenessWindow;
    }
    Reason::Fresh
}

/// The plain-words "why this verdict" line for diagnostics.
pub(super) fn explain(reason: Reason, signals: &Signals<'_>, freshness: &Freshness) -> String {
    let evidence = signals.evidence;
    let failure = signals
        .last_failure()
        .map_or("no recorded reason", FailureReason::as_str);
    match reason {
        Reason::SetupIncomplete => {
            "The connection is still a draft; health is not assessed until setup is finished."
                .to_owned()
        }
        Reason::Revoked => {
            "The connection was revoked; health is not assessed until it is reactivated."
                .to_owned()
        }
        Reason::EvidenceUnavailable => match &evidence.meta.error {
            Some(error) => format!(
                "The summary evidence could not be folded ({error}), so no verdict is guessed."
            ),
            None => "No summary evidence is available for this connection, so no verdict is \
                     guessed."
                .to_owned(),
        },
        Reason::ReauthRequired if signals.has_attention(AttentionKind::Reauth) => {
            "A request to reconnect the account is open.".to_owned()
        }
        Reason::ReauthRequired => {
            "The last run failed because the source rejected the credential.".to_owned()
        }
        Reason::OwnerInputRequired if signals.has_attention(AttentionKind::AddInfo) => {
            "A request for information only the owner can give is open.".to_owned()
        }
        Reason::OwnerInputRequired => {
            "The last run failed because it needs input only the owner can give.".to_owned()
        }
        Reason::Paused => "The connection is paused.".to_owned(),
        Reason::ScheduleDisabled => {
            "The connector is meant to run on a schedule, and its schedule is disabled.".to_owned()
        }
        Reason::ConnectorErrorRepeated => format!(
            "The last {} failed with a connector error (blocked at {BLOCKED_AFTER_CONNECTOR_ERRORS}).",
            plural(evidence.consecutive_connector_errors, "run")
        ),
        Reason::RepeatedFailures => format!(
            "The last {} failed in a row (blocked at {BLOCKED_AFTER_FAILURES}).",
            plural(evidence.consecutive_failures, "run")
        ),
        Reason::RunStalled => match signals.stalled_since() {
            Some(at) => format!(
                "A run is still marked running, but its last heartbeat was {}, past the lease.",
                ago((signals.now - at).num_seconds())
            ),
            None => "A run stopped sending heartbeats.".to_owned(),
        },
        Reason::RetryScheduled => format!(
            "The last run failed ({failure}), a retry is scheduled, and the data is still within \
             its {}-second freshness window.",
            freshness.window_seconds.unwrap_or_default()
        ),
        Reason::LastRunFailed => format!("The last run failed ({failure}); {}.", {
            if !signals.last_failure_retryable() {
                "that failure does not clear on an automatic retry"
            } else if signals.next_scheduled_at().is_some() {
                "a retry is scheduled, but the data is not current"
            } else {
                "no retry is scheduled"
            }
        }),
        Reason::GapsUnrecovered => {
            "A required stream has gaps that have not been recovered.".to_owned()
        }
        Reason::Stale => format!(
            "The last success was {} seconds ago, beyond the {}-second freshness window.",
            freshness.age_seconds.unwrap_or_default(),
            freshness.window_seconds.unwrap_or_default()
        ),
        Reason::NeverRun => "No run has succeeded yet, so there is no data to judge.".to_owned(),
        Reason::RefreshDue => format!(
            "This manual connection was last refreshed {} seconds ago, beyond its {}-second \
             freshness window.",
            freshness.age_seconds.unwrap_or_default(),
            freshness.window_seconds.unwrap_or_default()
        ),
        Reason::NoStalenessWindow => "No freshness window applies: no override, no manifest \
                                      policy and no enabled schedule."
            .to_owned(),
        Reason::Fresh => format!(
            "The last success was {} seconds ago, within the {}.",
            freshness.age_seconds.unwrap_or_default(),
            match freshness.window_seconds {
                Some(window) => format!("{window}-second freshness window"),
                None => "owner's own refresh rhythm (manual connector, no window)".to_owned(),
            }
        ),
    }
}
