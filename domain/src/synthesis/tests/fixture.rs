//! A readable way to state evidence: start from a healthy connection and change one thing.

use super::super::{synthesize, Projection};
use crate::evidence::{
    CountState, Evidence, EvidenceMeta, EvidenceState, GapEvidence, RunBrief, StreamEvidence,
};
use crate::liveness::{Liveness, RunLiveness};
use crate::model::{
    AttentionKind, ConnectionStatus, FailureReason, RecommendedMode, RunStatus, Schedule,
};
use crate::Instant;
use chrono::{TimeDelta, TimeZone, Utc};

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// The fixed observation time every test reads at unless it says otherwise.
pub fn now() -> Instant {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

/// `now` shifted by `seconds` (negative is the past).
pub fn at(seconds: i64) -> Instant {
    now() + TimeDelta::seconds(seconds)
}

pub fn idle() -> Liveness {
    Liveness {
        runtime_up: true,
        run: RunLiveness::Idle,
    }
}

pub fn syncing() -> Liveness {
    Liveness {
        runtime_up: true,
        run: RunLiveness::Active {
            run_id: "run-live".to_owned(),
        },
    }
}

pub fn stalled() -> Liveness {
    Liveness {
        runtime_up: true,
        run: RunLiveness::Stalled {
            run_id: "run-live".to_owned(),
            heartbeat_at: at(-10 * MINUTE),
        },
    }
}

pub fn runtime_down(mut liveness: Liveness) -> Liveness {
    liveness.runtime_up = false;
    liveness
}

/// Synthesizes at the fixed `now` with an idle run and a running runtime.
pub fn project(evidence: &Evidence) -> Projection {
    synthesize(evidence, now(), &idle())
}

pub struct Fixture {
    evidence: Evidence,
}

fn run(id: &str, status: RunStatus, finished: Instant) -> RunBrief {
    RunBrief {
        run_id: id.to_owned(),
        status,
        started_at: finished - TimeDelta::seconds(30),
        finished_at: Some(finished),
        failure_reason: None,
        records_written: 10,
        gap_count: 0,
    }
}

impl Fixture {
    /// Active, scheduled hourly with no jitter (so a 2-hour window from the schedule), last
    /// run succeeded 10 minutes ago, next run due in 50 minutes.
    pub fn healthy() -> Self {
        let success = run("run-ok", RunStatus::Succeeded, at(-10 * MINUTE));
        Fixture {
            evidence: Evidence {
                connection_id: "conn-1".to_owned(),
                connector_id: "spotify".to_owned(),
                connector_display_name: "Spotify".to_owned(),
                display_name: None,
                status: ConnectionStatus::Active,
                source_kind: "api".to_owned(),
                recommended_mode: RecommendedMode::Scheduled,
                created_at: at(-30 * DAY),
                updated_at: at(-30 * DAY),
                revoked_at: None,
                streams: vec![StreamEvidence {
                    name: "plays".to_owned(),
                    required: true,
                    record_count: 10,
                    count_state: CountState::Known,
                    last_updated_at: Some(at(-10 * MINUTE)),
                }],
                total_records: 10,
                total_records_state: CountState::Known,
                last_run: Some(success.clone()),
                last_successful_run: Some(success),
                consecutive_failures: 0,
                consecutive_connector_errors: 0,
                open_attention: Vec::new(),
                unrecovered_gaps: Vec::new(),
                schedule: Some(Schedule {
                    enabled: true,
                    interval_seconds: HOUR,
                    jitter_seconds: 0,
                    next_due_at: Some(at(50 * MINUTE)),
                }),
                maximum_staleness_override: None,
                manifest_staleness_seconds: None,
                window_seconds: None,
                window_source: None,
                stale_at: None,
                meta: EvidenceMeta {
                    state: EvidenceState::Current,
                    computed_at: Some(at(-10 * MINUTE)),
                    write_seq: 4,
                    folded_seq: 4,
                    error: None,
                },
            },
        }
    }

    /// A manual connector with no schedule and no window, refreshed by hand 10 minutes ago.
    pub fn manual() -> Self {
        Fixture::healthy()
            .mode(RecommendedMode::Manual)
            .no_schedule()
    }

    pub fn status(mut self, status: ConnectionStatus) -> Self {
        self.evidence.status = status;
        self
    }

    pub fn mode(mut self, mode: RecommendedMode) -> Self {
        self.evidence.recommended_mode = mode;
        self
    }

    /// The last run, and the last success, finished `seconds` before `now`.
    pub fn succeeded_ago(mut self, seconds: i64) -> Self {
        let success = run("run-ok", RunStatus::Succeeded, at(-seconds));
        self.evidence.last_run = Some(success.clone());
        self.evidence.last_successful_run = Some(success);
        self
    }

    pub fn never_succeeded(mut self) -> Self {
        self.evidence.last_run = None;
        self.evidence.last_successful_run = None;
        self
    }

    /// A later run, 5 minutes ago, ended with `status` (the last success stays as it was).
    pub fn last_run(mut self, status: RunStatus, reason: Option<FailureReason>) -> Self {
        let mut last = run("run-last", status, at(-5 * MINUTE));
        last.failure_reason = reason;
        if status == RunStatus::Failed {
            self.evidence.consecutive_failures += 1;
        }
        self.evidence.last_run = Some(last);
        self
    }

    pub fn failed(self, reason: FailureReason) -> Self {
        self.last_run(RunStatus::Failed, Some(reason))
    }

    pub fn failures(mut self, consecutive: i64, connector_errors: i64) -> Self {
        self.evidence.consecutive_failures = consecutive;
        self.evidence.consecutive_connector_errors = connector_errors;
        self
    }

    pub fn attention(mut self, kind: AttentionKind) -> Self {
        self.evidence.open_attention.push(kind);
        self
    }

    pub fn gap(mut self, stream: &str, required: bool, retryable: bool) -> Self {
        self.evidence.unrecovered_gaps.push(GapEvidence {
            run_id: "run-ok".to_owned(),
            stream: stream.to_owned(),
            reason: "page timed out".to_owned(),
            retryable,
            required,
        });
        self
    }

    pub fn schedule(mut self, enabled: bool, interval: i64, next_due_in: Option<i64>) -> Self {
        self.evidence.schedule = Some(Schedule {
            enabled,
            interval_seconds: interval,
            jitter_seconds: 0,
            next_due_at: next_due_in.map(at),
        });
        self
    }

    pub fn no_schedule(mut self) -> Self {
        self.evidence.schedule = None;
        self
    }

    pub fn staleness_override(mut self, seconds: Option<i64>) -> Self {
        self.evidence.maximum_staleness_override = seconds;
        self
    }

    pub fn manifest_staleness(mut self, seconds: Option<i64>) -> Self {
        self.evidence.manifest_staleness_seconds = seconds;
        self
    }

    pub fn evidence_state(mut self, state: EvidenceState, error: Option<&str>) -> Self {
        self.evidence.meta.state = state;
        self.evidence.meta.error = error.map(str::to_owned);
        self
    }

    /// Resolves the window and `stale_at` the way storage does, so tests state inputs only.
    pub fn build(mut self) -> Evidence {
        let e = &mut self.evidence;
        let window = Evidence::effective_window(
            e.maximum_staleness_override,
            e.manifest_staleness_seconds,
            e.schedule.as_ref(),
        );
        e.window_seconds = window.map(|(seconds, _)| seconds);
        e.window_source = window.map(|(_, source)| source);
        e.stale_at = Evidence::compute_stale_at(e.last_successful_run.as_ref(), e.window_seconds);
        self.evidence
    }
}
