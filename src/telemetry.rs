//! Structured logs to stderr, filtered by `RUST_LOG` (default: info for this app, warn for
//! libraries). Statement logs from sqlx stay at debug so secrets in parameters never reach
//! the default log.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("warn,owner_console=info,console_service=info,console_storage=info")
    });
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
}
