//! Folds dirty evidence in bounded batches, oldest-dirty first, so rows nobody reads still
//! converge and reads rarely find dirty rows to fold.

use crate::Console;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Most batches one tick may fold before yielding to the next tick.
const MAX_BATCHES_PER_TICK: u32 = 20;

pub fn spawn_sweeper(console: Console, interval: Duration, batch: u32) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            sweep_once(&console, batch).await;
        }
    })
}

/// One sweeper tick: fold until a batch comes back short or the tick's budget is spent.
pub async fn sweep_once(console: &Console, batch: u32) -> u64 {
    let mut folded = 0;
    for _ in 0..MAX_BATCHES_PER_TICK {
        match console.store.fold_dirty(batch, console.now()).await {
            Ok(report) => {
                folded += report.folded;
                if report.folded + report.failed + report.raced < u64::from(batch) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweeper fold failed; retrying next tick");
                break;
            }
        }
    }
    folded
}
