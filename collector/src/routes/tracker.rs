//! `GET /t.js`: the tracker script, built into the binary.

use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

/// The tracker's source.
pub const TRACKER_JS: &str = include_str!("../../assets/t.js");

/// Matches `GET /t.js`.
pub fn tracker_filter() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("t.js").and(warp::get()).map(|| {
        let mut response = TRACKER_JS.into_response();
        let headers = response.headers_mut();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        );
        headers.insert(
            "cache-control",
            HeaderValue::from_static("public, max-age=300"),
        );
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        response
    })
}
