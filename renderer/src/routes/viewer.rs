//! The web viewer's assets, built into the binary: `/`, `/viewer.js`, `/player.js`, `/viewer.css`.

use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const VIEWER_JS: &str = include_str!("../../assets/viewer.js");
const PLAYER_JS: &str = include_str!("../../assets/player.js");
const VIEWER_CSS: &str = include_str!("../../assets/viewer.css");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

/// Matches the viewer's assets.
pub fn viewer_filter() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let index = warp::path::end().map(|| asset(INDEX_HTML, "text/html; charset=utf-8"));
    let js =
        warp::path!("viewer.js").map(|| asset(VIEWER_JS, "application/javascript; charset=utf-8"));
    let player =
        warp::path!("player.js").map(|| asset(PLAYER_JS, "application/javascript; charset=utf-8"));
    let css = warp::path!("viewer.css").map(|| asset(VIEWER_CSS, "text/css; charset=utf-8"));
    warp::get().and(index.or(js).unify().or(player).unify().or(css).unify())
}
