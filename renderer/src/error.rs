//! The renderer's error type and the one place that decides each error's HTTP status.

use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::{StoreError, StoreErrorKind};
use warp::http::StatusCode;

/// Why a read request failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(#[from] FormatError),
    #[error("cannot encode image: {0}")]
    Image(String),
    #[error(transparent)]
    Worker(#[from] TaskFailed),
}

pub type RenderResult<T> = Result<T, RenderError>;

impl RenderError {
    /// Returns the HTTP status of this error. No catch-all arm: a new variant must choose one.
    pub fn status(&self) -> StatusCode {
        match self {
            RenderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RenderError::NotFound(_) => StatusCode::NOT_FOUND,
            RenderError::Store(err) => match err.kind {
                StoreErrorKind::NotFound => StatusCode::NOT_FOUND,
                StoreErrorKind::InvalidKey => StatusCode::BAD_REQUEST,
                StoreErrorKind::Unauthorized
                | StoreErrorKind::Timeout
                | StoreErrorKind::Unavailable
                | StoreErrorKind::Io => StatusCode::SERVICE_UNAVAILABLE,
            },
            RenderError::Corrupt(_) | RenderError::Image(_) | RenderError::Worker(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}
