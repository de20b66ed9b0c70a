//! The command line: `serve`, `migrate`, `seed-demo`, `rebuild-summaries`, `simulate`.

use crate::config::{DEFAULT_DATABASE_URL, DEFAULT_SWEEPER_INTERVAL_MS};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "owner-console",
    version,
    about = "Owner console for personal-data connectors",
    long_about = "Owner console for personal-data connectors: see at a glance which sources are \
                  fine, which are stale or broken, and what to do next.\n\n\
                  The database is SQLite by default (a file under ./data); a postgres:// URL \
                  selects PostgreSQL. The listen address comes from LEPTOS_SITE_ADDR \
                  (default 127.0.0.1:3000)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// sqlite://path/to/file.db, sqlite::memory:, or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and the /_ref JSON routes (runs migrations first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Fill the database with a realistic demo fleet (connections, months of runs, records).
    SeedDemo(SeedArgs),
    /// Rebuild every connector-summary evidence row from the source tables, and report changes.
    RebuildSummaries(RebuildArgs),
    /// Run only the simulated collection runtime against the database (no HTTP server).
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// A folder of connector manifest files (*.json) to register at start-up.
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Also run the simulated collection runtime, so the demo console stays alive.
    #[arg(long)]
    pub simulate: bool,
    #[command(flatten)]
    pub simulator: SimulatorArgs,
    /// Seed the demo fleet first when the database has no connections.
    #[arg(long)]
    pub demo: bool,
    /// Mark the session cookie Secure (use when serving behind TLS).
    #[arg(long, env = "SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Milliseconds between the background sweeper's folds of dirty read-model rows.
    #[arg(long, env = "SWEEPER_INTERVAL_MS", default_value_t = DEFAULT_SWEEPER_INTERVAL_MS,
          value_parser = clap::value_parser!(u64).range(10..=86_400_000))]
    pub sweeper_interval_ms: u64,
}

/// How the simulated collection runtime behaves.
#[derive(Debug, Args, Clone)]
pub struct SimulatorArgs {
    /// Share (0 to 1) of healthy simulated runs that fail with a rate limit, so the demo
    /// shows retries too; 0 makes every healthy connection's runs succeed.
    #[arg(long, env = "SIMULATE_FAILURE_RATE", default_value_t = 0.05, value_parser = failure_rate)]
    pub simulate_failure_rate: f64,
}

fn failure_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("“{text}” is not a share between 0 and 1")),
    }
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub simulator: SimulatorArgs,
}

impl SimulatorArgs {
    pub fn config(&self) -> console_service::background::SimulatorConfig {
        console_service::background::SimulatorConfig {
            hiccup_rate: self.simulate_failure_rate,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Seed even when connections already exist (adds another fleet).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Connections per transaction.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
}
