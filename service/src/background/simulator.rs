//! A simulated collection runtime: it reports itself alive, starts scheduled runs when they
//! are due, heartbeats them, then finishes them (ingesting a few records) so the demo
//! console changes while the owner watches. Connections that need the owner or a connector
//! fix keep failing the way they would for real, instead of healing by magic.

use crate::Console;
use console_domain::model::{FailureReason, RunStatus};
use console_domain::synthesis::HealthState;
use console_storage::{RecordInput, RunTrigger};
use rand::Rng;
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    pub label: String,
    pub tick: Duration,
    /// How long a simulated run takes.
    pub run_length: chrono::Duration,
    /// Share of healthy runs that hit a rate limit.
    pub hiccup_rate: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            label: "embedded simulator".into(),
            tick: Duration::from_secs(1),
            run_length: chrono::Duration::seconds(4),
            hiccup_rate: 0.05,
        }
    }
}

pub fn spawn_simulator(console: Console, config: SimulatorConfig) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(config.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = tick(&console, &config).await {
                tracing::warn!(error = %e, "simulated runtime tick failed");
            }
        }
    })
}

/// One step of the runtime. Public so tests can drive it with their own clock.
pub async fn tick(console: &Console, config: &SimulatorConfig) -> crate::ServiceResult<()> {
    let now = console.now();
    console.store.runtime_heartbeat(&config.label, now).await?;
    for connection_id in console.store.due_connections(now, 20).await? {
        // A conflict means a run is already open: nothing to do.
        let _ = console
            .store
            .start_run(&connection_id, RunTrigger::Schedule, now)
            .await;
    }
    for run in console.store.all_open_runs(100).await? {
        if now - run.started_at < config.run_length {
            console.store.heartbeat_run(&run.run_id, now).await?;
            continue;
        }
        finish(console, config, &run.connection_id, &run.run_id).await?;
    }
    Ok(())
}

async fn finish(
    console: &Console,
    config: &SimulatorConfig,
    connection_id: &str,
    run_id: &str,
) -> crate::ServiceResult<()> {
    let now = console.now();
    let health = console
        .summary(connection_id)
        .await?
        .connection_health
        .state;
    let failure = match health {
        HealthState::NeedsAttention => Some(FailureReason::CredentialRejected),
        HealthState::Blocked => Some(FailureReason::ConnectorError),
        _ if rand::thread_rng().gen_bool(config.hiccup_rate) => Some(FailureReason::RateLimited),
        _ => None,
    };
    let mut written = 0;
    if failure.is_none() {
        let connection = console.store.get_connection(connection_id).await?;
        let manifest = match connection {
            Some(c) => console.store.get_connector(&c.connector_id).await?,
            None => None,
        };
        if let Some(manifest) = manifest {
            let stamp = now.timestamp_millis();
            let records: Vec<RecordInput> = manifest
                .streams
                .iter()
                .map(|stream| RecordInput {
                    stream: stream.name.clone(),
                    record_key: format!("sim-{stamp}"),
                    data: serde_json::json!({ "collected_at": now.to_rfc3339() }),
                    emitted_at: Some(now),
                })
                .collect();
            written = records.len() as i64;
            console
                .store
                .ingest_records(connection_id, &records, now)
                .await?;
        }
    }
    let outcome = console_storage::RunOutcome {
        status: if failure.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        },
        failure_reason: failure,
        records_written: written,
        gaps: Vec::new(),
    };
    console.store.finish_run(run_id, &outcome, now).await?;
    Ok(())
}
