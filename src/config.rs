//! Server configuration: command-line flags over environment variables over defaults.

use console_service::background::SimulatorConfig;
use std::path::PathBuf;
use std::time::Duration;

/// The default database: an embedded SQLite file under `./data`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/console.db";

/// How often the background sweeper folds dirty read-model rows, by default.
pub const DEFAULT_SWEEPER_INTERVAL_MS: u64 = 5_000;

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub database_url: String,
    /// Extra connector manifests (`*.json`) registered at start-up, after the built-in ones.
    pub manifests_dir: Option<PathBuf>,
    pub owner_password: Option<String>,
    pub owner_token: Option<String>,
    /// Run the embedded collection runtime (simulated collectors) in this process.
    pub simulate: Option<SimulatorConfig>,
    pub sweeper: SweeperConfig,
    /// Mark the session cookie `Secure` (set when served over TLS).
    pub secure_cookies: bool,
    /// Idle session lifetime.
    pub session_idle: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct SweeperConfig {
    pub interval: Duration,
    pub batch: u32,
}

impl Default for SweeperConfig {
    fn default() -> Self {
        SweeperConfig {
            interval: Duration::from_millis(DEFAULT_SWEEPER_INTERVAL_MS),
            batch: 500,
        }
    }
}

impl ServeConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        ServeConfig {
            database_url: database_url.into(),
            manifests_dir: None,
            owner_password: None,
            owner_token: None,
            simulate: None,
            sweeper: SweeperConfig::default(),
            secure_cookies: false,
            session_idle: Duration::from_secs(7 * 24 * 3600),
        }
    }
}
