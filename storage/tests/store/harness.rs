//! Runs every storage test on both backends: SQLite in a temp file per test, Postgres in a
//! fresh database per test (from `TEST_DATABASE_URL`, default the local trust-auth server),
//! both from `console_storage::testing::TestDatabase`, which removes them at the end, or
//! while a failing test unwinds.

use chrono::{DateTime, Utc};
use console_domain::evidence::Evidence;
use console_domain::model::{
    ConnectionStatus, ConnectorManifest, RecommendedMode, RefreshPolicy, StreamSpec,
};
use console_storage::testing::{TestBackend, TestDatabase};
use console_storage::{
    admin_for, open, ConnectionRow, Database, EvidenceMaintenance, FoldReport, ListOrder,
    ListQuery, NewConnection, ReadModelAdmin, RebuildReport, RecordInput, Store,
};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub admin: Arc<dyn ReadModelAdmin>,
    pub db: Database,
    pub backend: &'static str,
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

/// Closes the test's pool, then removes its database. A test that panics never gets here:
/// dropping its [`TestDatabase`] while unwinding removes the database instead.
async fn finish(test_db: TestDatabase, db: &Database) {
    db.close().await;
    test_db.remove().await;
}

pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let test_db = TestDatabase::create(TestBackend::Sqlite).await;
    let h = harness_for(test_db.url()).await;
    let db = h.db.clone();
    test(h).await;
    finish(test_db, &db).await;
}

pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let test_db = TestDatabase::create(TestBackend::Postgres).await;
    let h = harness_for(test_db.url()).await;
    let db = h.db.clone();
    test(h).await;
    finish(test_db, &db).await;
}

/// Both backends at once (parity tests).
pub async fn with_both<F, Fut>(test: F)
where
    F: FnOnce(Harness, Harness) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite_db = TestDatabase::create(TestBackend::Sqlite).await;
    let sqlite = harness_for(sqlite_db.url()).await;
    let pg_db = TestDatabase::create(TestBackend::Postgres).await;
    let pg = harness_for(pg_db.url()).await;
    let (db1, db2) = (sqlite.db.clone(), pg.db.clone());
    test(sqlite, pg).await;
    finish(sqlite_db, &db1).await;
    finish(pg_db, &db2).await;
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

    /// A generated fleet of `connections` (one run and one record each, loaded at t(1)),
    /// its evidence rebuilt at t(2) in batches of `batch`.
    pub async fn small_fleet(&self, connections: usize, batch: u32) -> RebuildReport {
        let spec = console_storage::testing::FleetSpec {
            connections,
            runs_per_connection: 1,
            records_per_connection: 1,
            ..Default::default()
        };
        console_storage::testing::load_fleet(&self.db, &spec, t(1))
            .await
            .expect("fleet");
        self.store
            .rebuild_evidence(batch, t(2), &|_, _| {})
            .await
            .expect("rebuild")
    }

    pub async fn fold_all(&self, at: i64) -> FoldReport {
        self.sweep(10_000, at).await
    }

    /// One sweep of `budget` rows that must not fail part way.
    pub async fn sweep(&self, budget: u32, at: i64) -> FoldReport {
        self.store
            .fold_dirty(budget, t(at))
            .await
            .into_result()
            .expect("fold")
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
