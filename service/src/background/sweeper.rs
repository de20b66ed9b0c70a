//! Folds dirty evidence in bounded batches, oldest-dirty first, so rows nobody reads still
//! converge and reads rarely find dirty rows to fold.

use crate::Console;
use console_domain::Instant;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What the sweeper did last, for `/_ref/connector-summary/status`.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct SweeperStatus {
    pub running: bool,
    pub interval_seconds: u64,
    pub batch: u32,
    pub last_sweep_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_folded: u64,
    pub total_folded: u64,
    pub last_error: Option<String>,
}

/// Shared between the sweeper task and the status route.
#[derive(Debug, Default)]
pub struct SweeperMonitor(Mutex<SweeperStatus>);

impl SweeperMonitor {
    pub fn snapshot(&self) -> SweeperStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut SweeperStatus)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// Most batches one tick may fold before yielding to the next tick.
const MAX_BATCHES_PER_TICK: u32 = 20;

pub fn spawn_sweeper(console: Console, interval: Duration, batch: u32) -> JoinHandle<()> {
    console.sweeper.update(|s| {
        s.running = true;
        s.interval_seconds = interval.as_secs();
        s.batch = batch;
    });
    tokio::spawn(async move {
        // The first fold comes one interval after start-up, not at once: a restarted server
        // answers its first reads without a sweep holding the rows they fold (reads fold
        // lazily anyway), and several servers started together do not all sweep at once.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            sweep_once(&console, batch).await;
        }
    })
}

/// One sweeper tick: folds up to [`MAX_BATCHES_PER_TICK`] batches' worth of the oldest
/// dirty rows (the store splits them into folds and runs them side by side where its
/// backend can).
pub async fn sweep_once(console: &Console, batch: u32) -> u64 {
    let budget = batch.saturating_mul(MAX_BATCHES_PER_TICK);
    let sweep = console.store.fold_dirty(budget, console.now()).await;
    // The folds that committed before a failure count: their rows are clean.
    let folded = sweep.done.folded;
    let error = sweep.stopped_by.map(|e| {
        tracing::warn!(error = %e, folded, "sweeper fold failed; retrying next tick");
        e.to_string()
    });
    let at: Instant = console.now();
    console.sweeper.update(|s| {
        s.last_sweep_at = Some(at);
        s.last_folded = folded;
        s.total_folded += folded;
        s.last_error = error;
    });
    folded
}
