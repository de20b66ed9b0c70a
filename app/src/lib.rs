//! The Leptos console: pages, components and server functions.
//!
//! Rendered on the server (`ssr`) and hydrated in the browser (`hydrate`). Server functions
//! call `console_service::Console`, the same projector the JSON routes use.

#[cfg(feature = "ssr")]
pub mod session;
