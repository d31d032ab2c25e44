//! The web viewer's assets, built into the binary: `/`, `/viewer.js`, `/player.js`,
//! `/dom_player.js`, `/analytics.js`, `/viewer.css`, and from npm (see `heatpipe-web`) uPlot
//! (`/assets/charts.js`, `/assets/charts.css`) and rrweb's replayer (`/assets/replay.js`,
//! `/assets/replay.css`). They hold no data, so they need no token; every data call the viewer
//! makes does.

use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const VIEWER_JS: &str = include_str!("../../assets/viewer.js");
const PLAYER_JS: &str = include_str!("../../assets/player.js");
const DOM_PLAYER_JS: &str = include_str!("../../assets/dom_player.js");
const VIEWER_CSS: &str = include_str!("../../assets/viewer.css");
const ANALYTICS_JS: &str = include_str!("../../assets/analytics.js");

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    // A shared view's address holds its signature: the framed page must not see it.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// Returns the viewer's page, which also opens share links (`/share/…`).
pub fn index_response() -> Response {
    asset(INDEX_HTML.as_bytes(), "text/html; charset=utf-8")
}

/// Matches the viewer's assets.
pub fn viewer_filter() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    // The path before the method: a POST to another listener's path is 404 here, not 405.
    let index = warp::path::end().and(warp::get()).map(index_response);
    let js = warp::path!("viewer.js").and(warp::get()).map(|| {
        asset(
            VIEWER_JS.as_bytes(),
            "application/javascript; charset=utf-8",
        )
    });
    let player = warp::path!("player.js").and(warp::get()).map(|| {
        asset(
            PLAYER_JS.as_bytes(),
            "application/javascript; charset=utf-8",
        )
    });
    let dom_player = warp::path!("dom_player.js").and(warp::get()).map(|| {
        asset(
            DOM_PLAYER_JS.as_bytes(),
            "application/javascript; charset=utf-8",
        )
    });
    let css = warp::path!("viewer.css")
        .and(warp::get())
        .map(|| asset(VIEWER_CSS.as_bytes(), "text/css; charset=utf-8"));
    let analytics = warp::path!("analytics.js").and(warp::get()).map(|| {
        asset(
            ANALYTICS_JS.as_bytes(),
            "application/javascript; charset=utf-8",
        )
    });
    let charts = warp::path!("assets" / "charts.js")
        .and(warp::get())
        .map(|| {
            asset(
                heatpipe_web::CHARTS_JS,
                "application/javascript; charset=utf-8",
            )
        });
    let charts_css = warp::path!("assets" / "charts.css")
        .and(warp::get())
        .map(|| asset(heatpipe_web::CHARTS_CSS, "text/css; charset=utf-8"));
    let replay = warp::path!("assets" / "replay.js")
        .and(warp::get())
        .map(|| {
            asset(
                heatpipe_web::REPLAY_JS,
                "application/javascript; charset=utf-8",
            )
        });
    let replay_css = warp::path!("assets" / "replay.css")
        .and(warp::get())
        .map(|| asset(heatpipe_web::REPLAY_CSS, "text/css; charset=utf-8"));
    index
        .or(js)
        .unify()
        .or(player)
        .unify()
        .or(dom_player)
        .unify()
        .or(css)
        .unify()
        .or(analytics)
        .unify()
        .or(charts)
        .unify()
        .or(charts_css)
        .unify()
        .or(replay)
        .unify()
        .or(replay_css)
        .unify()
}
