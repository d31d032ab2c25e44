//! The read API's routes. Each handler answers with a response, turning its [`RenderError`]
//! into a JSON error through [`error_response`].
//!
//! # Layout
//! - [`heatmap`] — `GET /api/sites/{site}/heatmap.png`.
//! - [`elements`] — a page's most clicked elements.
//! - [`listing`] — pages, scroll depth, sessions and timelines.
//! - [`viewer`] — the web viewer's built-in assets at `/`.

pub mod elements;
pub mod heatmap;
pub mod listing;
pub mod viewer;

use std::sync::Arc;

use heatpipe_core::keys::validate_site;
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::Renderer;
use crate::error::{RenderError, RenderResult};

/// Returns the JSON error response of `err`.
pub fn error_response(err: &RenderError) -> Response {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "read request failed");
    }
    heatpipe_core::http::json_error(status, &err.to_string())
}

/// Returns `value` as JSON, or the error as a JSON error.
pub fn json_or_error<T: Serialize>(result: RenderResult<T>) -> Response {
    match result {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(err) => error_response(&err),
    }
}

/// Checks a site name from the path.
pub fn checked_site(site: &str) -> RenderResult<()> {
    validate_site(site).map_err(|err| RenderError::BadRequest(err.to_string()))
}

/// Passes the renderer to a handler.
pub fn with_renderer(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Arc<Renderer>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || renderer.clone())
}
