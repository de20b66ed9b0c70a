//! Opening a database by URL: SQLite (`sqlite://path`, `sqlite::memory:`, or a plain path)
//! or Postgres (`postgres://`, `postgresql://`), with the embedded migrations.

use crate::error::{StoreError, StoreResult};
use crate::store::{ReadModelAdmin, Store};
use crate::{PgStore, SqliteStore};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection as _};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page cache per SQLite connection (negative: KiB). SQLite's default of 2 MiB holds a
/// fraction of a fold's working set (evidence rows, their index entries, the source rows),
/// so folds re-read pages from the OS with a system call each. The cache fills only as
/// pages are used, so a small database costs no more.
const SQLITE_CACHE_SIZE: &str = "-16384";

/// The raw pool, for what lives beside the store in the same database (sessions).
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Database {
    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }
}

fn bad_url(message: &str) -> StoreError {
    StoreError::Invalid {
        code: "invalid_database_url",
        message: message.to_owned(),
        param: Some("database_url".to_owned()),
    }
}

fn sqlite_file_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(":memory:")).then_some(path)
}

fn create_parent_dirs(path: &str) -> StoreResult<()> {
    if let Some(parent) = Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
    }
    Ok(())
}

async fn connect_sqlite(url: &str) -> StoreResult<SqlitePool> {
    let memory = url.starts_with("sqlite::memory:") || url == ":memory:";
    let options = if url.starts_with("sqlite:") {
        if let Some(path) = sqlite_file_path(url) {
            create_parent_dirs(path)?;
        }
        SqliteConnectOptions::from_str(url)?
    } else if memory {
        SqliteConnectOptions::from_str("sqlite::memory:")?
    } else {
        create_parent_dirs(url)?;
        SqliteConnectOptions::new().filename(url)
    };
    let options = options
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Normal)
        .pragma("cache_size", SQLITE_CACHE_SIZE)
        .log_statements(log::LevelFilter::Debug);
    let options = if memory {
        options
    } else {
        options.journal_mode(SqliteJournalMode::Wal)
    };
    // No ping before every acquire (sqlx's default, `test_before_acquire`): it finds
    // connections a network or a server restart broke, and an embedded connection has
    // neither; each ping is a round trip to the connection's worker thread, about a sixth
    // of a scoped read's time (docs/performance.md, twenty-first round). A connection whose
    // worker died still fails the ping sqlx runs when it is released, and is dropped then.
    let pool_options = SqlitePoolOptions::new().test_before_acquire(false);
    let pool = if memory {
        // Every connection to `:memory:` is its own database: keep exactly one.
        pool_options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?
    } else {
        // A fresh file being switched to WAL by another process answers "database is
        // locked" at once (that switch does not wait on the busy timeout).
        let pool_options = pool_options
            .max_connections(8)
            .min_connections(SWEEPER_CONNECTIONS);
        while_another_opener_races("connect", || {
            pool_options.clone().connect_with(options.clone())
        })
        .await?
    };
    Ok(pool)
}

/// How often a SQLite open step that met a concurrent opener is tried again.
const SQLITE_OPEN_ATTEMPTS: u32 = 5;

/// Runs one step of opening a SQLite file, trying it again (with a short pause) while it
/// fails: several processes opening a fresh file at once race on switching it to WAL and
/// on applying migration 1, and every such step is atomic, so a retry finds either its work
/// still to do or already done. A step that is really broken still fails, a little later.
async fn while_another_opener_races<T, E, F, Fut>(step: &str, mut run: F) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match run().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt < SQLITE_OPEN_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, step, "opening SQLite failed; trying again");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Planner settings for this service's sessions. `random_page_cost` 1.1 instead of 4: the
/// read model's working set is in memory or on SSD, where an index probe costs little more
/// than a sequential read. With 4, the planner answered a 250-row fold extraction at 10,000
/// connections by hashing every run and scanning every stream stat (55 ms); with 1.1 it
/// probes the indexes (10.5 ms, `EXPLAIN ANALYZE` of the same statement). JIT off: these
/// are short statements whose compilation would cost more than it saves.
const PLANNER_SETTINGS: [(&str, &str); 2] = [("random_page_cost", "1.1"), ("jit", "off")];

