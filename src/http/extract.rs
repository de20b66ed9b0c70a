//! Extractors whose rejections speak the error envelope instead of axum's plain text, so a
//! malformed body, path or query is a clear 4xx like every other error.

use crate::http::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// A JSON body. Wrong content type is 415, unparsable or ill-typed JSON is 400/422 (an array
/// where the schema has an object is ill-typed: see `strict_json`), an over-limit body is
/// 413.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Parsed as a document first, to find NULs wherever they hide, then typed.
        let axum::Json(document) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        if holds_nul(&document) {
            return Err(nul_refused());
        }
        super::strict_json::from_value(document)
            .map(Json)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request_error",
                    "invalid_body",
                    format!("Failed to deserialize the JSON body into the target type: {e}"),
                )
            })
    }
}

/// True when a string or key anywhere in the document contains U+0000.
fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// NUL never belongs in an id, a label or a message, and PostgreSQL cannot store it in text:
/// it is refused at the edge, wherever it appears, before anything looks it up or stores it.
pub fn nul_refused() -> ApiError {
    ApiError::bad_request(
        "nul_character",
        "The request contains a NUL character (U+0000 or %00), which no field accepts.",
    )
}

/// Refuses a request whose path or query string encodes a NUL (`%00`); a raw NUL byte
/// cannot reach here, the HTTP parser rejects it.
pub async fn refuse_nul_in_uri(request: Request, next: axum::middleware::Next) -> Response {
    let encoded = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("");
    if encoded.contains("%00") {
        return nul_refused().into_response();
    }
    next.run(request).await
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let text = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed_json", text),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::bad_request("invalid_body", text),
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        "payload_too_large",
        "The request body is larger than this server accepts; send smaller batches.",
    )
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection: PathRejection| {
                ApiError::bad_request("invalid_path", rejection.body_text())
            })
    }
}

/// Query string parameters.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::bad_request("invalid_query", rejection.body_text())
            })
    }
}
