//! Storage: one [`Store`] trait, two sqlx backends (SQLite and Postgres) with equivalent
//! schemas, and the connector-summary read model they maintain.
//!
//! Every writing method marks the affected connections' evidence dirty in the same
//! transaction (bumping their write sequence); reads fold the dirty rows they are about to
//! return before answering. See `../shared/SPEC.md` §3 and `docs/read-model.md`.

pub mod error;
pub mod store;
pub mod types;

pub use error::StoreError;
pub use store::Store;
pub use types::*;
