//! The HTTP edge of the Leptos server functions: a small body limit, and status codes that
//! say whose fault a failure was. Leptos answers every failed server function with 500, also
//! when the caller sent missing or malformed arguments or an unknown id; the pages only read
//! the error body, but a 500 tells monitoring (and the owner) that the server broke.

use crate::http::error::ApiError;
use crate::http::extract::{nul_refused, too_large};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use console_app::api::ConsoleError;

/// Largest server-function request: their arguments are ids, labels and small numbers.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Largest error body worth reading to find its status (errors are a line of JSON).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads the whole body up front, so an oversized one is a 413 envelope here rather than a
/// read error inside the server function, and a NUL in the arguments (raw, or `%00` in the
/// URL-encoded form the pages send) is refused before any id is looked up.
pub async fn buffered(request: Request) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| too_large())?;
    if bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00") {
        return Err(nul_refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The status a server-function error means.
fn status_of(error: &ConsoleError) -> StatusCode {
    match error {
        ConsoleError::OwnerSessionRequired => StatusCode::UNAUTHORIZED,
        ConsoleError::NotFound { .. } => StatusCode::NOT_FOUND,
        ConsoleError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        // On the server, transport errors are arguments that did not decode.
        ConsoleError::Transport { .. } => StatusCode::BAD_REQUEST,
        ConsoleError::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Gives a failed server function's response the status its [`ConsoleError`] means.
pub async fn with_error_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ConsoleError>(&bytes) {
        parts.status = status_of(&error);
    }
    Response::from_parts(parts, Body::from(bytes))
}
