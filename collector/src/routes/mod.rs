//! The collector's HTTP routes; each submodule has a `*_filter()` and its handler.
//!
//! # Layout
//! - [`collect`] — `POST /v1/collect`, the native batch.
//! - [`rrweb`] — `POST /v1/rrweb/{site}/{session}`, rrweb recorder events.
//! - [`tracker`] — `GET /t.js`.
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

use crate::admission::Refusal;
use crate::body::{RawBody, raw_body};
use crate::metrics::RefusalReason;
use crate::state::Collector;
use crate::wal::WalError;

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
        Some(value) if !collector.admission.allows_origin(site, value) => rejected(
            StatusCode::FORBIDDEN,
            &format!("origin {value} may not send data here"),
        ),
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

/// A JSON error, logged with its reason (never the payload).
pub fn rejected(status: StatusCode, message: &str) -> Response {
    tracing::info!(status = status.as_u16(), reason = %message, "rejected batch");
    heatpipe_io::http::json_error(status, message)
}

/// The JSON error of an admission refusal (429 also says when to retry).
pub fn refused(refusal: &Refusal) -> Response {
    let mut response = rejected(refusal.status, &refusal.message);
    if refusal.status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    response
}

/// The answer to a batch the log could not make durable (nothing of it is acknowledged): `507`
/// when the log's disk is full, `503` when too much waits for the store or a write failed, each
/// with `Retry-After` and counted under its own reason.
pub fn not_durable(err: &WalError) -> Response {
    let (status, reason, retry_after_s) = match err {
        WalError::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, "log_full", "5"),
        WalError::NoSpace(_) => (StatusCode::INSUFFICIENT_STORAGE, "disk_full", "10"),
        WalError::Io(_) | WalError::Closed => {
            (StatusCode::SERVICE_UNAVAILABLE, "log_write_failed", "5")
        }
        WalError::Encode(_) => (StatusCode::INTERNAL_SERVER_ERROR, "other", "5"),
    };
    let mut response = rejected(status, &err.to_string());
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static(retry_after_s));
    response.extensions_mut().insert(RefusalReason(reason));
    response
}
