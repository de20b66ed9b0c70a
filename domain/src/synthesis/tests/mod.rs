//! Synthesis tests: one module per SPEC §4 table, plus properties over arbitrary evidence.

mod actions;
mod fixture;
mod freshness;
mod health;
mod properties;
mod verdict;
