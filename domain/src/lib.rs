//! The pure core of the owner console.
//!
//! Everything here is plain data and pure functions: no database, no clock reads, no network.
//! Storage produces [`evidence::Evidence`]; [`synthesis::synthesize`] turns evidence, an
//! observation time and runtime liveness into the owner-facing projection; [`summary`] shapes
//! that into the summary item every surface (list, scoped list, detail, console) shares.

pub mod clock;
pub mod evidence;
pub mod evidence_json;
pub mod instant_json;
pub mod liveness;
pub mod model;
pub mod selector;
pub mod summary;
pub mod summary_json;
pub mod synthesis;

/// Instants are UTC everywhere; storage keeps them as epoch milliseconds.
pub type Instant = chrono::DateTime<chrono::Utc>;
