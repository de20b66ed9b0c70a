//! One implementation of "a database only this test uses": a temp SQLite file, or a fresh
//! Postgres database created from `TEST_DATABASE_URL` (default the local trust-auth server).
//! Dropping the [`TestDatabase`] removes it, also while a test unwinds from a panic, so a
//! normal test run leaves no `oc_test_%` database behind.

use sqlx::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// Name prefix of every test database and file; stale ones are recognised by it.
const PREFIX: &str = "oc_test_";

/// The Postgres server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `oc_test_<pid>_<n>_<random>`: the pid lets a later run recognise databases whose process
/// is gone (killed before its guards ran) and drop them.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{PREFIX}{}_{}_{}", std::process::id(), n, &random[24..])
}

/// The admin URL with its database name replaced (query parameters kept).
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

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { admin_url: String, name: String },
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
                // FORCE: the test's own pools may still hold connections.
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut c)
                    .await;
                let _ = c.close().await;
            }
        }
    }
}

/// Drops test databases left by processes that no longer exist (a run killed before its
/// guards could run). Once per process; a live process's databases are never touched.
async fn drop_orphans(c: &mut sqlx::PgConnection) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'oc\\_test\\_%'",
    )
    .fetch_all(&mut *c)
    .await
    else {
        return;
    };
    for name in names {
        let pid = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *c)
                .await;
        }
    }
}

/// A database only its owner uses. Not migrated: open it with [`crate::open`].
#[derive(Debug)]
pub struct TestDatabase {
    backend: TestBackend,
    url: String,
    cleanup: Option<Cleanup>,
}

impl TestDatabase {
    /// Creates an empty database on `backend`. Panics when Postgres is unreachable: a test
    /// without its database cannot say anything.
    pub async fn create(backend: TestBackend) -> TestDatabase {
        match backend {
            TestBackend::Sqlite => {
                let path = std::env::temp_dir()
                    .join("oc-tests")
                    .join(format!("{}.db", unique_name()));
                TestDatabase {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Some(Cleanup::SqliteFile(path)),
                }
            }
            TestBackend::Postgres => {
                let admin = admin_url();
                let name = unique_name();
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL (is PostgreSQL running?)");
                drop_orphans(&mut c).await;
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut c)
                    .await
                    .expect("create test database");
                let _ = c.close().await;
                TestDatabase {
                    backend,
                    url: with_database(&admin, &name),
                    cleanup: Some(Cleanup::Postgres {
                        admin_url: admin,
                        name,
                    }),
                }
            }
        }
    }

    pub fn backend(&self) -> TestBackend {
        self.backend
    }

    /// The URL to open it with (`sqlite://...` or `postgres://...`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now (the async path; dropping does the same on a helper thread).
    pub async fn remove(mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            run_cleanup(cleanup).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside a runtime (or while unwinding from a panic):
        // clean up on a thread with its own small runtime and wait for it.
        if let Some(cleanup) = self.cleanup.take() {
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

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_keeping_parameters() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
