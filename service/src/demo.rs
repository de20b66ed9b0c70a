//! The demo: built-in connector manifests and a realistic fleet with months of history, so a
//! new owner sees every situation the console handles (healthy, stale, failing, needs
//! reauth, paused, manual, never run, revoked, blocked, setup in progress).
//!
//! History is written through the same storage writes the live system uses, with past
//! instants, so the read model is maintained exactly as in production.

use crate::error::ServiceResult;
use crate::Console;
use chrono::Duration;
use console_domain::model::{
    AttentionKind, ConnectionStatus, ConnectorManifest, FailureReason, Gap, LifecycleAction,
    RunStatus,
};
use console_domain::Instant;
use console_storage::{
    ConnectionChange, NewConnection, NewRunEvent, RecordInput, RunOutcome, RunTrigger,
    ScheduleInput,
};
use std::fmt;

const BUILTIN: &[&str] = &[
    include_str!("../../manifests/bank-csv.json"),
    include_str!("../../manifests/browser-history.json"),
    include_str!("../../manifests/github.json"),
    include_str!("../../manifests/gmail.json"),
    include_str!("../../manifests/google-calendar.json"),
    include_str!("../../manifests/photos-import.json"),
    include_str!("../../manifests/spotify.json"),
    include_str!("../../manifests/strava.json"),
];

/// The demo connector manifests shipped with the console.
pub fn builtin_manifests() -> Vec<ConnectorManifest> {
    BUILTIN
        .iter()
        .map(|text| crate::manifests::parse(text).expect("built-in manifests are valid"))
        .collect()
}

/// How one demo connection's history unfolds.
#[derive(Clone, Copy)]
enum Story {
    /// Runs every `every` hours and succeeds (rarely with a hiccup).
    Healthy,
    /// Credentials were revoked at the source three days ago.
    NeedsReauth,
    /// The owner last imported a file `days_ago` days ago.
    ManualImport { days_ago: i64 },
    /// The source is down: the last few runs failed and the schedule retries.
    SourceDown,
    /// The owner paused it a week ago.
    Paused,
    /// Runs stopped five days ago (the laptop collector went quiet).
    WentQuiet,
    /// Created yesterday, never run.
    NeverRun,
    /// Owner revoked access a month ago.
    Revoked,
    /// The connector broke after an API change: many connector_error failures in a row.
    Broken,
    /// Last run succeeded with a retryable gap on a required stream.
    Gappy,
    /// The owner started setting it up and stopped.
    Draft,
}

struct Plan {
    connector: &'static str,
    label: Option<&'static str>,
    story: Story,
    every_hours: i64,
}

const FLEET: &[Plan] = &[
    Plan {
        connector: "spotify",
        label: Some("Personal Spotify"),
        story: Story::Healthy,
        every_hours: 6,
    },
    Plan {
        connector: "gmail",
        label: Some("Work mail"),
        story: Story::NeedsReauth,
        every_hours: 4,
    },
    Plan {
        connector: "bank-csv",
        label: Some("Checking account"),
        story: Story::ManualImport { days_ago: 45 },
        every_hours: 0,
    },
    Plan {
        connector: "browser-history",
        label: Some("Laptop browser"),
        story: Story::Healthy,
        every_hours: 2,
    },
    Plan {
        connector: "github",
        label: Some("Open source"),
        story: Story::SourceDown,
        every_hours: 6,
    },
    Plan {
        connector: "strava",
        label: None,
        story: Story::Paused,
        every_hours: 12,
    },
    Plan {
        connector: "google-calendar",
        label: Some("Family calendar"),
        story: Story::WentQuiet,
        every_hours: 12,
    },
    Plan {
        connector: "photos-import",
        label: Some("Phone photos"),
        story: Story::NeverRun,
        every_hours: 0,
    },
    Plan {
        connector: "spotify",
        label: Some("Old family account"),
        story: Story::Revoked,
        every_hours: 24,
    },
    Plan {
        connector: "gmail",
        label: Some("Personal mail"),
        story: Story::Gappy,
        every_hours: 6,
    },
    Plan {
        connector: "github",
        label: Some("Work GitHub"),
        story: Story::Broken,
        every_hours: 3,
    },
    Plan {
        connector: "browser-history",
        label: Some("Phone browser"),
        story: Story::Draft,
        every_hours: 0,
    },
    Plan {
        connector: "bank-csv",
        label: Some("Savings account"),
        story: Story::ManualImport { days_ago: 3 },
        every_hours: 0,
    },
    Plan {
        connector: "strava",
        label: Some("Rides"),
        story: Story::Healthy,
        every_hours: 24,
    },
];

