//! The HTTP edge: `/_ref` JSON routes (documented in `/_ref/openapi.json`), login/logout, and
//! the gates in front of them and the console pages.

pub mod auth;
pub mod error;
pub mod extract;
pub mod json_response;
pub mod login;
pub mod routes;
pub mod server_fns;
pub mod state;
pub(crate) mod strict_json;
