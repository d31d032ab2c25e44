//! heatpipe-renderer: the read side. It serves the page list, heatmap PNG overlays and scroll
//! maps, scroll-depth curves, session lists and replay timelines from the processor's outputs,
//! and the web viewer on top, to holders of an API token or of a signed share link.
//!
//! # Layout
//! - [`config`] — `RendererConfig`.
//! - [`analytics`] — the dashboard, funnels and page paths over the session indexes.
//! - [`auth`] — API tokens, their cached list, and signed share links.
//! - [`state`] — `Renderer`, the state every request shares.
//! - [`png_cache`] — rendered PNGs kept by ETag.
//! - [`error`] — `RenderError` and its HTTP status.
//! - [`erasure`] — the `Eraser` a server installs for the erasure routes.
//! - [`query`] — date ranges, page and device parameters.
//! - [`data`] — loading and merging stored aggregates and indexes over a range.
//! - [`density`] — kernel density over grid cells, painted into palette indexes.
//! - [`png`] — heatmap palettes and normalization, palette PNG encoding.
//! - [`compare`] — diverging difference maps of two segments or date ranges.
//! - [`significance`] — the tests that decide which differences a difference map draws.
//! - [`composite`] — overlays blended over stored page screenshots.
//! - [`render`] — one page's heatmap image, for the endpoint and the batch command.
//! - [`band_map`] — the band drawing scroll and attention maps share.
//! - [`scroll_map`] — scroll maps and the scroll-depth report.
//! - [`attention_map`] — attention maps: seconds in view per page view, by band of rows.
//! - [`sessions`] — the filtered session list and one session's lookup, day by day.
//! - [`snapshot`] — full-page screenshots with headless Chromium, for composites.
//! - [`timeline`] — replay timelines from ranged reads of session blocks.
//! - [`recording`] — DOM recordings from ranged reads of the replay lane.
//! - [`routes`] — the HTTP routes and the viewer.
//!
//! This file wires them: [`routes()`] is every renderer route, [`serve`] runs them alone.

pub mod analytics;
pub mod attention_map;
pub mod auth;
pub mod band_map;
pub mod compare;
pub mod composite;
pub mod config;
pub mod data;
pub mod density;
pub mod erasure;
pub mod error;
pub mod png;
pub mod png_cache;
pub mod query;
pub mod recording;
pub mod render;
pub mod routes;
pub mod scroll_map;
pub mod sessions;
pub mod significance;
pub mod snapshot;
pub mod state;
pub mod timeline;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use warp::Filter;
use warp::reply::Response;

pub use config::RendererConfig;
pub use state::Renderer;

/// All renderer routes: the read API (a token), share links (a signature) and the viewer
/// (nothing). Serve them with [`routes::auth::recover`], which answers refused requests.
pub fn routes(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    use routes::{analytics, elements, erasure, heatmap, listing, share, tokens, viewer};
    heatmap::heatmap_filter(renderer.clone())
        .or(analytics::dashboard_filter(renderer.clone()))
        .unify()
        .or(analytics::funnel_filter(renderer.clone()))
        .unify()
        .or(analytics::paths_filter(renderer.clone()))
        .unify()
        .or(listing::pages_filter(renderer.clone()))
        .unify()
        .or(elements::elements_filter(renderer.clone()))
        .unify()
        .or(listing::scroll_depth_filter(renderer.clone()))
        .unify()
        .or(listing::sessions_filter(renderer.clone()))
        .unify()
        .or(listing::timeline_filter(renderer.clone()))
        .unify()
        .or(routes::recording::recording_filter(renderer.clone()))
        .unify()
        .or(share::share_filter(renderer.clone()))
        .unify()
        .or(tokens::tokens_filter(renderer.clone()))
        .unify()
        .or(erasure::forget_session_filter(renderer.clone()))
        .unify()
        .or(erasure::forget_visitor_filter(renderer.clone()))
        .unify()
        .or(share::shared_filter(renderer))
        .unify()
        .or(viewer::viewer_filter())
        .unify()
}

/// Serves the renderer alone on `listener` until `shutdown` resolves. With no token created,
/// it answers only if `listener` is on loopback; it reloads the token list as configured.
pub async fn serve(
    renderer: Arc<Renderer>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let on_loopback = listener
        .local_addr()
        .is_ok_and(|address| address.ip().is_loopback());
    renderer.tokens.set_open_without_tokens(on_loopback);
    let refresh = tokio::spawn(renderer.clone().refresh_auth());
    let health = heatpipe_io::http::healthz_filter();
    let filter = routes(renderer).or(health).recover(routes::auth::recover);
    warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    refresh.abort();
}
