//! What every handler can reach.

use crate::http::login::LoginLimiter;
use axum::extract::FromRef;
use console_service::auth::OwnerAuth;
use console_service::Console;
use leptos::config::LeptosOptions;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub console: Console,
    pub auth: Arc<OwnerAuth>,
    pub leptos: LeptosOptions,
    pub login_limiter: Arc<LoginLimiter>,
    /// How often an owner session in use is renewed (from the idle session lifetime).
    pub session_renewal: Duration,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
