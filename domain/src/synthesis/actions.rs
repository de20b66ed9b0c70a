//! SPEC §4 required actions and the notification channel they imply.
//!
//! Actions are pushed in table order, which is also most-urgent-first, and each kind has
//! exactly one push site, so the list is ordered and free of duplicates by construction.

use super::health::Reason;
use super::signals::Signals;
use super::{
    ActionKind, Audience, Channel, Freshness, FreshnessStatus, HealthState, RequiredAction, Urgency,
};
use crate::model::ConnectionStatus;

const LATER_RUN_SUCCEEDS: &str = "A later run succeeds.";

/// Readings of the table where it is silent or would lead to a dead end:
/// - Evidence that cannot be read offers only `wait`: every other row would be a guess from
///   a row we just declared unreliable, and the sweeper re-folds it without the owner.
/// - `reattach_schedule` is offered for any paused connection, not only one with a prior
///   success: runs start only on active connections, so `refresh_now` on a paused,
///   never-run connection could not be satisfied. It is also the way out of
///   `no_staleness_window` (a scheduled connector with no schedule): a schedule is the one
///   thing that gives it a window.
/// - Nothing that starts a run (`refresh_now`, `retry_gap`) is offered while a run is active
///   (`wait` says it already happens), while the owner must act first (needs_attention: the
///   run would fail the same way), while blocked (the maintainer must act first), or when the
///   connection is not active (the service refuses the start).
/// - Besides the table's triggers, `refresh_now` covers the degraded rows with nothing else
///   to offer: a stalled run, a failed last run that is not cooling off, and required-stream
///   gaps no retry can recover. A new run is what clears each of them. For a stalled run this
///   relies on the service accepting a start when the open run is past its lease (SPEC §4
///   calls only a run within its lease "active").
pub(super) fn required(
    signals: &Signals<'_>,
    reason: Reason,
    freshness: &Freshness,
) -> Vec<RequiredAction> {
    match reason {
        Reason::SetupIncomplete => {
            return vec![owner(
                ActionKind::ContinueSetup,
                Urgency::Soon,
                "Continue setup",
                "The connection is activated.",
            )]
        }
        Reason::Revoked => {
            return vec![owner(
                ActionKind::Reactivate,
                Urgency::Soon,
                "Reactivate",
                "The connection is reactivated.",
            )]
        }
        Reason::EvidenceUnavailable => {
            return vec![wait("The summary evidence can be read again.")];
        }
        _ => {}
    }

    let mut actions = Vec::new();
    if signals.reauth_needed() {
        actions.push(owner(
            ActionKind::Reauth,
            Urgency::Now,
            "Reconnect this account",
            LATER_RUN_SUCCEEDS,
        ));
    }
    if signals.owner_input_needed() {
        actions.push(owner(
            ActionKind::AddInfo,
            Urgency::Now,
            "Complete the requested action",
            "The attention request is resolved.",
        ));
    }
    let state = reason.state();
    if state == HealthState::Blocked {
        actions.push(RequiredAction {
            kind: ActionKind::CodeFix,
            audience: Audience::Maintainer,
            urgency: Urgency::Soon,
            cta: "Connector needs a fix".to_owned(),
            satisfied_when: LATER_RUN_SUCCEEDS.to_owned(),
        });
    }
    let resume_when = match reason {
        Reason::Paused => Some("The connection is resumed."),
        Reason::ScheduleDisabled | Reason::NoStalenessWindow => Some("A schedule is enabled."),
        _ => None,
    };
    if let Some(satisfied_when) = resume_when {
        actions.push(owner(
            ActionKind::ReattachSchedule,
            Urgency::Soon,
            "Resume schedule",
            satisfied_when,
        ));
    }

    let can_start_run = signals.status() == ConnectionStatus::Active
        && !signals.run_active()
        && !matches!(state, HealthState::NeedsAttention | HealthState::Blocked);
    let table_wants_refresh = matches!(
        freshness.status,
        FreshnessStatus::Stale | FreshnessStatus::Never
    ) || (signals.last_run_failed()
        && signals.next_scheduled_at().is_none());
    let degraded_without_remedy = matches!(reason, Reason::RunStalled | Reason::LastRunFailed)
        || (reason == Reason::GapsUnrecovered && !signals.has_retryable_gaps());
    if can_start_run && (table_wants_refresh || degraded_without_remedy) {
        actions.push(owner(
            ActionKind::RefreshNow,
            Urgency::Soon,
            "Refresh now",
            LATER_RUN_SUCCEEDS,
        ));
    }
    if can_start_run && signals.has_retryable_gaps() {
        actions.push(owner(
            ActionKind::RetryGap,
            Urgency::Verifying,
            "Retry now",
            "The gaps are recovered.",
        ));
    }

    if signals.run_active() {
        actions.push(wait("The run in progress finishes."));
    } else if reason == Reason::RetryScheduled {
        actions.push(wait("The scheduled retry has run."));
    }
    actions
}

fn owner(kind: ActionKind, urgency: Urgency, cta: &str, satisfied_when: &str) -> RequiredAction {
    RequiredAction {
        kind,
        audience: Audience::Owner,
        urgency,
        cta: cta.to_owned(),
        satisfied_when: satisfied_when.to_owned(),
    }
}

fn wait(satisfied_when: &str) -> RequiredAction {
    RequiredAction {
        kind: ActionKind::Wait,
        audience: Audience::None,
        urgency: Urgency::Verifying,
        cta: "Collecting, no action needed".to_owned(),
        satisfied_when: satisfied_when.to_owned(),
    }
}

/// `attention` for an owner action due now, `advisory` for any other action addressed to
/// someone, else `calm`. A `wait` (audience none) asks nothing of anyone, so on its own it
/// keeps the channel calm: a connection that is merely syncing or cooling off is not news.
/// With the collection runtime down everything is capped at `calm`; the list's single
/// runtime banner speaks for all connections.
pub(super) fn channel(actions: &[RequiredAction], runtime_up: bool) -> Channel {
    if !runtime_up {
        Channel::Calm
    } else if actions
        .iter()
        .any(|a| a.audience == Audience::Owner && a.urgency == Urgency::Now)
    {
        Channel::Attention
    } else if actions.iter().any(|a| a.audience != Audience::None) {
        Channel::Advisory
    } else {
        Channel::Calm
    }
}