/// What the seed wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedReport {
    pub connections: u64,
    pub runs: u64,
    pub records: u64,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections, {} runs, {} records",
            self.connections, self.runs, self.records
        )
    }
}

/// History starts this long ago.
const HISTORY_DAYS: i64 = 120;
/// Records a run writes per stream (the demo needs thousands, not millions).
const RECORDS_PER_STREAM: usize = 4;

pub async fn seed(console: &Console) -> ServiceResult<SeedReport> {
    let now = console.now();
    let store = console.store.as_ref();
    let mut report = SeedReport::default();
    for (index, plan) in FLEET.iter().enumerate() {
        let manifest = store.get_connector(plan.connector).await?.ok_or_else(|| {
            crate::ServiceError::Internal(format!("demo connector {} missing", plan.connector))
        })?;
        let created_at = match plan.story {
            Story::NeverRun | Story::Draft => now - Duration::days(1),
            _ => now - Duration::days(HISTORY_DAYS) + Duration::minutes(index as i64 * 7),
        };
        let connection = store
            .create_connection(
                &NewConnection {
                    connector_id: plan.connector.to_owned(),
                    display_name: plan.label.map(str::to_owned),
                    status: if matches!(plan.story, Story::Draft) {
                        ConnectionStatus::Draft
                    } else {
                        ConnectionStatus::Active
                    },
                    maximum_staleness_seconds: None,
                },
                created_at,
            )
            .await?;
        report.connections += 1;
        let id = connection.connection_id.as_str();
        if plan.every_hours > 0 {
            store
                .put_schedule(
                    id,
                    &ScheduleInput {
                        interval_seconds: plan.every_hours * 3600,
                        jitter_seconds: 300,
                        enabled: true,
                    },
                    created_at,
                )
                .await?;
        }

        // History is spaced at least a day apart: months of it, without tens of
        // thousands of runs slowing the first start.
        let history_spacing = Duration::hours(plan.every_hours.max(24));
        let (history_end, spacing) = match plan.story {
            Story::ManualImport { days_ago } => {
                (now - Duration::days(days_ago), Duration::days(30))
            }
            Story::WentQuiet => (now - Duration::days(5), history_spacing),
            Story::Paused => (now - Duration::days(7), history_spacing),
            Story::Revoked => (now - Duration::days(30), history_spacing),
            Story::NeverRun | Story::Draft => (created_at, Duration::zero()),
            _ => (now - Duration::minutes(40), history_spacing),
        };
        let mut runs: Vec<Instant> = Vec::new();
        if spacing > Duration::zero() {
            let mut at = history_end;
            while at > created_at + Duration::hours(1) {
                runs.push(at);
                at -= spacing;
            }
            runs.reverse();
        }
        let total = runs.len();
        for (n, started_at) in runs.into_iter().enumerate() {
            let from_end = total - n; // 1 = the latest run
            let outcome = outcome_for(plan.story, from_end, n);
            let run = store
                .start_run(id, RunTrigger::Schedule, started_at)
                .await?;
            let finished_at = started_at + Duration::seconds(40 + (n as i64 % 7) * 11);
            let mut written = 0i64;
            if outcome.0.is_success() {
                let records = demo_records(&manifest, n, started_at);
                written = records.len() as i64;
                let counts = store.ingest_records(id, &records, finished_at).await?;
                report.records += counts.inserted;
            }
            if outcome.0 == RunStatus::Failed {
                store
                    .append_run_events(
                        &run.run_id,
                        &failure_timeline(&manifest, outcome.1.as_ref()),
                        finished_at,
                    )
                    .await?;
            }
            store
                .finish_run(
                    &run.run_id,
                    &RunOutcome {
                        status: outcome.0,
                        failure_reason: outcome.1,
                        records_written: written,
                        gaps: outcome.2,
                    },
                    finished_at,
                )
                .await?;
            report.runs += 1;
        }

        match plan.story {
            Story::NeedsReauth => {
                store
                    .open_attention(
                        id,
                        AttentionKind::Reauth,
                        Some("Google rejected the saved credentials. Sign in again to resume collection."),
                        now - Duration::days(3),
                    )
                    .await?;
            }
            Story::Paused => {
                lifecycle(
                    console,
                    id,
                    ConnectionStatus::Active,
                    LifecycleAction::Pause,
                    now - Duration::days(7),
                )
                .await?;
            }
            Story::Revoked => {
                lifecycle(
                    console,
                    id,
                    ConnectionStatus::Active,
                    LifecycleAction::Revoke,
                    now - Duration::days(30),
                )
                .await?;
            }
            _ => {}
        }
    }
    // Settle the read model as the sweeper would, so the demo opens with clean evidence.
    while console
        .store
        .fold_dirty(1000, console.now())
        .await
        .into_result()?
        .folded
        > 0
    {}
    Ok(report)
}

