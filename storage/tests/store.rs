//! Storage tests. Every test runs on SQLite and on Postgres (see `store/harness.rs`).

#[macro_use]
#[path = "store/harness.rs"]
mod harness;

#[path = "store/seams.rs"]
mod seams;

#[path = "store/reads.rs"]
mod reads;

#[path = "store/maintenance.rs"]
mod maintenance;

#[path = "store/carried.rs"]
mod carried;
