//! What the owner reads: the pill, the annotations next to it, and what happens next.

use super::health::Reason;
use super::signals::Signals;
use super::wording::{ago, plural, until};
use super::{Annotation, Freshness, FreshnessStatus, Pill, Tone};

const SYNCING: &str = "Syncing";

/// SPEC §4 verdict table. Two readings where the table is loose:
/// - "needs_attention with data still current" is amber only when freshness is `current`;
///   `unknown` freshness cannot vouch for the data, so it shares the red of `stale`/`never`.
/// - `schedule_disabled` is a flavour of row 3 and shows the same grey `Paused`.
pub(super) fn pill(reason: Reason, freshness: &Freshness, run_active: bool) -> Pill {
    let syncing_or = |label: &'static str| if run_active { SYNCING } else { label };
    let (tone, label) = match reason {
        Reason::SetupIncomplete => (Tone::Grey, "Setup in progress"),
        Reason::Revoked => (Tone::Grey, "Revoked"),
        Reason::Fresh => (Tone::Green, syncing_or("Healthy")),
        Reason::RefreshDue | Reason::RetryScheduled => (Tone::Amber, syncing_or("Needs refresh")),
        Reason::NeverRun => (Tone::Grey, syncing_or("Not measured")),
        Reason::Paused | Reason::ScheduleDisabled => (Tone::Grey, "Paused"),
        Reason::ReauthRequired | Reason::OwnerInputRequired
            if freshness.status == FreshnessStatus::Current =>
        {
            (Tone::Amber, "Degraded")
        }
        Reason::ReauthRequired | Reason::OwnerInputRequired => (Tone::Red, "Can't collect"),
        Reason::RepeatedFailures | Reason::ConnectorErrorRepeated => (Tone::Red, "Can't collect"),
        Reason::RunStalled | Reason::LastRunFailed | Reason::GapsUnrecovered | Reason::Stale => {
            (Tone::Amber, "Degraded")
        }
        Reason::EvidenceUnavailable | Reason::NoStalenessWindow => (Tone::Grey, "Checking"),
    };
    Pill {
        tone,
        label: label.to_owned(),
    }
}

/// The freshness annotation comes first and is always there, so colour is never the only
/// signal. "Refreshing now." is its own `syncing` annotation rather than a replacement for
/// the freshness text: a run in progress must not hide that the data is three days old.
/// Runtime outages are deliberately absent: the list carries one runtime banner instead of
/// an alarm per connection.
pub(super) fn annotations(signals: &Signals<'_>, freshness: &Freshness) -> Vec<Annotation> {
    let mut notes = vec![annotation("freshness", freshness_text(signals, freshness))];
    if signals.run_active() {
        notes.push(annotation("syncing", "Refreshing now.".to_owned()));
    }
    if let Some(at) = signals.stalled_since() {
        notes.push(annotation(
            "stalled",
            format!(
                "The run in progress stopped reporting {}.",
                ago((signals.now - at).num_seconds())
            ),
        ));
    }
    let gap_streams = signals.gap_stream_count();
    if gap_streams > 0 {
        notes.push(annotation(
            "gaps",
            format!(
                "{} unrecovered gaps.",
                match gap_streams {
                    1 => "1 stream has".to_owned(),
                    n => format!("{n} streams have"),
                }
            ),
        ));
    }
    if signals.evidence_unavailable() {
        notes.push(annotation(
            "evidence",
            match &signals.evidence.meta.error {
                Some(error) => format!("Summary evidence could not be read: {error}."),
                None => "Summary evidence has not been built for this connection yet.".to_owned(),
            },
        ));
    }
    notes
}

fn annotation(kind: &str, text: String) -> Annotation {
    Annotation {
        kind: kind.to_owned(),
        text,
    }
}

fn freshness_text(signals: &Signals<'_>, freshness: &Freshness) -> String {
    let age = freshness.age_seconds.map(ago);
    match (freshness.status, age) {
        _ if signals.evidence_unavailable() => "Freshness can't be checked right now.".to_owned(),
        (FreshnessStatus::Never, _) | (_, None) => {
            "Freshness has not been measured yet.".to_owned()
        }
        // Joined rather than `format!`ted: one of these is in every summary, and the
        // formatter's pass over the pieces cost more than the copy.
        (FreshnessStatus::Current, Some(age)) => ["Fresh, last refreshed ", &age, "."].concat(),
        (FreshnessStatus::Stale, Some(age)) => [
            "Stale for this connection's freshness policy: last refreshed ",
            &age,
            ".",
        ]
        .concat(),
        (FreshnessStatus::Unknown, Some(age)) => {
            ["Last refreshed ", &age, "; no freshness window applies."].concat()
        }
    }
}

/// One sentence on what happens next, from the owner's point of view.
pub(super) fn forward_statement(signals: &Signals<'_>, reason: Reason) -> String {
    let blocked_on = match reason {
        Reason::SetupIncomplete => Some("Nothing will be collected until setup is finished."),
        Reason::Revoked => Some("Nothing will be collected until you reactivate this connection."),
        Reason::EvidenceUnavailable => {
            Some("This summary will update once its evidence can be read again.")
        }
        Reason::ReauthRequired => {
            Some("Nothing will be collected until you reconnect this account.")
        }
        Reason::OwnerInputRequired => {
            Some("Nothing will be collected until you complete the requested action.")
        }
        Reason::Paused => Some("Nothing will be collected until you resume this connection."),
        Reason::ScheduleDisabled => {
            Some("Nothing will be collected automatically until the schedule is enabled again.")
        }
        Reason::RepeatedFailures | Reason::ConnectorErrorRepeated => {
            Some("Collection will keep failing until the connector is fixed.")
        }
        _ => None,
    };
    if let Some(sentence) = blocked_on {
        return sentence.to_owned();
    }
    if signals.run_active() {
        return "A refresh is running now; this summary updates when it finishes.".to_owned();
    }
    if reason == Reason::RunStalled {
        return "The run in progress stopped reporting and may need to be restarted.".to_owned();
    }
    if signals.enabled_schedule().is_some() && !signals.liveness.runtime_up {
        return "Scheduled refreshes will resume when the collection runtime is back.".to_owned();
    }
    let next = if reason == Reason::RetryScheduled {
        "A retry"
    } else {
        "Next refresh"
    };
    match signals.enabled_schedule() {
        Some(schedule) => match schedule.next_due_at {
            Some(at) if at <= signals.now => [next, " is due now."].concat(),
            Some(at) => [
                next,
                " is scheduled ",
                &until((at - signals.now).num_seconds()),
                ".",
            ]
            .concat(),
            None => format!(
                "Refreshes run automatically every {}.",
                every(schedule.interval_seconds)
            ),
        },
        None if signals.is_manual() => {
            "New data arrives only when you refresh this connection by hand.".to_owned()
        }
        None => "Nothing will be collected until you refresh or set a schedule.".to_owned(),
    }
}

/// "hour", "6 hours", "90 minutes": the largest unit that divides the interval evenly.
fn every(seconds: i64) -> String {
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds > 0 && seconds % size == 0)
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    if count == 1 {
        unit.to_owned()
    } else {
        plural(count, unit)
    }
}
