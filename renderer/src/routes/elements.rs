//! `GET /api/sites/{site}/elements?page&from&to&device&segment&limit`: the most clicked elements
//! of a page, with their rage and dead clicks and where inside the element clicks landed, so the
//! viewer can list them and anchor clicks to elements whatever the layout width.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::agg::INSIDE_BINS;
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::{json_or_error, page_segment, with_renderer};
use crate::auth::Scope;
use crate::error::RenderResult;
use crate::query::RangeQuery;
use crate::state::Renderer;

/// Most elements one request lists.
const MAX_ELEMENTS_LISTED: usize = 256;

#[derive(Debug, Deserialize)]
pub struct ElementsQuery {
    pub page: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub device: Option<String>,
    pub segment: Option<String>,
    pub limit: Option<usize>,
}

/// One row of the answer.
#[derive(Debug, Serialize, PartialEq)]
pub struct ElementRow {
    pub selector: String,
    pub clicks: u64,
    /// `clicks` over all clicks on the page in the chosen segment.
    pub share: f64,
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    /// Where inside the element clicks landed: `inside_bins` × `inside_bins` counts, row-major
    /// from the top left (empty when unknown).
    pub inside: Vec<u32>,
    pub inside_bins: u32,
}

/// Matches `GET /api/sites/{site}/elements`.
pub fn elements_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "elements")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<ElementsQuery>())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, query: ElementsQuery, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(elements(&site, &query, &renderer).await))
            },
        )
}

async fn elements(
    site: &str,
    query: &ElementsQuery,
    renderer: &Renderer,
) -> RenderResult<Vec<ElementRow>> {
    let range = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    };
    let (_, segment) = page_segment(
        renderer,
        site,
        range,
        query.page.as_deref(),
        query.device.as_deref(),
        query.segment.as_deref(),
    )
    .await?;
    let total_clicks = segment.clicks.max(1) as f64;
    let mut rows: Vec<ElementRow> = segment
        .elements
        .into_iter()
        .map(|(selector, element)| ElementRow {
            selector,
            clicks: element.clicks,
            share: element.clicks as f64 / total_clicks,
            rage_clicks: element.rage_clicks,
            dead_clicks: element.dead_clicks,
            inside: element.inside,
            inside_bins: INSIDE_BINS,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.clicks
            .cmp(&a.clicks)
            .then_with(|| a.selector.cmp(&b.selector))
    });
    rows.truncate(query.limit.unwrap_or(50).min(MAX_ELEMENTS_LISTED));
    Ok(rows)
}
