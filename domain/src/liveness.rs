//! Runtime liveness: read at request time, never stored as evidence.

use crate::model::RunStatus;
use crate::Instant;
use serde::{Deserialize, Serialize};

/// How long a heartbeat keeps a run (or the collection runtime) alive.
pub const DEFAULT_LEASE_SECONDS: i64 = 120;

/// Whether the collection runtime is up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeLiveness {
    pub up: bool,
    pub label: String,
    #[serde(default, with = "crate::instant_json::option")]
    pub last_heartbeat_at: Option<Instant>,
}

impl RuntimeLiveness {
    /// Up when the last heartbeat is within the lease.
    pub fn from_heartbeat(
        label: &str,
        last_heartbeat_at: Option<Instant>,
        now: Instant,
        lease_seconds: i64,
    ) -> Self {
        let up = last_heartbeat_at.is_some_and(|at| now - at <= lease(lease_seconds));
        RuntimeLiveness {
            up,
            label: label.to_owned(),
            last_heartbeat_at,
        }
    }
}

fn lease(seconds: i64) -> chrono::Duration {
    chrono::Duration::seconds(seconds)
}

/// A run that is queued or running right now, as read from storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRun {
    pub connection_id: String,
    pub run_id: String,
    pub status: RunStatus,
    #[serde(with = "crate::instant_json")]
    pub started_at: Instant,
    #[serde(default, with = "crate::instant_json::option")]
    pub heartbeat_at: Option<Instant>,
}

/// Per-connection run liveness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunLiveness {
    /// No run is queued or running.
    Idle,
    /// A run is queued or its heartbeat is within the lease.
    Active { run_id: String },
    /// A run is `running` but its last heartbeat is older than the lease.
    Stalled {
        run_id: String,
        heartbeat_at: chrono::DateTime<chrono::Utc>,
    },
}

impl RunLiveness {
    /// Classifies an open run at `now`. A run with no heartbeat yet counts from its start.
    pub fn classify(run: Option<&OpenRun>, now: Instant, lease_seconds: i64) -> Self {
        let Some(run) = run else {
            return RunLiveness::Idle;
        };
        match run.status {
            RunStatus::Queued => RunLiveness::Active {
                run_id: run.run_id.clone(),
            },
            RunStatus::Running => {
                let beat = run.heartbeat_at.unwrap_or(run.started_at);
                if now - beat <= lease(lease_seconds) {
                    RunLiveness::Active {
                        run_id: run.run_id.clone(),
                    }
                } else {
                    RunLiveness::Stalled {
                        run_id: run.run_id.clone(),
                        heartbeat_at: beat,
                    }
                }
            }
            _ => RunLiveness::Idle,
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self, RunLiveness::Active { .. })
    }
}

/// Everything synthesis needs to know about liveness for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    pub runtime_up: bool,
    pub run: RunLiveness,
}