/// Connections a SQLite pool keeps open even when idle: the sweeper shares a large fold's
/// extraction over two, and takes the second only if one is idle at hand (never waiting).
const SWEEPER_CONNECTIONS: u32 = 2;

/// The same for Postgres: one per concurrent sweeper fold.
const PG_SWEEPER_CONNECTIONS: u32 =
    <crate::dialect::Postgres as crate::dialect::Dialect>::FOLD_WORKERS;

async fn connect_postgres(url: &str) -> StoreResult<PgPool> {
    let options = PgConnectOptions::from_str(url)?
        .log_statements(log::LevelFilter::Debug)
        .options(PLANNER_SETTINGS);
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .min_connections(PG_SWEEPER_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if needs_ping(meta.idle_for) {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await?)
}

/// A Postgres connection idle for longer than this is pinged before it is handed out.
/// sqlx's default pings before every acquire, a round trip to the server before each
/// statement a request issues. sqlx also pings a connection when it is released, so one
/// handed out again within this window answered the server moments ago; one idle for
/// longer may have been cut by a server restart or a network drop, and a failed ping
/// replaces it instead of failing the request (reads are not retried).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

fn needs_ping(idle_for: Duration) -> bool {
    idle_for > PING_AFTER_IDLE
}

/// Connects without migrating.
pub async fn connect(database_url: &str) -> StoreResult<Database> {
    let url = database_url.trim();
    if url.is_empty() {
        return Err(bad_url("the database URL is empty"));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(connect_postgres(url).await?));
    }
    if url.contains("://") && !url.starts_with("sqlite://") {
        return Err(bad_url(
            "use sqlite://PATH, sqlite::memory:, a file path, or postgres://...",
        ));
    }
    Ok(Database::Sqlite(connect_sqlite(url).await?))
}

/// Applies the embedded migrations of the database's backend.
pub async fn run_migrations(db: &Database) -> StoreResult<()> {
    match db {
        Database::Sqlite(pool) => {
            // Postgres migrators take an advisory lock; SQLite ones take none, so two
            // processes opening a fresh file at once both apply migration 1 and the later
            // fails ("table ... already exists") once the first has committed. Each migration
            // is one transaction, so the failed one left nothing behind.
            while_another_opener_races("migrate", || SQLITE_MIGRATOR.run(pool)).await?
        }
        Database::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await?,
    }
    Ok(())
}

/// The store over an opened database.
pub fn store_for(db: &Database) -> Arc<dyn Store> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PgStore::new(pool.clone())),
    }
}

/// The read-model maintenance seams over an opened database.
pub fn admin_for(db: &Database) -> Arc<dyn ReadModelAdmin> {
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteStore::new(pool.clone())),
        Database::Postgres(pool) => Arc::new(PgStore::new(pool.clone())),
    }
}

/// Connects, migrates, and returns the store with the raw pool.
pub async fn open(database_url: &str) -> StoreResult<(Arc<dyn Store>, Database)> {
    let db = connect(database_url).await?;
    run_migrations(&db).await?;
    Ok((store_for(&db), db))
}

/// Connects and applies the migrations (the `migrate` subcommand).
pub async fn migrate(database_url: &str) -> StoreResult<()> {
    let db = connect(database_url).await?;
    let result = run_migrations(&db).await;
    db.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(
            sqlite_file_path("sqlite://data/console.db"),
            Some("data/console.db")
        );
        assert_eq!(
            sqlite_file_path("sqlite:data/x.db?mode=rwc"),
            Some("data/x.db")
        );
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
    }

    /// The bundled SQLite is compiled with `.cargo/config.toml`'s `LIBSQLITE3_FLAGS`: without
    /// them every allocation and every page fetch takes a process-wide lock.
    #[tokio::test]
    async fn bundled_sqlite_is_built_without_process_wide_locks() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "memory statistics on: {options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "memory management on: {options:?}"
        );
    }
}
