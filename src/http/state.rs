//! What every handler can reach.

use crate::http::login::LoginLimiter;
use axum::extract::FromRef;
use console_service::auth::OwnerAuth;
use console_service::Console;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub console: Console,
    pub auth: Arc<OwnerAuth>,
    pub leptos: LeptosOptions,
    pub login_limiter: Arc<LoginLimiter>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
