//! The collector's HTTP routes; each submodule has a `*_filter()` and its handler.
//!
//! # Layout
//! - [`collect`] — `POST /v1/collect`, the native batch.
//! - [`rrweb`] — `POST /v1/rrweb/{site}/{session}`, rrweb recorder events.
//! - [`tracker`] — `GET /t.js`.

pub mod collect;
pub mod rrweb;
pub mod tracker;

use warp::Reply;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

/// Adds the CORS headers that let any page post batches (sites restrict origins in config).
pub fn with_cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("content-type, content-encoding"),
    );
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

/// The answer to an accepted batch.
pub fn accepted(num_events: usize, num_streams: usize) -> Response {
    let body = serde_json::json!({ "ok": true, "events": num_events, "streams": num_streams });
    with_cors(warp::reply::with_status(warp::reply::json(&body), StatusCode::OK).into_response())
}

/// 503 with `Retry-After`: the batch could not be made durable, so it is not acknowledged.
pub fn unavailable(err: &crate::wal::WalError) -> Response {
    let mut response = rejected(StatusCode::SERVICE_UNAVAILABLE, &err.to_string());
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static("5"));
    response
}

/// A JSON error with CORS headers, logged with its reason (never the payload).
pub fn rejected(status: StatusCode, message: &str) -> Response {
    tracing::info!(status = status.as_u16(), reason = %message, "rejected batch");
    with_cors(heatpipe_core::http::json_error(status, message))
}
