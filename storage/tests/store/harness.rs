//! Runs every storage test on both backends: SQLite in a temp file per test, Postgres in a
//! fresh database per test (from `TEST_DATABASE_URL`, default the local trust-auth server),
//! dropped at the end with `WITH (FORCE)`.

use chrono::{DateTime, Utc};
use console_domain::evidence::Evidence;
use console_domain::model::{
    ConnectionStatus, ConnectorManifest, RecommendedMode, RefreshPolicy, StreamSpec,
};
use console_storage::{
    admin_for, open, ConnectionRow, Database, EvidenceMaintenance, FoldReport, ListOrder,
    ListQuery, NewConnection, ReadModelAdmin, RecordInput, Store,
};
use sqlx::Connection;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub admin: Arc<dyn ReadModelAdmin>,
    pub db: Database,
    pub backend: &'static str,
}

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { admin_url: String, name: String },
}

struct Guard(Option<Cleanup>);

impl Guard {
    async fn finish(mut self, db: &Database) {
        db.close().await;
        if let Some(cleanup) = self.0.take() {
            run_cleanup(cleanup).await;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // A panicking test still cleans up, on a thread with its own runtime.
        if let Some(cleanup) = self.0.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(run_cleanup(cleanup));
                }
            })
            .join();
        }
    }
}

async fn run_cleanup(cleanup: Cleanup) {
    match cleanup {
        Cleanup::SqliteFile(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        Cleanup::Postgres { admin_url, name } => {
            if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await;
                let _ = c.close().await;
            }
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{}_{}_{}", std::process::id(), n, &random[24..])
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The admin URL with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match url[scheme_end..].find('/') {
        Some(i) => &url[..scheme_end + i],
        None => url,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn harness_for(url: &str) -> Harness {
    let (store, db) = open(url).await.expect("open test database");
    Harness {
        admin: admin_for(&db),
        backend: db.backend(),
        store,
        db,
    }
}

async fn create_pg() -> (String, Guard) {
    let admin = admin_url();
    let name = format!("oc_test_{}", unique_suffix());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to TEST_DATABASE_URL (is PostgreSQL running?)");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .await
        .expect("create test database");
    let _ = c.close().await;
    let url = with_database(&admin, &name);
    (
        url,
        Guard(Some(Cleanup::Postgres {
            admin_url: admin,
            name,
        })),
    )
}

pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir()
        .join("oc-storage-tests")
        .join(format!("oc_test_{}.db", unique_suffix()));
    let guard = Guard(Some(Cleanup::SqliteFile(path.clone())));
    let h = harness_for(&format!("sqlite://{}", path.display())).await;
    let db = h.db.clone();
    test(h).await;
    guard.finish(&db).await;
}

pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let (url, guard) = create_pg().await;
    let h = harness_for(&url).await;
    let db = h.db.clone();
    test(h).await;
    guard.finish(&db).await;
}

/// Both backends at once (parity tests).
pub async fn with_both<F, Fut>(test: F)
where
    F: FnOnce(Harness, Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir()
        .join("oc-storage-tests")
        .join(format!("oc_test_{}.db", unique_suffix()));
    let sqlite_guard = Guard(Some(Cleanup::SqliteFile(path.clone())));
    let sqlite = harness_for(&format!("sqlite://{}", path.display())).await;
    let (url, pg_guard) = create_pg().await;
    let pg = harness_for(&url).await;
    let (db1, db2) = (sqlite.db.clone(), pg.db.clone());
    test(sqlite, pg).await;
    sqlite_guard.finish(&db1).await;
    pg_guard.finish(&db2).await;
}

/// Declares each listed `async fn name(h: Harness)` as a test on SQLite and on Postgres.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::harness::with_sqlite(super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::harness::with_postgres(super::$name).await
            }
        }
    )*};
}

// ---- fixtures ----

/// A fixed instant `secs` seconds after the fixture epoch (whole seconds: storage keeps ms).
pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("valid instant")
}

pub fn manifest(id: &str, streams: &[(&str, bool)], staleness: Option<i64>) -> ConnectorManifest {
    ConnectorManifest {
        connector_id: id.to_owned(),
        display_name: format!("{id} connector"),
        version: "1.0.0".to_owned(),
        streams: streams
            .iter()
            .map(|(name, required)| StreamSpec {
                name: (*name).to_owned(),
                required: *required,
            })
            .collect(),
        refresh_policy: RefreshPolicy {
            maximum_staleness_seconds: staleness,
        },
        recommended_mode: RecommendedMode::Scheduled,
        source_kind: "api".to_owned(),
    }
}

impl Harness {
    pub async fn connector(&self, id: &str) {
        self.store
            .upsert_connector(
                &manifest(id, &[("items", true), ("extras", false)], None),
                t(0),
            )
            .await
            .expect("upsert connector");
    }

    pub async fn connection(&self, connector: &str, at: i64) -> ConnectionRow {
        self.store
            .create_connection(
                &NewConnection {
                    connector_id: connector.to_owned(),
                    display_name: None,
                    status: ConnectionStatus::Active,
                    maximum_staleness_seconds: None,
                },
                t(at),
            )
            .await
            .expect("create connection")
    }

    pub async fn fold_all(&self, at: i64) -> FoldReport {
        self.store.fold_dirty(10_000, t(at)).await.expect("fold")
    }

    pub async fn maintenance(&self) -> Vec<EvidenceMaintenance> {
        self.admin
            .evidence_maintenance()
            .await
            .expect("maintenance")
    }

    pub async fn dirty(&self) -> BTreeSet<String> {
        self.maintenance()
            .await
            .into_iter()
            .filter(|m| m.dirty)
            .map(|m| m.connection_id)
            .collect()
    }

    pub async fn write_seq(&self, connection_id: &str) -> i64 {
        self.maintenance()
            .await
            .into_iter()
            .find(|m| m.connection_id == connection_id)
            .map(|m| m.write_seq)
            .expect("evidence row")
    }

    pub async fn evidence(&self, connection_id: &str, at: i64) -> Evidence {
        let page = self
            .store
            .read_evidence(&[connection_id.to_owned()], t(at))
            .await
            .expect("read evidence");
        page.rows.into_iter().next().expect("one row")
    }

    pub async fn all_evidence(&self, at: i64) -> Vec<Evidence> {
        self.store
            .read_evidence_page(
                &ListQuery {
                    limit: None,
                    after: None,
                    status: None,
                    order: ListOrder::Stable,
                },
                t(at),
            )
            .await
            .expect("read page")
            .rows
    }

    /// Runs a raw statement (fixtures that corrupt or bypass the store).
    pub async fn exec(&self, sql: &str) {
        match &self.db {
            Database::Sqlite(pool) => {
                sqlx::query(sql).execute(pool).await.expect("raw sqlite");
            }
            Database::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.expect("raw postgres");
            }
        }
    }
}

pub fn record(stream: &str, key: &str, data: serde_json::Value) -> RecordInput {
    RecordInput {
        stream: stream.to_owned(),
        record_key: key.to_owned(),
        data,
        emitted_at: None,
    }
}
