//! The owner's console as a service: the one per-connection projector every surface reads
//! through, the owner's commands (validated writes), owner authentication, and the background
//! work (sweeper, collection runtime, demo fleet).
//!
//! The edges (`src/http` JSON routes, `app/` server functions, the CLI) call [`Console`] and
//! nothing below it.

pub mod auth;
pub mod background;
pub mod commands;
pub mod cursor;
pub mod demo;
pub mod detail;
pub mod error;
pub mod manifests;
pub mod projector;
mod retry;

/// Rows the edges render, re-exported so they depend on the service alone.
pub use console_storage::{AttentionRow, RunEvent, RunRow, RunTrigger};
pub use error::{ServiceError, ServiceResult};

use console_domain::clock::Clock;
use console_storage::Store;
use std::sync::Arc;

/// Tunables with sensible defaults; overridable from the environment by the server.
#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    /// How long a run or runtime heartbeat stays valid.
    pub lease_seconds: i64,
    /// Default and maximum page sizes of the connection list.
    pub default_page: u32,
    pub max_page: u32,
    /// Largest accepted record batch (records) and body (bytes).
    pub max_batch_records: usize,
    pub max_body_bytes: usize,
    /// True when this process runs the embedded collection runtime.
    pub embedded_runtime: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            lease_seconds: console_domain::liveness::DEFAULT_LEASE_SECONDS,
            default_page: 100,
            max_page: 500,
            max_batch_records: 10_000,
            max_body_bytes: 8 * 1024 * 1024,
            embedded_runtime: false,
        }
    }
}

/// The handle every edge holds. Cheap to clone.
#[derive(Clone)]
pub struct Console {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<ConsoleSettings>,
    /// Key for signing list cursors (tamper-evident, opaque).
    cursor_key: Arc<[u8]>,
    /// What the read-model sweeper last did.
    pub sweeper: Arc<background::SweeperMonitor>,
}

impl Console {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: ConsoleSettings,
        cursor_key: Vec<u8>,
    ) -> Self {
        Console {
            store,
            clock,
            settings: Arc::new(settings),
            cursor_key: cursor_key.into(),
            sweeper: Arc::default(),
        }
    }

    pub fn now(&self) -> console_domain::Instant {
        self.clock.now()
    }
}

/// Wall-clock time for production.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> console_domain::Instant {
        chrono::Utc::now()
    }
}
