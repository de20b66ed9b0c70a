//! Read-time synthesis (SPEC §4): `synthesize(evidence, now, liveness) -> Projection`.
//!
//! Pure: the only inputs are the arguments. Time crossing a threshold changes the output with
//! no write anywhere, which is the point.
//!
//! Where SPEC §4 is silent or loose, the readings chosen (each documented where it is made):
//! - unreadable evidence (row 1) also makes freshness `unknown` and offers only `wait`;
//! - a scheduled connector with no schedule row is "never scheduled", not "disabled": it
//!   skips row 3 and, with no other window, lands on row 10 with "Resume schedule";
//! - row 3's disabled schedule reports `schedule_disabled` and shows the same grey `Paused`;
//! - row 4 names `connector_error_repeated` before `repeated_failures` when both hold;
//! - a failure with no recorded reason is retryable (row 6);
//! - draft/revoked are `idle` with `setup_incomplete`/`revoked`, rule 0;
//! - a `wait` on its own keeps the channel `calm`: it is addressed to no one;
//! - nothing that starts a run is offered while one is active, while the owner or a
//!   maintainer must act first, or on a connection that is not active.

mod actions;
mod freshness;
mod health;
mod signals;
mod verdict;
mod wording;

#[cfg(test)]
mod tests;

use crate::evidence::Evidence;
use crate::liveness::Liveness;
use crate::model::{string_enum, ConnectionStatus};
use crate::Instant;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use signals::Signals;

string_enum!(
    /// Freshness of the connection's data.
    FreshnessStatus {
        Current => "current",
        Stale => "stale",
        Never => "never",
        Unknown => "unknown",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freshness {
    pub status: FreshnessStatus,
    #[serde(default, with = "crate::instant_json::option")]
    pub last_success_at: Option<DateTime<Utc>>,
    pub age_seconds: Option<i64>,
    pub window_seconds: Option<i64>,
    #[serde(default, with = "crate::instant_json::option")]
    pub stale_at: Option<DateTime<Utc>>,
}

string_enum!(
    HealthState {
        Healthy => "healthy",
        CoolingOff => "cooling_off",
        Degraded => "degraded",
        NeedsAttention => "needs_attention",
        Blocked => "blocked",
        Idle => "idle",
        Unknown => "unknown",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthBadges {
    pub syncing: bool,
    pub stale: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionHealth {
    pub state: HealthState,
    /// Machine-readable reason, e.g. `evidence_unavailable`, `paused`, `run_stalled`.
    pub reason_code: String,
    #[serde(default, with = "crate::instant_json::option")]
    pub last_success_at: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::instant_json::option")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub badges: HealthBadges,
}

string_enum!(
    Tone {
        Green => "green",
        Amber => "amber",
        Red => "red",
        Grey => "grey",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pill {
    pub tone: Tone,
    pub label: String,
}

string_enum!(
    Channel {
        Attention => "attention",
        Advisory => "advisory",
        Calm => "calm",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotation {
    /// `freshness`, `syncing`, `gaps`, `runtime`, ...
    pub kind: String,
    pub text: String,
}

string_enum!(
    ActionKind {
        Reauth => "reauth",
        AddInfo => "add_info",
        CodeFix => "code_fix",
        ReattachSchedule => "reattach_schedule",
        RefreshNow => "refresh_now",
        RetryGap => "retry_gap",
        Wait => "wait",
        ContinueSetup => "continue_setup",
        Reactivate => "reactivate",
    }
);

string_enum!(
    Audience {
        Owner => "owner",
        Maintainer => "maintainer",
        None => "none",
    }
);

string_enum!(
    #[derive(PartialOrd, Ord)]
    Urgency {
        Now => "now",
        Soon => "soon",
        Verifying => "verifying",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequiredAction {
    pub kind: ActionKind,
    pub audience: Audience,
    pub urgency: Urgency,
    pub cta: String,
    pub satisfied_when: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenderedVerdict {
    pub pill: Pill,
    pub channel: Channel,
    pub annotations: Vec<Annotation>,
    pub forward_statement: String,
    pub required_actions: Vec<RequiredAction>,
}

/// Which rule of the health table fired, for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleTrace {
    /// Row number in SPEC §4's health table (1-11), or 0 for draft/revoked lifecycle.
    pub health_rule: u8,
    pub explanation: String,
}

/// Everything synthesized for one connection at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    pub freshness: Freshness,
    pub health: ConnectionHealth,
    pub verdict: RenderedVerdict,
    pub trace: RuleTrace,
}

/// Synthesizes the owner-facing projection from durable evidence, `now` and liveness.
///
/// Freshness comes first because health rules 6, 7, 9 and 10 read it; the health reason then
/// drives the pill, the forward statement and the actions, and the actions drive the channel.
pub fn synthesize(evidence: &Evidence, now: Instant, liveness: &Liveness) -> Projection {
    let signals = Signals::new(evidence, now, liveness);
    let freshness = freshness::assess(&signals);
    let reason = health::classify(&signals, &freshness);
    let required_actions = actions::required(&signals, reason, &freshness);

    let health = ConnectionHealth {
        state: reason.state(),
        reason_code: reason.as_str().to_owned(),
        last_success_at: freshness.last_success_at,
        next_attempt_at: next_attempt_at(&signals, reason),
        badges: HealthBadges {
            syncing: signals.run_active(),
            stale: freshness.status == FreshnessStatus::Stale,
        },
    };
    let verdict = RenderedVerdict {
        pill: verdict::pill(reason, &freshness, signals.run_active()),
        channel: actions::channel(&required_actions, liveness.runtime_up),
        annotations: verdict::annotations(&signals, &freshness),
        forward_statement: verdict::forward_statement(&signals, reason),
        required_actions,
    };
    let trace = RuleTrace {
        health_rule: reason.rule(),
        explanation: health::explain(reason, &signals, &freshness),
    };
    Projection {
        freshness,
        health,
        verdict,
        trace,
    }
}

/// When the runtime will next try on its own: the enabled schedule's next due time. Rule 6
/// makes this the retry; otherwise it is the next scheduled refresh, which is still the next
/// attempt even when the owner must act first. Absent when nothing will run by itself
/// (paused, draft, revoked) and when the evidence is unreadable, since its schedule would be
/// a guess.
fn next_attempt_at(signals: &Signals<'_>, reason: health::Reason) -> Option<Instant> {
    if signals.status() != ConnectionStatus::Active || reason == health::Reason::EvidenceUnavailable
    {
        return None;
    }
    signals.next_scheduled_at()
}
