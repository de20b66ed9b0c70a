//! `owner-console`: see `owner-console --help`.

use clap::Parser;
use console_service::{ConsoleSettings, SystemClock};
use owner_console::cli::{Cli, Command};
use owner_console::config::ServeConfig;
use owner_console::startup::{leptos_options, open_console, Application};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    owner_console::telemetry::init();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(SystemClock);
    match command {
        Command::Serve(args) => {
            let mut config = ServeConfig::new(args.db.database_url);
            config.manifests_dir = args.manifests;
            config.simulate = args.simulate.then(|| args.simulator.config());
            config.secure_cookies = args.secure_cookies;
            config.sweeper.interval = std::time::Duration::from_millis(args.sweeper_interval_ms);
            config.owner_password = env_secret("OWNER_PASSWORD");
            config.owner_token = env_secret("OWNER_TOKEN");
            let leptos = leptos_options()?;
            if args.demo {
                let opened =
                    open_console(&config, clock.clone(), ConsoleSettings::default()).await?;
                if opened.console.store.count_connections().await? == 0 {
                    let report = console_service::demo::seed(&opened.console).await?;
                    println!("Seeded the demo fleet: {report}");
                }
            }
            let listener = tokio::net::TcpListener::bind(leptos.site_addr).await?;
            let (app, generated) = Application::build(config, clock, listener, leptos).await?;
            let addr = app.local_addr()?;
            println!("Owner console: http://{addr}/");
            if let Some(password) = generated.password {
                println!("Owner password (generated, shown once; set OWNER_PASSWORD to choose one): {password}");
            }
            if let Some(token) = generated.token {
                println!("Owner API token (generated, shown once; set OWNER_TOKEN to choose one): {token}");
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate(db) => {
            console_storage::migrate(&db.database_url).await?;
            println!("Migrations applied.");
        }
        Command::SeedDemo(args) => {
            let config = ServeConfig::new(args.db.database_url);
            let opened = open_console(&config, clock, ConsoleSettings::default()).await?;
            if !args.force && opened.console.store.count_connections().await? > 0 {
                println!("The database already has connections; nothing seeded (use --force to add a fleet).");
                return Ok(());
            }
            let report = console_service::demo::seed(&opened.console).await?;
            println!("Seeded the demo fleet: {report}");
        }
        Command::RebuildSummaries(args) => {
            let config = ServeConfig::new(args.db.database_url);
            let opened = open_console(&config, clock, ConsoleSettings::default()).await?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} rebuilding [{bar:40}] {pos}/{len} connections ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let report = opened
                .console
                .rebuild_read_model(args.batch_size, &progress)
                .await?;
            bar.finish_and_clear();
            println!(
                "Rebuilt {} connections in {} batches: {} created, {} changed, {} unchanged, {} orphan rows removed.",
                report.examined, report.batches, report.created, report.changed, report.unchanged, report.removed
            );
        }
        Command::Simulate(args) => {
            let config = ServeConfig::new(args.db.database_url);
            let settings = ConsoleSettings {
                embedded_runtime: true,
                ..ConsoleSettings::default()
            };
            let opened = open_console(&config, clock, settings).await?;
            println!("Simulated collection runtime running; Ctrl-C to stop.");
            let task = console_service::background::spawn_simulator(
                opened.console,
                args.simulator.config(),
            );
            tokio::signal::ctrl_c().await?;
            task.abort();
        }
    }
    Ok(())
}
