//! `POST /v1/rrweb/{site}/{session}`: a JSON array of rrweb recorder events.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::keys::validate_site;
use heatpipe_core::wire::validate_session_id;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{accepted, rejected, unavailable, with_cors};
use crate::Collector;
use crate::body::{RawBody, raw_body};
use crate::rrweb::RrwebEvent;

/// Matches `POST /v1/rrweb/{site}/{session}` (and its CORS preflight).
pub fn rrweb_filter(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let preflight = warp::path!("v1" / "rrweb" / String / String)
        .and(warp::options())
        .map(|_, _| with_cors(warp::reply::Response::default()));
    let post = warp::path!("v1" / "rrweb" / String / String)
        .and(warp::post())
        .and(raw_body(collector.config.max_body_bytes))
        .and(warp::any().map(move || collector.clone()))
        .and_then(handle_rrweb);
    preflight.or(post).unify()
}

async fn handle_rrweb(
    site: String,
    session: String,
    body: RawBody,
    collector: Arc<Collector>,
) -> Result<Response, Infallible> {
    if let Err(err) = validate_site(&site) {
        return Ok(rejected(StatusCode::BAD_REQUEST, &err.to_string()));
    }
    if let Err(err) = validate_session_id(&session) {
        return Ok(rejected(StatusCode::BAD_REQUEST, &err.0));
    }
    let body = match body.decode(collector.config.max_decompressed_bytes) {
        Ok(body) => body,
        Err(err) => return Ok(rejected(err.status, &err.message)),
    };
    let events: Vec<RrwebEvent> = match serde_json::from_slice(&body) {
        Ok(events) => events,
        Err(err) => {
            return Ok(rejected(
                StatusCode::BAD_REQUEST,
                &format!(
                    "body must be a JSON array of rrweb events ({{type, data, timestamp}}): {err}"
                ),
            ));
        }
    };
    let streams = match collector.convert_rrweb(&site, &session, &events) {
        Ok(streams) => streams,
        Err(err) => return Ok(rejected(StatusCode::BAD_REQUEST, &err.0)),
    };
    let num_events = streams.iter().map(|s| s.num_events()).sum();
    let num_streams = streams.len();
    if let Err(err) = collector.accept(&site, streams).await {
        return Ok(unavailable(&err));
    }
    Ok(accepted(num_events, num_streams))
}
