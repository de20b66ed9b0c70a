//! `POST /login` (the form's `password` and `return_to`) and `POST /logout`. The login page
//! itself is a Leptos page; these handlers only check, remember and redirect.

use crate::http::auth::{encode_query_value, is_same_origin, safe_return_to};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tower_sessions::Session;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// Slows password guessing: after a few failures every attempt waits out a doubling delay
/// (capped), and a success resets it. One owner, so one counter.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: Mutex<(u32, Option<Instant>)>,
}

const FREE_ATTEMPTS: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(300);

impl LoginLimiter {
    /// How long the caller must still wait, if at all.
    pub fn wait(&self) -> Option<Duration> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .1
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    pub fn failed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = state.0.saturating_add(1);
        if state.0 >= FREE_ATTEMPTS {
            let exponent = (state.0 - FREE_ATTEMPTS).min(16);
            let delay = Duration::from_secs(1u64 << exponent).min(MAX_DELAY);
            state.1 = Some(Instant::now() + delay);
        }
    }

    pub fn succeeded(&self) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = (0, None);
    }
}

fn back_to_form(error: &str, return_to: &str) -> Response {
    Redirect::to(&format!(
        "/login?error={error}&return_to={}",
        encode_query_value(return_to)
    ))
    .into_response()
}

pub async fn login(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let return_to = safe_return_to(form.return_to.as_deref());
    if !is_same_origin(&headers) {
        return back_to_form("origin", &return_to);
    }
    if state.login_limiter.wait().is_some() {
        return back_to_form("wait", &return_to);
    }
    if !state.auth.verify_password(&form.password) {
        state.login_limiter.failed();
        tracing::warn!("failed owner login");
        return back_to_form("password", &return_to);
    }
    state.login_limiter.succeeded();
    if let Err(e) = console_app::session::log_in(&session).await {
        tracing::error!(error = %e, "could not store the owner session");
        return back_to_form("session", &return_to);
    }
    tracing::info!("owner logged in");
    Redirect::to(&return_to).into_response()
}

pub async fn logout(session: Session, headers: HeaderMap) -> Response {
    if is_same_origin(&headers) {
        if let Err(e) = console_app::session::log_out(&session).await {
            tracing::error!(error = %e, "could not delete the owner session");
        }
    }
    Redirect::to("/login").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_few_mistakes_then_backs_off_and_resets() {
        let limiter = LoginLimiter::default();
        for _ in 0..FREE_ATTEMPTS - 1 {
            limiter.failed();
            assert!(limiter.wait().is_none());
        }
        limiter.failed();
        assert!(limiter.wait().is_some());
        limiter.succeeded();
        assert!(limiter.wait().is_none());
    }
}
