//! Storage: one [`Store`] trait, two sqlx backends (SQLite and Postgres) with equivalent
//! schemas, and the connector-summary read model they maintain.
//!
//! Every writing method marks the affected connections' evidence dirty in the same
//! transaction (bumping their write sequence); reads fold the dirty rows they are about to
//! return before answering. See the product contract (SPEC §3) and this crate's README.
//!
//! The SQL is written once (`backend/shared/`) and compiled for each concrete backend; the
//! few dialect differences live in `dialect.rs`.

mod assemble;
mod backend;
mod built_once;
mod codec;
mod dialect;
mod dirty_parts;
pub mod error;
mod evidence_row;
mod id_map;
mod list_reader;
mod open;
mod read_context;
mod row_set;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use backend::postgres::BackendStore as PgStore;
pub use backend::sqlite::BackendStore as SqliteStore;
pub use error::StoreError;
pub use open::{admin_for, connect, migrate, open, run_migrations, store_for, Database};
pub use store::{ReadModelAdmin, Store};

/// The log target of the statements this crate runs itself rather than through sqlx (the
/// streamed list on SQLite). Their events carry `db.statement` as sqlx's `sqlx::query`
/// events do, so whoever counts or reads statements listens to both targets.
pub const STATEMENT_LOG: &str = "console_storage::statement";
pub use types::*;
