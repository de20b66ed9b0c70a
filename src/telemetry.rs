//! Structured logs to stderr, filtered by `RUST_LOG` (default: info for this app, warn for
//! libraries). Statement logs from sqlx stay at debug so secrets in parameters never reach
//! the default log.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// What the server logs when `RUST_LOG` is not set (tests capture logs with the same filter).
pub const DEFAULT_FILTER: &str =
    "warn,owner_console=info,console_service=info,console_storage=info";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
}
