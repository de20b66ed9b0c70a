//! Storage errors. Conflicts and missing rows are distinct so the edges can map them to
//! 404/409 without string matching.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The write does not apply in the current state (e.g. a run is already active).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        /// The id of the thing in the way (the active run, the current status...).
        existing: Option<String>,
    },
    /// Input the storage layer itself refused (unknown stream, bad manifest reference...).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        StoreError::NotFound {
            entity,
            id: id.into(),
        }
    }

    /// True when the backend asked the caller to retry (serialization failure, deadlock,
    /// SQLite busy). The service retries these a bounded number of times.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => matches!(
                db.code().as_deref(),
                Some("40001") | Some("40P01") | Some("5") | Some("6") | Some("517")
            ),
            StoreError::Database(sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
