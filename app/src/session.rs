//! The owner's session, shared by the axum edge (login, logout, page gate) and the server
//! functions. One owner: a session either belongs to the owner or is anonymous.

use console_domain::Instant;
use std::time::Duration;
use tower_sessions::Session;

/// Session key whose presence marks an owner session.
const OWNER_KEY: &str = "owner";
/// Session key: when the session's idle lifetime was last renewed (Unix seconds).
const RENEWED_KEY: &str = "renewed_at";
/// Renewals are at most this far apart, so a session outlives the owner's last request by
/// at least the idle lifetime less this.
const MAX_RENEWAL_INTERVAL: Duration = Duration::from_secs(3600);

/// True when the session belongs to the logged-in owner. A broken session store reads as
/// anonymous: never let a storage error open the door.
pub async fn is_owner(session: &Session) -> bool {
    matches!(session.get::<bool>(OWNER_KEY).await, Ok(Some(true)))
}

/// Marks the session as the owner's, with a fresh id so a planted session id is worthless.
pub async fn log_in(session: &Session, now: Instant) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(OWNER_KEY, true).await?;
    session.insert(RENEWED_KEY, now.timestamp()).await
}

/// How often an owner session in use is renewed, for an idle lifetime of `idle`: half of
/// it, and at most an hour.
pub fn renewal_interval(idle: Duration) -> Duration {
    (idle / 2).min(MAX_RENEWAL_INTERVAL)
}

/// Renews the owner session's idle lifetime when `every` has passed since it was last
/// renewed (or it never was), by updating the renewal time: tower-sessions writes a new
/// expiry to the store, and a new cookie `Max-Age`, only when it saves a modified session,
/// so without a change an owner who uses the console daily would still be logged out one
/// idle lifetime after logging in. The save runs after the handler. Anonymous sessions are
/// left alone. Returns whether it renewed.
pub async fn renew_if_due(
    session: &Session,
    now: Instant,
    every: Duration,
) -> Result<bool, tower_sessions::session::Error> {
    if !is_owner(session).await {
        return Ok(false);
    }
    let every = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
    let due = session
        .get::<i64>(RENEWED_KEY)
        .await?
        .is_none_or(|renewed| now.timestamp().saturating_sub(renewed) >= every);
    if due {
        session.insert(RENEWED_KEY, now.timestamp()).await?;
    }
    Ok(due)
}

/// Ends the session everywhere: the stored record is deleted and the cookie cleared.
pub async fn log_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_renewed_at_half_their_idle_lifetime_and_at_least_hourly() {
        let secs = Duration::from_secs;
        assert_eq!(renewal_interval(secs(4)), secs(2));
        assert_eq!(renewal_interval(secs(2 * 3600)), secs(3600));
        assert_eq!(renewal_interval(secs(7 * 24 * 3600)), secs(3600));
    }
}
