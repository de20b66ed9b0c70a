//! The server: axum JSON routes under `/_ref`, the Leptos console, owner login, and the CLI
//! that starts them. Thin edges over `console_service::Console`.

mod allocator;
pub mod cli;
pub mod config;
pub mod http;
pub mod startup;
pub mod telemetry;
