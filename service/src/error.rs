//! One error type for every edge. Each variant knows its HTTP status class and code, so the
//! JSON routes and the server functions report the same thing the same way.

use console_storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that cannot be parsed or was tampered with (HTTP 400).
    #[error("{message}")]
    Malformed {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    /// Well-formed input that breaks a rule (HTTP 422).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        existing: Option<String>,
    },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("owner session required")]
    Unauthenticated,
    /// Anything else. The message is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>, param: Option<&str>) -> Self {
        ServiceError::Invalid {
            code,
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => ServiceError::NotFound { entity, id },
            StoreError::Conflict {
                code,
                message,
                existing,
            } => ServiceError::Conflict {
                code,
                message,
                existing,
            },
            StoreError::Invalid {
                code,
                message,
                param,
            } => ServiceError::Invalid {
                code,
                message,
                param,
            },
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
