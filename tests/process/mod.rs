//! Support shared by the stress and crash tests: the real `owner-console` binary as a child
//! process (started on a random port, killed with SIGKILL), a probe that sees another
//! process's open write transaction, and the read-model audit "stored evidence equals a
//! rebuild from scratch".
//!
//! Each test crate uses a different part of this module, hence the `dead_code` allowance
//! where it is declared.

use console_domain::evidence::Evidence;
use console_storage::testing::{TestBackend, TestDatabase};
use console_storage::{Database, ReadModelAdmin, Store};
use sqlx::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

pub const TOKEN: &str = "oc_stress_token_0123456789";

/// A sweeper interval long enough that the sweeper never runs during a test (its first
/// sweep comes one interval after start-up).
pub const NO_SWEEPER: Duration = Duration::from_secs(3600);

/// One `owner-console` process. Dropping it kills the process.
pub struct Server {
    child: tokio::process::Child,
    pub base: String,
    pub client: reqwest::Client,
    /// The process's stderr (its logs), kept for failure messages.
    pub log: PathBuf,
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("oc-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with the test's credentials and a random port; `args` follow the subcommand.
/// Its stderr goes to a log file of its own (tests of one binary run side by side).
pub fn command(args: &[&str], log_name: &str) -> (tokio::process::Command, PathBuf) {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let log = scratch_dir().join(format!("{}-{n}-{log_name}.log", std::process::id()));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_owner-console"));
    cmd.args(args)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("OWNER_TOKEN", TOKEN)
        .env("OWNER_PASSWORD", "stress test password")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true);
    (cmd, log)
}

impl Server {
    /// Starts `serve` on `database_url` and waits until it listens.
    pub async fn start(database_url: &str, sweeper_interval: Duration, name: &str) -> Server {
        let interval = sweeper_interval.as_millis().to_string();
        let (mut cmd, log) = command(
            &[
                "serve",
                "--database-url",
                database_url,
                "--sweeper-interval-ms",
                &interval,
            ],
            name,
        );
        let mut child = cmd.spawn().expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("Owner console: ") {
                    return Some(rest.trim_end_matches('/').to_owned());
                }
            }
            None
        })
        .await;
        let base = match ready {
            Ok(Some(base)) => base,
            _ => panic!(
                "server {name} did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        // Nothing else is printed on stdout; keep draining it so the process never blocks.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server {
            child,
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// A request with the owner's bearer token.
    pub fn owner(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.owner(reqwest::Method::GET, path).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self.owner(method, path).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// Creates a connection of `connector` and returns its id (asserting the 201).
    pub async fn create_connection(&self, connector: &str) -> String {
        let (status, body) = self
            .send_json(
                reqwest::Method::POST,
                "/_ref/connections",
                &serde_json::json!({ "connector_id": connector }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["connection_id"].as_str().unwrap().to_owned()
    }

    /// The process's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The ERROR lines of the process's log (the cause of a 500 is logged there).
    pub fn log_errors(&self) -> String {
        self.log_text()
            .lines()
            .filter(|line| line.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGKILL: no shutdown hook, no graceful close of anything.
    pub async fn kill(mut self) -> ExitStatus {
        kill(&mut self.child).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The process dies with its handle (`kill_on_drop`); its log is kept only when a
        // test failed, for the failure to be read.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Sends SIGKILL and reaps the process; asserts the signal is what ended it.
pub async fn kill(child: &mut tokio::process::Child) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    child.start_kill().expect("SIGKILL delivered");
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(9), "the process died of SIGKILL");
    status
}

/// Sees whether another process holds an open writing transaction on the database: proof
/// that a kill lands in the middle of a write, not before or after it.
pub enum WriteProbe {
    /// Takes SQLite's write lock without waiting: refused exactly while a writer holds it.
    Sqlite(sqlx::SqliteConnection),
    /// Looks for a session of the database that has taken a transaction id (Postgres
    /// assigns one at a transaction's first write or row lock).
    Postgres(sqlx::PgConnection),
}

impl WriteProbe {
    pub async fn connect(db: &TestDatabase) -> WriteProbe {
        use std::str::FromStr;
        match db.backend() {
            TestBackend::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(db.url())
                    .unwrap()
                    .busy_timeout(Duration::ZERO);
                WriteProbe::Sqlite(
                    sqlx::SqliteConnection::connect_with(&options)
                        .await
                        .unwrap(),
                )
            }
            TestBackend::Postgres => {
                WriteProbe::Postgres(sqlx::PgConnection::connect(db.url()).await.unwrap())
            }
        }
    }

    /// Waits until no writing transaction is left open. After a SIGKILL, Postgres notices
    /// the dead client only when the statement it was running ends, and holds that
    /// transaction's row locks until then: a server started meanwhile finds those rows
    /// locked and answers them from an unpublished extraction (marked dirty). The crash is
    /// over when the database has rolled the dead writer back; SQLite's lock dies with the
    /// process.
    pub async fn until_writers_gone(&mut self) {
        let deadline = Deadline::new(Duration::from_secs(60), "the killed writer's rollback");
        while self.writer_active().await {
            deadline.tick().await;
        }
    }

    pub async fn writer_active(&mut self) -> bool {
        match self {
            WriteProbe::Sqlite(c) => match sqlx::query("BEGIN IMMEDIATE").execute(&mut *c).await {
                Ok(_) => {
                    sqlx::query("ROLLBACK").execute(&mut *c).await.unwrap();
                    false
                }
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("5") => true,
                Err(e) => panic!("write probe: {e}"),
            },
            WriteProbe::Postgres(c) => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND backend_xid IS NOT NULL)",
            )
            .fetch_one(&mut *c)
            .await
            .unwrap(),
        }
    }
}

/// One `SELECT COUNT(*) ...` over a fresh connection (after a kill, opening SQLite is also
/// what replays or discards the WAL the dead process left).
pub async fn count(url: &str, sql: &str) -> i64 {
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

/// The store opened in this process, for audits while no server runs (or all are quiet).
pub struct Direct {
    pub store: Arc<dyn Store>,
    pub admin: Arc<dyn ReadModelAdmin>,
    pub database: Database,
}

impl Direct {
    pub async fn open(url: &str) -> Direct {
        let (store, database) = console_storage::open(url).await.unwrap();
        let admin = console_storage::admin_for(&database);
        Direct {
            store,
            admin,
            database,
        }
    }

    pub async fn close(self) {
        self.database.close().await;
    }

    /// Every connection id (source table, not evidence).
    pub async fn connection_ids(&self) -> Vec<String> {
        let sql = "SELECT connection_id FROM connections ORDER BY connection_id";
        match &self.database {
            Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        }
    }

    /// Retained (not deleted) records per connection, counted from the records themselves.
    pub async fn live_record_counts(&self) -> HashMap<String, i64> {
        let sql = "SELECT connection_id, COUNT(*) FROM records WHERE deleted_at IS NULL
                   GROUP BY connection_id";
        match &self.database {
            Database::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
            Database::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        }
        .into_iter()
        .collect()
    }

    /// What the evidence table holds right now, without folding anything: which rows are
    /// dirty (or failed), and the stored evidence of the clean ones.
    pub async fn evidence_snapshot(&self) -> EvidenceSnapshot {
        let rows = self.admin.evidence_maintenance().await.unwrap();
        let with_row: HashSet<String> = rows.iter().map(|r| r.connection_id.clone()).collect();
        let mut snapshot = EvidenceSnapshot::default();
        let mut clean = Vec::new();
        for row in rows {
            if row.dirty || row.error.is_some() {
                snapshot.dirty.push(row.connection_id);
            } else {
                clean.push(row.connection_id);
            }
        }
        snapshot.missing = self.connection_ids().await;
        snapshot.missing.retain(|id| !with_row.contains(id));
        // A clean row is returned as stored: the read folds only dirty rows.
        let now = chrono::Utc::now();
        for chunk in clean.chunks(500) {
            let page = self.store.read_evidence(chunk, now).await.unwrap();
            for evidence in page.rows {
                snapshot
                    .clean
                    .insert(evidence.connection_id.clone(), without_meta(evidence));
            }
        }
        snapshot
    }

    /// Rebuilds the whole read model from the source tables and compares: every row that
    /// was clean before must be unchanged by the rebuild (clean means folded at its latest
    /// write; anything else is a lost dirty mark or a torn fold), and the rebuild must report
    /// exactly the dirty rows as changed. Returns a description of every divergence.
    pub async fn rebuild_and_compare(&self, before: &EvidenceSnapshot) -> Vec<String> {
        // Rows a read folded since `before` was taken are clean now; what the rebuild may
        // change is what is dirty or missing at this moment.
        let dirty_now = self
            .admin
            .evidence_maintenance()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.dirty || r.error.is_some())
            .count()
            + before.missing.len();
        let report = self
            .store
            .rebuild_evidence(100, chrono::Utc::now(), &|_, _| {})
            .await
            .unwrap();
        let after = self.evidence_snapshot().await;
        let mut problems = Vec::new();
        if !after.dirty.is_empty() || !after.missing.is_empty() {
            problems.push(format!(
                "after a rebuild: dirty or failed {:?}, missing {:?}",
                after.dirty, after.missing
            ));
        }
        for (id, stored) in &before.clean {
            match after.clean.get(id) {
                Some(rebuilt) if rebuilt == stored => {}
                Some(rebuilt) => problems.push(format!(
                    "connection {id} was clean but stale:\n  stored  {}\n  rebuilt {}",
                    serde_json::to_string(stored).unwrap(),
                    serde_json::to_string(rebuilt).unwrap()
                )),
                None => problems.push(format!("connection {id} vanished in the rebuild")),
            }
        }
        if report.changed + report.created != dirty_now as u64 {
            problems.push(format!(
                "the rebuild changed {} and created {} rows; {dirty_now} were dirty or missing \
                 ({report:?})",
                report.changed, report.created
            ));
        }
        problems
    }
}

/// See [`Direct::evidence_snapshot`].
#[derive(Debug, Default)]
pub struct EvidenceSnapshot {
    /// Rows marked dirty (or whose last fold failed): their stored evidence may be old.
    pub dirty: Vec<String>,
    /// Connections without an evidence row.
    pub missing: Vec<String>,
    /// Stored evidence of the clean rows, maintenance metadata left out.
    pub clean: BTreeMap<String, Evidence>,
}

/// Evidence without its maintenance metadata (sequences and fold times change with every
/// fold and rebuild; the evidence itself must not).
fn without_meta(mut evidence: Evidence) -> Evidence {
    evidence.meta = console_domain::evidence::EvidenceMeta {
        state: console_domain::evidence::EvidenceState::Current,
        computed_at: None,
        write_seq: 0,
        folded_seq: 0,
        error: None,
    };
    evidence
}

/// A bounded wait: poll something, [`Deadline::tick`] between polls.
pub struct Deadline {
    started: std::time::Instant,
    limit: Duration,
    what: &'static str,
}

impl Deadline {
    pub fn new(limit: Duration, what: &'static str) -> Deadline {
        Deadline {
            started: std::time::Instant::now(),
            limit,
            what,
        }
    }

    /// Sleeps a millisecond; panics once the limit has passed.
    pub async fn tick(&self) {
        assert!(
            self.started.elapsed() < self.limit,
            "timed out after {:?} waiting for {}",
            self.limit,
            self.what
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