async fn lifecycle(
    console: &Console,
    id: &str,
    from: ConnectionStatus,
    action: LifecycleAction,
    at: Instant,
) -> ServiceResult<()> {
    let to = from
        .apply(action)
        .ok_or_else(|| crate::ServiceError::Internal("demo lifecycle".into()))?;
    console
        .store
        .update_connection(id, &ConnectionChange::Status { from, to }, at)
        .await?;
    Ok(())
}

/// (status, failure reason, gaps) of the run `from_end` runs before the latest.
fn outcome_for(
    story: Story,
    from_end: usize,
    n: usize,
) -> (RunStatus, Option<FailureReason>, Vec<Gap>) {
    let ok = (RunStatus::Succeeded, None, Vec::new());
    let fail = |reason: FailureReason| (RunStatus::Failed, Some(reason), Vec::new());
    match story {
        Story::NeedsReauth if from_end <= 3 => fail(FailureReason::CredentialRejected),
        Story::SourceDown if from_end <= 2 => fail(FailureReason::SourceUnavailable),
        Story::Broken if from_end <= 8 => fail(FailureReason::ConnectorError),
        Story::Gappy if from_end == 1 => (
            RunStatus::SucceededWithGaps,
            None,
            vec![Gap {
                stream: "messages".into(),
                reason: "Mailbox paging stopped at 2,000 messages (provider limit)".into(),
                retryable: true,
            }],
        ),
        // An occasional rate-limit hiccup in otherwise healthy history.
        _ if n % 23 == 11 => fail(FailureReason::RateLimited),
        _ => ok,
    }
}

fn failure_timeline(
    manifest: &ConnectorManifest,
    reason: Option<&FailureReason>,
) -> Vec<NewRunEvent> {
    let first = manifest.streams.first().map(|s| s.name.clone());
    let (kind, message) = match reason {
        Some(FailureReason::CredentialRejected) => (
            "auth_failed",
            "The source answered 401: the saved token was revoked.",
        ),
        Some(FailureReason::SourceUnavailable) => (
            "source_error",
            "The source answered 503 three times; giving up until the next attempt.",
        ),
        Some(FailureReason::ConnectorError) => (
            "connector_error",
            "Unexpected response shape: field `items` missing (the source changed its API).",
        ),
        Some(FailureReason::RateLimited) => (
            "rate_limited",
            "The source answered 429; backing off until the next attempt.",
        ),
        _ => ("error", "The run failed."),
    };
    vec![
        NewRunEvent {
            kind: "started".into(),
            message: "Run started.".into(),
            stream: None,
        },
        NewRunEvent {
            kind: "stream_started".into(),
            message: "Collecting.".into(),
            stream: first.clone(),
        },
        NewRunEvent {
            kind: kind.into(),
            message: message.into(),
            stream: first,
        },
        NewRunEvent {
            kind: "finished".into(),
            message: "Run failed.".into(),
            stream: None,
        },
    ]
}

/// A few plausible records per stream; keys repeat across runs so re-collection updates.
fn demo_records(manifest: &ConnectorManifest, n: usize, at: Instant) -> Vec<RecordInput> {
    manifest
        .streams
        .iter()
        .flat_map(|stream| {
            (0..RECORDS_PER_STREAM).map(move |i| RecordInput {
                stream: stream.name.clone(),
                record_key: format!("{}-{}", n, i),
                data: serde_json::json!({
                    "title": format!("{} item {} of run {}", stream.name, i + 1, n + 1),
                    "seen_at": at.to_rfc3339(),
                    "size": (n * 31 + i * 7) % 997,
                }),
                emitted_at: Some(at),
            })
        })
        .collect()
}
