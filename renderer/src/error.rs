//! The renderer's error type and the one place that decides each error's HTTP status.

use heatpipe_core::chunk::FormatError;
use heatpipe_core::store::{StoreError, StoreErrorKind};
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
    #[error("worker failed: {0}")]
    Worker(String),
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

/// Runs `work` on tokio's blocking pool: for work that may take seconds (reading a large day's
/// session index), which on the rayon pool would hold up rendering.
pub async fn on_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> RenderResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| RenderError::Worker(err.to_string()))
}

/// Runs `work` on the rayon pool and waits for it without blocking the async runtime.
pub async fn on_rayon<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> RenderResult<T> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .await
        .map_err(|_| RenderError::Worker("rendering worker stopped".into()))
}
