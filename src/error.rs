//! One error type for every request: a known status per variant, a JSON body with a stable
//! `code`, and for server faults an opaque message with the full cause chain in the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

#[derive(thiserror::Error)]
pub enum AppError {
    /// The request could not be read (malformed JSON, bad path or query).
    #[error("{0}")]
    BadRequest(String),
    /// The request was read but a value is not acceptable.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// What the request acts on is there no more for this person (they left the circle).
    #[error("{0}")]
    Gone(String),
    /// With the methods that are allowed, for the `Allow` header.
    #[error("this method is not supported here; use {0}")]
    MethodNotAllowed(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("too many requests; try again in {0} seconds")]
    TooManyRequests(u64),
    /// A limit that protects other people (everyone's inbox), said in words.
    #[error("{message}")]
    Limited { message: String, retry_after: u64 },
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Invalid { .. } => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyRequests(_) | Self::Limited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl std::fmt::Debug for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        if let Self::Internal(e) = self {
            write!(f, "\ncaused by: {e:?}")?;
            return Ok(());
        }
        while let Some(cause) = source {
            write!(f, "\ncaused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid`, `not_found`, `conflict`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The input field at fault, for `invalid` errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) | Self::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(_) => tracing::error!(error = ?self, "request failed"),
            Self::Unavailable(_) => tracing::warn!(error = ?self, "request failed"),
            _ => {}
        }
        let field = match self {
            Self::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        let message = match self {
            Self::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::TooManyRequests(secs)
            | Self::Limited {
                retry_after: secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed(methods) => {
                response.insert_header((header::ALLOW, methods.as_str()));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
                field,
            },
        })
    }
}

impl From<crate::domain::Invalid> for AppError {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => AppError::NotFound("record"),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    AppError::Conflict("that would duplicate an existing record".into())
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    AppError::invalid("reference", "refers to something that does not exist")
                }
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    AppError::invalid(
                        info.column_name().unwrap_or("input"),
                        format!(
                            "value breaks a rule ({})",
                            info.constraint_name().unwrap_or("check")
                        ),
                    )
                }
                DatabaseErrorKind::ClosedConnection => AppError::Unavailable(e.into()),
                _ if is_unavailable_message(info.message()) => AppError::Unavailable(e.into()),
                // Every parser refuses these first; this is the net under a field one missed.
                _ if is_unstorable_message(info.message()) => AppError::invalid(
                    "input",
                    "holds something that cannot be stored: a NUL character, or a date or number out of range",
                ),
                _ => AppError::Internal(e.into()),
            },
            DieselError::BrokenTransactionManager => AppError::Unavailable(e.into()),
            _ => AppError::Internal(e.into()),
        }
    }
}

/// Statement timeouts, shutdowns and lost connections mean "try again", not "bug".
fn is_unavailable_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("statement timeout")
        || m.contains("canceling statement")
        || m.contains("connection closed")
        || m.contains("terminating connection")
        || m.contains("shutting down")
        || m.contains("the database system is")
}

/// A value Postgres cannot hold: NUL in text (or bytes that are not UTF-8), a date, time or
/// number out of its range. The request was wrong, not the service.
fn is_unstorable_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("invalid byte sequence")
        || m.contains("character not in repertoire")
        || m.contains("out of range")
        || m.contains("field value out of range")
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::Unavailable(anyhow::anyhow!("database pool: {e}"))
    }
}

impl crate::db::replica::ReadFailure for AppError {
    fn on_replica(&self) -> crate::db::replica::OnReplica {
        use crate::db::replica::OnReplica;
        match self {
            AppError::NotFound(_) => OnReplica::AskPrimary,
            AppError::Unavailable(_) | AppError::Internal(_) => OnReplica::Distrust,
            _ => OnReplica::Answer,
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_the_database_cannot_store_are_the_requests_fault() {
        for message in [
            "invalid byte sequence for encoding \"UTF8\": 0x00",
            "date out of range: \"-200000-01-01\"",
            "timestamp out of range",
            "value \"99999999999\" is out of range for type integer",
        ] {
            assert!(is_unstorable_message(message), "{message}");
        }
        assert!(!is_unstorable_message("deadlock detected"));
        assert!(!is_unstorable_message("relation \"x\" does not exist"));
    }
}
