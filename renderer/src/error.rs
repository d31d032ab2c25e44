//! The renderer's error type and the one place that decides each error's HTTP status, the
//! authentication and share-link refusals included.

use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::{StoreError, StoreErrorKind};
use warp::http::StatusCode;

/// Why a read request failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one that is unknown or revoked: 401 with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token whose scope does not allow the request, or a share link whose signature
    /// does not match or has expired.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request would replace something that exists (a token of that name).
    #[error("{0}")]
    Conflict(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] FormatError),
    #[error("cannot encode image: {0}")]
    Image(String),
    #[error(transparent)]
    Worker(#[from] TaskFailed),
    /// The request needs a part this read side was started without (erasure).
    #[error("{0}")]
    Unsupported(String),
    /// Something that should not fail did: no randomness, a record that cannot be encoded.
    #[error("{0}")]
    Internal(String),
}

pub type RenderResult<T> = Result<T, RenderError>;

impl RenderError {
    /// Returns the HTTP status of this error. No catch-all arm: a new variant must choose one.
    pub fn status(&self) -> StatusCode {
        match self {
            RenderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RenderError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RenderError::Forbidden(_) => StatusCode::FORBIDDEN,
            RenderError::NotFound(_) => StatusCode::NOT_FOUND,
            RenderError::Conflict(_) => StatusCode::CONFLICT,
            RenderError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            RenderError::Store(err) => match err.kind {
                StoreErrorKind::NotFound => StatusCode::NOT_FOUND,
                StoreErrorKind::InvalidKey => StatusCode::BAD_REQUEST,
                StoreErrorKind::Unauthorized
                | StoreErrorKind::Timeout
                | StoreErrorKind::Unavailable
                | StoreErrorKind::Io => StatusCode::SERVICE_UNAVAILABLE,
            },
            RenderError::Corrupt(_)
            | RenderError::Image(_)
            | RenderError::Worker(_)
            | RenderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_have_their_own_statuses() {
        for (err, status) in [
            (RenderError::Unauthorized("no token".into()), 401),
            (RenderError::Forbidden("scope".into()), 403),
            (RenderError::Conflict("taken".into()), 409),
            (RenderError::Internal("no randomness".into()), 500),
            (RenderError::BadRequest("x".into()), 400),
        ] {
            assert_eq!(err.status().as_u16(), status, "{err}");
        }
    }
}
