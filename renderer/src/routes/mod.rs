//! The read API's routes. Each handler answers with a response, turning its [`RenderError`]
//! into a JSON error through [`error_response`]. Every `/api/` route needs a token (see
//! [`auth`]); `/share/` routes need a signed link instead; the viewer's files need nothing.
//!
//! # Layout
//! - [`auth`] — the token check as a filter, and the `recover` of read-side servers.
//! - [`analytics`] — the dashboard, funnels and page paths.
//! - [`heatmap`] — `GET /api/sites/{site}/heatmap.png`.
//! - [`elements`] — a page's most clicked elements.
//! - [`erasure`] — `DELETE` of a session or a visitor, for admin tokens.
//! - [`listing`] — pages, scroll depth, sessions and timelines.
//! - [`recording`] — a session's DOM recording, for the player.
//! - [`share`] — making share links, and the `/share/` routes that open them.
//! - [`tokens`] — `GET /api/tokens`, the token list, for admin tokens.
//! - [`viewer`] — the web viewer's built-in assets at `/`.

pub mod analytics;
pub mod auth;
pub mod elements;
pub mod erasure;
pub mod heatmap;
pub mod listing;
pub mod recording;
pub mod share;
pub mod tokens;
pub mod viewer;

use std::sync::Arc;

use chrono::NaiveDate;
use heatpipe_core::agg::{PageAgg, SegmentAgg};
use heatpipe_core::keys::validate_site;
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::data;
use crate::error::{RenderError, RenderResult};
use crate::query::{RangeQuery, parse_device, parse_segment, resolve_page};
use crate::render::{HeatmapKind, HeatmapRequest};
use crate::state::Renderer;

/// Returns the JSON error response of `err`; a 401 also says, in `WWW-Authenticate`, that a
/// bearer token is expected.
pub fn error_response(err: &RenderError) -> Response {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, "read request failed");
    }
    let mut response = heatpipe_io::http::json_error(status, &err.to_string());
    if status == warp::http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            warp::http::HeaderValue::from_static("Bearer realm=\"heatpipe\""),
        );
    }
    response
}

/// Returns `value` as JSON, or the error as a JSON error.
pub fn json_or_error<T: Serialize>(result: RenderResult<T>) -> Response {
    match result {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(err) => error_response(&err),
    }
}

/// Checks a site name from the path.
pub fn checked_site(site: &str) -> RenderResult<()> {
    validate_site(site).map_err(|err| RenderError::BadRequest(err.to_string()))
}

/// Passes the renderer to a handler.
pub fn with_renderer(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Arc<Renderer>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || renderer.clone())
}

/// Loads page `key` over `days`, or says there is none.
pub async fn required_page(
    renderer: &Renderer,
    site: &str,
    days: &[NaiveDate],
    key: &str,
) -> RenderResult<data::PageOverRange> {
    data::load_page(&renderer.store, site, days, key)
        .await?
        .ok_or_else(|| {
            RenderError::NotFound(format!(
                "no data for page {key} of site {site} from {} to {}",
                days[0],
                days[days.len() - 1]
            ))
        })
}

/// Loads the page named by `page` over `range` and sums the segments `device` and `segment`
/// pick: the common start of the per-page JSON endpoints.
pub async fn page_segment(
    renderer: &Renderer,
    site: &str,
    range: RangeQuery,
    page: Option<&str>,
    device: Option<&str>,
    segment: Option<&str>,
) -> RenderResult<(PageAgg, SegmentAgg)> {
    checked_site(site)?;
    let days = range.days()?;
    let key = resolve_page(page)?;
    let request = HeatmapRequest {
        device: parse_device(device)?,
        segment: parse_segment(segment)?,
        ..HeatmapRequest::new(HeatmapKind::Click)
    };
    let page = required_page(renderer, site, &days, &key).await?;
    // Adding up a page's segments walks every grid cell: off the async runtime.
    let summed = heatpipe_io::on_rayon(move || {
        let segment = request.segment_of(&page.agg);
        (page.agg, segment)
    })
    .await?;
    Ok(summed)
}
