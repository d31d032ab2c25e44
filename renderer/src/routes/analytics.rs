//! The dashboard, funnel and paths endpoints: figures over the session indexes of a range,
//! computed off the async runtime (see [`crate::analytics`]).

use std::convert::Infallible;
use std::sync::Arc;

use chrono::NaiveDate;
use heatpipe_core::event::DeviceClass;
use heatpipe_io::on_blocking;
use serde::Deserialize;
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::{checked_site, json_or_error, with_renderer};
use crate::analytics::dashboard::{Dashboard, DashboardTally};
use crate::analytics::for_each_session;
use crate::analytics::funnel::{Funnel, FunnelReport, FunnelTally};
use crate::analytics::links::SessionsLink;
use crate::analytics::paths::{Direction, PathsReport, PathsTally, parse_depth};
use crate::auth::Scope;
use crate::data::{self, DaySessions};
use crate::error::RenderResult;
use crate::query::{RangeQuery, parse_device, parse_segment, resolve_page};
use crate::sessions::SessionFilter;
use crate::state::Renderer;

/// Pages the dashboard lists when not told.
const DEFAULT_TOP_PAGES: usize = 20;
/// Pages the dashboard lists at most.
const MAX_TOP_PAGES: usize = 500;
/// Paths listed when not told, and at most.
const DEFAULT_PATHS: usize = 20;
const MAX_PATHS: usize = 200;

/// The query every analytics endpoint takes, and each one's own parameters.
#[derive(Debug, Deserialize)]
pub struct AnalyticsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub device: Option<String>,
    /// `variant:B,visitor:returning`: sessions whose first page view carried those tags.
    pub segment: Option<String>,
    /// Dashboard: how many pages to list.
    pub pages: Option<usize>,
    /// Funnel: comma-separated steps; `within`: the time limit from the first step.
    pub steps: Option<String>,
    pub within: Option<String>,
    /// Paths: the page, `next` or `previous`, how many pages, how many paths.
    pub page: Option<String>,
    pub direction: Option<String>,
    pub depth: Option<usize>,
    pub limit: Option<usize>,
}

/// What every analytics request starts from: its days' session indexes, the filter of its
/// device and segment, and the session list link with them.
struct Scoped {
    days: Vec<NaiveDate>,
    indexes: Vec<(NaiveDate, DaySessions)>,
    filter: SessionFilter,
    link: SessionsLink,
}

async fn scoped(site: &str, query: &AnalyticsQuery, renderer: &Renderer) -> RenderResult<Scoped> {
    checked_site(site)?;
    let days = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    }
    .days()?;
    let device: Option<DeviceClass> = parse_device(query.device.as_deref())?;
    let tags = parse_segment(query.segment.as_deref())?;
    let link = SessionsLink::new(site, (days[0], days[days.len() - 1]), device, &tags);
    let filter = SessionFilter {
        device,
        tags,
        ..SessionFilter::everything()
    };
    let indexes =
        data::load_session_indexes(&renderer.store, &renderer.session_indexes, site, &days).await?;
    Ok(Scoped {
        days,
        indexes,
        filter,
        link,
    })
}

/// Matches `GET /api/sites/{site}/{name}` with the analytics query, answered by `answer`.
macro_rules! analytics_route {
    ($name:literal, $answer:ident, $renderer:expr) => {
        warp::path!("api" / "sites" / String / $name)
            .and(warp::get())
            .and(authorized($renderer.clone(), Scope::Read))
            .and(warp::query::<AnalyticsQuery>())
            .and(with_renderer($renderer))
            .and_then(
                |site: String, query: AnalyticsQuery, renderer: Arc<Renderer>| async move {
                    Ok::<_, Infallible>(json_or_error($answer(&site, &query, &renderer).await))
                },
            )
    };
}

/// Matches `GET /api/sites/{site}/dashboard?from&to&device&segment&pages`.
pub fn dashboard_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    analytics_route!("dashboard", dashboard, renderer)
}

/// Matches `GET /api/sites/{site}/funnel?steps&from&to&device&segment&within`.
pub fn funnel_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    analytics_route!("funnel", funnel, renderer)
}

/// Matches `GET /api/sites/{site}/paths?page&direction&depth&from&to&device&segment&limit`.
pub fn paths_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    analytics_route!("paths", paths, renderer)
}

async fn dashboard(
    site: &str,
    query: &AnalyticsQuery,
    renderer: &Renderer,
) -> RenderResult<Dashboard> {
    let top = query.pages.unwrap_or(DEFAULT_TOP_PAGES).min(MAX_TOP_PAGES);
    let scope = scoped(site, query, renderer).await?;
    Ok(on_blocking(move || {
        let mut tally = DashboardTally::new(&scope.days);
        for_each_session(&scope.indexes, &scope.filter, |date, s| tally.add(date, s));
        tally.finish(&scope.link, top)
    })
    .await?)
}

async fn funnel(
    site: &str,
    query: &AnalyticsQuery,
    renderer: &Renderer,
) -> RenderResult<FunnelReport> {
    let funnel = Funnel::parse(query.steps.as_deref(), query.within.as_deref())?;
    let scope = scoped(site, query, renderer).await?;
    let mut link = scope.link.with("funnel", funnel.steps.join(","));
    if let Some(within) = query.within.as_deref().filter(|w| !w.is_empty()) {
        link = link.with("within", within);
    }
    Ok(on_blocking(move || {
        let mut tally = FunnelTally::new(&funnel);
        for_each_session(&scope.indexes, &scope.filter, |_, s| {
            tally.add(&funnel.progress(s));
        });
        tally.finish(&funnel, |step| {
            link.with("dropped_after", step.to_string()).url()
        })
    })
    .await?)
}

async fn paths(
    site: &str,
    query: &AnalyticsQuery,
    renderer: &Renderer,
) -> RenderResult<PathsReport> {
    let key = resolve_page(query.page.as_deref())?;
    let direction = Direction::parse(query.direction.as_deref())?;
    let depth = parse_depth(query.depth)?;
    let limit = query.limit.unwrap_or(DEFAULT_PATHS).min(MAX_PATHS);
    let scope = scoped(site, query, renderer).await?;
    Ok(on_blocking(move || {
        let mut tally = PathsTally::new(&key, direction, depth);
        for_each_session(&scope.indexes, &scope.filter, |_, s| tally.add(s));
        tally.finish(limit)
    })
    .await?)
}
