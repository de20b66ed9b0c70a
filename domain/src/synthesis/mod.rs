//! Read-time synthesis (SPEC §4): `synthesize(evidence, now, liveness) -> Projection`.
//!
//! Pure: the only inputs are the arguments. Time crossing a threshold changes the output with
//! no write anywhere, which is the point.

use crate::evidence::Evidence;
use crate::liveness::Liveness;
use crate::Instant;
use serde::{Deserialize, Serialize};

/// Freshness of the connection's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FreshnessStatus {
    Current,
    Stale,
    Never,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freshness {
    pub status: FreshnessStatus,
    pub last_success_at: Option<Instant>,
    pub age_seconds: Option<i64>,
    pub window_seconds: Option<i64>,
    pub stale_at: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    CoolingOff,
    Degraded,
    NeedsAttention,
    Blocked,
    Idle,
    Unknown,
}

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
    pub last_success_at: Option<Instant>,
    pub next_attempt_at: Option<Instant>,
    pub badges: HealthBadges,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Green,
    Amber,
    Red,
    Grey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pill {
    pub tone: Tone,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Attention,
    Advisory,
    Calm,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotation {
    /// `freshness`, `syncing`, `gaps`, `runtime`, ...
    pub kind: String,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Reauth,
    AddInfo,
    CodeFix,
    ReattachSchedule,
    RefreshNow,
    RetryGap,
    Wait,
    ContinueSetup,
    Reactivate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Owner,
    Maintainer,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Now,
    Soon,
    Verifying,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub fn synthesize(evidence: &Evidence, now: Instant, liveness: &Liveness) -> Projection {
    let _ = (evidence, now, liveness);
    unimplemented!("synthesis lands with the read-time synthesis work")
}
