//! The owner's session, shared by the axum edge (login, logout, page gate) and the server
//! functions. One owner: a session either belongs to the owner or is anonymous.

use tower_sessions::Session;

/// Session key whose presence marks an owner session.
const OWNER_KEY: &str = "owner";

/// True when the session belongs to the logged-in owner. A broken session store reads as
/// anonymous: never let a storage error open the door.
pub async fn is_owner(session: &Session) -> bool {
    matches!(session.get::<bool>(OWNER_KEY).await, Ok(Some(true)))
}

/// Marks the session as the owner's, with a fresh id so a planted session id is worthless.
pub async fn log_in(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(OWNER_KEY, true).await
}

/// Ends the session everywhere: the stored record is deleted and the cookie cleared.
pub async fn log_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}
