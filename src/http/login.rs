//! `POST /login` (the form's `password` and `return_to`) and `POST /logout`. The login page
//! itself is a Leptos page; these handlers only check, remember and redirect.

use crate::http::auth::{encode_query_value, is_same_origin, safe_return_to};
use crate::http::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
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
///
/// Attempts are checked one at a time: the lock is held from the backoff check through the
/// password verification, so a burst of concurrent guesses cannot all pass the check before
/// the first failure is counted.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    state: tokio::sync::Mutex<Backoff>,
}

/// Failures since the last success, and until when the next attempt must wait.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

const FREE_ATTEMPTS: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(300);

impl LoginLimiter {
    /// Waits for the attempt in progress (if any) to finish, then holds the backoff state
    /// for this attempt.
    pub async fn attempt(&self) -> tokio::sync::MutexGuard<'_, Backoff> {
        self.state.lock().await
    }
}

impl Backoff {
    /// How long the caller must still wait, if at all.
    pub fn wait(&self) -> Option<Duration> {
        self.until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= FREE_ATTEMPTS {
            let exponent = (self.failures - FREE_ATTEMPTS).min(16);
            let delay = Duration::from_secs(1u64 << exponent).min(MAX_DELAY);
            self.until = Some(Instant::now() + delay);
        }
    }

    pub fn succeeded(&mut self) {
        *self = Backoff::default();
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
    let mut backoff = state.login_limiter.attempt().await;
    if backoff.wait().is_some() {
        return back_to_form("wait", &return_to);
    }
    // Argon2 is deliberately slow: verify off the async workers so other requests go on.
    let auth = state.auth.clone();
    let verified = tokio::task::spawn_blocking(move || auth.verify_password(&form.password))
        .await
        .unwrap_or(false);
    if !verified {
        backoff.failed();
        tracing::warn!("failed owner login");
        return back_to_form("password", &return_to);
    }
    backoff.succeeded();
    drop(backoff);
    if let Err(e) = console_app::session::log_in(&session, state.console.now()).await {
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
    fn backoff_allows_a_few_mistakes_then_doubles_and_resets() {
        let mut backoff = Backoff::default();
        for _ in 0..FREE_ATTEMPTS - 1 {
            backoff.failed();
            assert!(backoff.wait().is_none());
        }
        backoff.failed();
        let first = backoff.wait().expect("backs off after the free attempts");
        assert!(first <= Duration::from_secs(1));
        backoff.failed();
        let second = backoff.wait().unwrap();
        assert!(second > Duration::from_secs(1) && second <= Duration::from_secs(2));
        for _ in 0..40 {
            backoff.failed();
        }
        assert!(backoff.wait().unwrap() <= MAX_DELAY, "the delay is capped");
        backoff.succeeded();
        assert!(backoff.wait().is_none());
    }
}
