//! `GET /metrics`: the collector's counters in the Prometheus text format.

use std::sync::Arc;

use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::state::Collector;

/// Matches `GET /metrics`: the Prometheus text format.
pub fn metrics_filter(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("metrics").and(warp::get()).map(move || {
        let mut response = collector
            .metrics
            .render(collector.wal.pending_bytes())
            .into_response();
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    })
}
