//! The collector's HTTP routes; each submodule has a `*_filter()` and its handler.
//!
//! # Layout
//! - [`collect`] — `POST /v1/collect`, the native batch.
//! - [`rrweb`] — `POST /v1/rrweb/{site}/{session}`, rrweb recorder events.
//! - [`tracker`] — `GET /t.js` and `GET /t-replay.js`.
//! - [`metrics`] — `GET /metrics`.
//!
//! The helpers here are what the batch routes share: extracting a request, CORS, and the JSON
//! answers.

pub mod collect;
pub mod metrics;
pub mod rrweb;
pub mod tracker;

use std::net::IpAddr;

use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::body::{RawBody, raw_body};
use crate::error::IngestError;
use crate::metrics::RefusalReason;
use crate::state::Collector;

/// Everything a batch request carries besides its path.
#[derive(Debug)]
pub struct IngestRequest {
    pub origin: Option<String>,
    /// Used only to key the in-memory rate limiter.
    pub client: Option<IpAddr>,
    pub body: RawBody,
}

/// Extracts an [`IngestRequest`] whose body is at most `max_body_bytes` as sent.
pub fn ingest_request(
    max_body_bytes: u64,
) -> impl Filter<Extract = (IngestRequest,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("origin")
        .and(warp::addr::remote())
        .and(raw_body(max_body_bytes))
        .map(
            |origin, remote: Option<std::net::SocketAddr>, body| IngestRequest {
                origin,
                client: remote.map(|a| a.ip()),
                body,
            },
        )
}

/// Finishes a batch request's answer: counts it in the metrics and adds CORS headers for
/// `origin` when it may send for `site`.
pub fn answered(
    response: Response,
    num_events: usize,
    collector: &Collector,
    site: Option<&str>,
    origin: Option<&str>,
) -> Response {
    let reason = response.extensions().get::<RefusalReason>().copied();
    collector
        .metrics
        .record_answer(response.status(), reason, num_events);
    with_cors(response, collector, site, origin)
}

/// Adds CORS headers when `origin` may send for `site` (any site when `None`).
pub fn with_cors(
    mut response: Response,
    collector: &Collector,
    site: Option<&str>,
    origin: Option<&str>,
) -> Response {
    let allow = match origin {
        Some(origin) if collector.admission.allows_origin(site, origin) => {
            HeaderValue::from_str(origin).ok()
        }
        Some(_) => None,
        None => Some(HeaderValue::from_static("*")),
    };
    if let Some(allow) = allow {
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", allow);
        headers.insert("vary", HeaderValue::from_static("origin"));
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, OPTIONS"),
        );
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("content-type, content-encoding"),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    }
    response
}

/// Answers a CORS preflight: 204 for an allowed origin, 403 otherwise.
pub fn preflight(collector: &Collector, site: Option<&str>, origin: Option<&str>) -> Response {
    match origin {
        Some(value) if !collector.admission.allows_origin(site, value) => {
            IngestError::OriginNotAllowed(format!("origin {value} may not send data here"))
                .to_response()
        }
        _ => with_cors(
            warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response(),
            collector,
            site,
            origin,
        ),
    }
}

/// The answer to an accepted batch.
pub fn accepted(
    num_events: usize,
    num_streams: usize,
    sampled_in: bool,
    warnings: &[String],
) -> Response {
    let mut body = serde_json::json!({ "ok": true, "events": num_events, "streams": num_streams });
    if !sampled_in {
        body["sampled_out"] = serde_json::Value::Bool(true);
    }
    if !warnings.is_empty() {
        body["warnings"] = serde_json::json!(warnings);
    }
    warp::reply::with_status(warp::reply::json(&body), StatusCode::OK).into_response()
}
