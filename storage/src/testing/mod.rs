//! Test and benchmark support, compiled only with the `testing` feature (enabled from the
//! dev-dependencies of the crates that need it, never in the server binary):
//!
//! - [`TestDatabase`]: a throw-away SQLite file or Postgres database, removed when the value
//!   is dropped, even when the test panics;
//! - [`load_fleet`]: a deterministic fleet written straight into the source tables in big
//!   transactions, for benchmarks (the evidence is then built by the production rebuild);
//! - [`set_dirty_marking`]: a process-wide switch that skips dirty marking, so a benchmark
//!   can price the marking against the same ingest without it;
//! - [`refuse_to_fold`]: a fault that makes the fold of one row fail;
//! - [`POSTGRES_UNPAGED_BEGIN`]: how the unpaged list's reader begins on Postgres, for the
//!   query-plan tests to plan its statement as it runs.

mod database;
mod faults;
pub(crate) mod fleet;

pub use database::{admin_url, TestBackend, TestDatabase};
pub use faults::refuse_to_fold;
pub use fleet::{load_fleet, FleetReport, FleetSpec};

/// The statement that begins the Postgres reader's transaction for the unpaged list.
pub const POSTGRES_UNPAGED_BEGIN: &str = crate::list_reader::postgres::UNPAGED;

use std::sync::atomic::{AtomicBool, Ordering};

static DIRTY_MARKING: AtomicBool = AtomicBool::new(true);

/// Turns dirty marking on or off for every store in this process. Off, writes leave the
/// evidence stale: only a benchmark measuring the marking's own cost turns it off, and it
/// rebuilds (or drops) the database afterwards.
pub fn set_dirty_marking(enabled: bool) {
    DIRTY_MARKING.store(enabled, Ordering::SeqCst);
}

pub(crate) fn dirty_marking() -> bool {
    DIRTY_MARKING.load(Ordering::Relaxed)
}
