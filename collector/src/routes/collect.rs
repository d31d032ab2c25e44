//! `POST /v1/collect`: one native batch (JSON, optionally gzip or zstd encoded).

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::wire::NativeBatch;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{accepted, rejected, unavailable, with_cors};
use crate::Collector;
use crate::body::{RawBody, raw_body};

/// Matches `POST /v1/collect` (and its CORS preflight).
pub fn collect_filter(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let preflight = warp::path!("v1" / "collect")
        .and(warp::options())
        .map(|| with_cors(warp::reply::Response::default()));
    let post = warp::path!("v1" / "collect")
        .and(warp::post())
        .and(raw_body(collector.config.max_body_bytes))
        .and(warp::any().map(move || collector.clone()))
        .and_then(handle_collect);
    preflight.or(post).unify()
}

async fn handle_collect(body: RawBody, collector: Arc<Collector>) -> Result<Response, Infallible> {
    let body = match body.decode(collector.config.max_decompressed_bytes) {
        Ok(body) => body,
        Err(err) => return Ok(rejected(err.status, &err.message)),
    };
    let batch: NativeBatch = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => {
            return Ok(rejected(
                StatusCode::BAD_REQUEST,
                &format!("batch is not valid JSON of the native shape: {err}"),
            ));
        }
    };
    let (site, stream) = match batch.into_stream(&collector.limits) {
        Ok(converted) => converted,
        Err(err) => return Ok(rejected(StatusCode::BAD_REQUEST, &err.0)),
    };
    let num_events = stream.num_events();
    if let Err(err) = collector.accept(&site, vec![stream]).await {
        return Ok(unavailable(&err));
    }
    Ok(accepted(num_events, 1))
}
