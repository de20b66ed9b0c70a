//! Spawning the application for a test, on either backend.

use chrono::TimeZone;
use console_domain::clock::ManualClock;
use console_service::Console;
use console_storage::testing::{TestBackend, TestDatabase};
use owner_console::config::ServeConfig;
use owner_console::startup::{leptos_options, Application};
use serde_json::Value;
use sqlx::Connection;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery staple";
pub const TOKEN: &str = "oc_test_token_0123456789";

pub struct TestApp {
    pub backend: Backend,
    pub database_url: String,
    pub base: String,
    /// A client without credentials.
    pub anon: reqwest::Client,
    pub clock: ManualClock,
    pub console: Console,
    /// Stops the server (sent by [`TestApp::finish`]; dropped with the app otherwise).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The test's own database: removed by [`TestApp::finish`], or when the app is dropped
    /// (also while a failing test unwinds), so no test database outlives its test.
    db: TestDatabase,
}

/// 2026-03-01T12:00:00Z: a fixed start so tests read the same on any day.
pub fn start_instant() -> console_domain::Instant {
    chrono::Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with the test's own adjustments to the server configuration.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let db = TestDatabase::create(match backend {
        Backend::Sqlite => TestBackend::Sqlite,
        Backend::Postgres => TestBackend::Postgres,
    })
    .await;
    let url = db.url().to_owned();
    let mut config = ServeConfig::new(url.clone());
    // Tests fold on read or call the sweeper themselves; a timer would race their assertions.
    config.sweeper.interval = std::time::Duration::from_secs(3600);
    config.owner_password = Some(PASSWORD.to_owned());
    config.owner_token = Some(TOKEN.to_owned());
    configure(&mut config);
    let clock = ManualClock::new(start_instant());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (app, _) = Application::build(
        config,
        Arc::new(clock.clone()),
        listener,
        leptos_options().unwrap(),
    )
    .await
    .expect("application builds");
    let base = format!("http://{}", app.local_addr().unwrap());
    let console = app.console.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        backend,
        database_url: url,
        base,
        anon: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        console,
        stop: Some(stop),
        db,
    }
}

impl TestApp {
    pub fn clock_now(&self) -> console_domain::Instant {
        use console_domain::clock::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in through the form and returns the session cookie (`name=value`).
    pub async fn session_cookie(&self) -> String {
        let response = self
            .anon
            .post(self.url("/login"))
            .form(&[("password", PASSWORD), ("return_to", "/")])
            .send()
            .await
            .unwrap();
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Status of a request carrying only the given cookie.
    pub async fn status_with_cookie(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
    ) -> u16 {
        self.anon
            .request(method, self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A request with the owner's bearer token.
    pub fn owner(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.anon.request(method, self.url(path)).bearer_auth(TOKEN)
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.owner(reqwest::Method::GET, path).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let response = self.owner(method, path).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a connection of a built-in connector and returns its id.
    pub async fn create_connection(&self, connector_id: &str, label: Option<&str>) -> String {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/_ref/connections",
                serde_json::json!({"connector_id": connector_id, "display_name": label}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["connection_id"].as_str().unwrap().to_owned()
    }

    /// A snapshot of everything a write could change, for "nothing changed" assertions.
    pub async fn snapshot(&self) -> Value {
        let (_, list) = self.get_json("/_ref/connectors").await;
        let mut data = list["data"].clone();
        // Maintenance timestamps move when a read folds; they are not owner-visible state.
        if let Some(items) = data.as_array_mut() {
            for item in items {
                item["evidence"]["computed_at"] = Value::Null;
            }
        }
        data
    }

    /// Creates a connection straight through storage, at the clock's instant: its evidence
    /// stays dirty until something folds it (the write routes answer folded summaries).
    pub async fn create_dirty_connection(&self, connector_id: &str) -> String {
        let new = console_storage::NewConnection {
            connector_id: connector_id.to_owned(),
            display_name: None,
            status: console_domain::model::ConnectionStatus::Active,
            maximum_staleness_seconds: None,
        };
        self.console
            .store
            .create_connection(&new, self.clock_now())
            .await
            .unwrap()
            .connection_id
    }

    /// Adds connections (straight through storage, concurrently) until there are `to`,
    /// then folds everything so the fleet starts clean.
    pub async fn grow_fleet(&self, to: usize, ids: &mut Vec<String>) {
        let now = self.clock_now();
        while ids.len() < to {
            let batch = (to - ids.len()).min(64);
            let created = futures::future::join_all((0..batch).map(|i| {
                self.create_dirty_connection(["spotify", "gmail", "github", "bank-csv"][i % 4])
            }))
            .await;
            ids.extend(created);
        }
        while self
            .console
            .store
            .fold_dirty(5000, now)
            .await
            .into_result()
            .unwrap()
            .folded
            > 0
        {}
    }

    /// Row counts of every table, read over a separate connection.
    pub async fn table_counts(&self) -> Vec<(String, i64)> {
        const TABLES: &[&str] = &[
            "connectors",
            "connections",
            "records",
            "record_stats",
            "runs",
            "run_gaps",
            "run_events",
            "schedules",
            "attention",
            "settings",
            "connector_summary_evidence",
        ];
        let mut counts = Vec::new();
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let n: i64 = match self.backend {
                Backend::Sqlite => {
                    let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                        .await
                        .unwrap();
                    sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
                }
                Backend::Postgres => {
                    let mut conn = sqlx::PgConnection::connect(&self.database_url)
                        .await
                        .unwrap();
                    sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
                }
            };
            counts.push((table.to_string(), n));
        }
        counts
    }

    /// Stops the server and removes the test's database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let TestApp { db, .. } = self;
        db.remove().await;
    }
}

/// Runs each named `async fn(Backend)` scenario once per backend. With `multi_thread:` the
/// scenarios run on a multi-threaded runtime, as the server does in production, for tests
/// about requests that really run in parallel.
#[macro_export]
macro_rules! on_both_backends {
    (multi_thread: $($scenario:ident),+ $(,)?) => {
        mod sqlite_multi_thread {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::Sqlite).await
                }
            )+
        }
        mod postgres_multi_thread {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::Postgres).await
                }
            )+
        }
    };
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::helpers::Backend::Postgres).await
                }
            )+
        }
    };
}
