//! The `/_ref` error envelope: `{"error":{"type","code","message","param"?}}`. Every failure
//! a route can produce goes through [`ApiError`], so no route invents its own shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use console_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `authentication_error`, `invalid_request_error`, `not_found_error`, `conflict_error`,
    /// `api_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// For conflicts: the id of what is in the way (e.g. the active run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                kind,
                code: code.to_owned(),
                message: message.into(),
                param: None,
                existing: None,
            },
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.body.param = Some(param.into());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message,
        )
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "owner_session_required",
            "Log in as the owner, or send `Authorization: Bearer <owner token>`.",
        )
    }

    pub fn cross_origin() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "authentication_error",
            "cross_origin_refused",
            "Cookie-authenticated writes must come from this console's own pages.",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Malformed {
                code,
                message,
                param,
            } => ApiError {
                status: StatusCode::BAD_REQUEST,
                body: ErrorBody {
                    kind: "invalid_request_error",
                    code: code.to_owned(),
                    message,
                    param,
                    existing: None,
                },
            },
            ServiceError::Invalid {
                code,
                message,
                param,
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: ErrorBody {
                    kind: "invalid_request_error",
                    code: code.to_owned(),
                    message,
                    param,
                    existing: None,
                },
            },
            ServiceError::NotFound { entity, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found_error",
                &format!("{entity}_not_found"),
                format!("No {entity} with id {id:?}."),
            ),
            ServiceError::Conflict {
                code,
                message,
                existing,
            } => ApiError {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    kind: "conflict_error",
                    code: code.to_owned(),
                    message,
                    param: None,
                    existing,
                },
            },
            ServiceError::TooLarge { message } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "payload_too_large",
                message,
            ),
            ServiceError::Unauthenticated => ApiError::unauthenticated(),
            ServiceError::Internal(detail) => {
                // The detail may name tables or ids; it goes to the log, not the client.
                tracing::error!(%detail, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "api_error",
                    "internal_error",
                    "The console could not complete this request; nothing was changed. Try again.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorEnvelope { error: self.body })).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
