//! Pages, scroll depth, sessions and timelines: the JSON endpoints.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::agg::PageSummary;
use heatpipe_core::keys::parse_date;
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::{checked_site, json_or_error, page_segment, with_renderer};
use crate::auth::Scope;
use heatpipe_io::on_blocking;

use crate::analytics::funnel::Funnel;
use crate::data;
use crate::error::{RenderError, RenderResult};
use crate::query::{RangeQuery, parse_device, parse_frustration, parse_segment, resolve_page};
use crate::scroll_map::{ScrollDepthReport, scroll_depth_report};
use crate::sessions::{SessionFilter, SessionRow, find_session, newest_sessions};
use crate::state::Renderer;
use crate::timeline::{Timeline, build_timeline};

/// Matches `GET /api/sites/{site}/pages?from&to`.
pub fn pages_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "pages")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<RangeQuery>())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, range: RangeQuery, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(pages(&site, &range, &renderer).await))
            },
        )
}

async fn pages(
    site: &str,
    range: &RangeQuery,
    renderer: &Renderer,
) -> RenderResult<Vec<PageSummary>> {
    checked_site(site)?;
    let mut pages = data::load_index(&renderer.store, site, &range.days()?)
        .await?
        .pages;
    pages.sort_by(|a, b| b.views.cmp(&a.views).then_with(|| a.url.cmp(&b.url)));
    Ok(pages)
}

#[derive(Debug, Deserialize)]
pub struct ScrollDepthQuery {
    pub page: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub device: Option<String>,
    /// `variant:B,visitor:returning`: only those segments.
    pub segment: Option<String>,
}

/// The `scroll-depth` answer: the page and its curves.
#[derive(Debug, Serialize)]
pub struct ScrollDepthAnswer {
    pub url: String,
    pub key: String,
    #[serde(flatten)]
    pub report: ScrollDepthReport,
}

/// Matches `GET /api/sites/{site}/scroll-depth?page&from&to&device&segment`.
pub fn scroll_depth_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "scroll-depth")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<ScrollDepthQuery>())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, query: ScrollDepthQuery, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(scroll_depth(&site, &query, &renderer).await))
            },
        )
}

async fn scroll_depth(
    site: &str,
    query: &ScrollDepthQuery,
    renderer: &Renderer,
) -> RenderResult<ScrollDepthAnswer> {
    let range = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    };
    let (page, segment) = page_segment(
        renderer,
        site,
        range,
        query.page.as_deref(),
        query.device.as_deref(),
        query.segment.as_deref(),
    )
    .await?;
    Ok(ScrollDepthAnswer {
        url: page.url,
        key: page.key,
        report: scroll_depth_report(&segment),
    })
}

#[derive(Debug, Deserialize)]
pub struct SessionsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    /// Shortest session listed, in seconds.
    pub min_duration: Option<u64>,
    /// Longest session listed, in seconds.
    pub max_duration: Option<u64>,
    pub device: Option<String>,
    /// `rage`, `dead`, `excessive_scroll`, `quick_back` or `any`: sessions with that signal.
    pub frustration: Option<String>,
    /// `variant:B`: sessions whose first page view carried that tag.
    pub tag: Option<String>,
    pub limit: Option<usize>,
    /// With `dropped_after=k`: the funnel's steps, as `funnel?steps=` takes them.
    pub funnel: Option<String>,
    /// The funnel's time limit, as `funnel?within=` takes it.
    pub within: Option<String>,
    /// Sessions that reached step `k` of `funnel` but not the next (the last step: converted).
    pub dropped_after: Option<usize>,
}

/// Matches `GET /api/sites/{site}/sessions?from&to&page&min_duration&max_duration&device
/// &frustration&tag&limit&funnel&within&dropped_after`.
pub fn sessions_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "sessions")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<SessionsQuery>())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, query: SessionsQuery, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(sessions(&site, &query, &renderer).await))
            },
        )
}

async fn sessions(
    site: &str,
    query: &SessionsQuery,
    renderer: &Renderer,
) -> RenderResult<Vec<SessionRow>> {
    checked_site(site)?;
    let days = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    }
    .days()?;
    let page_key = query
        .page
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| resolve_page(Some(p)))
        .transpose()?;
    let filter = SessionFilter {
        page_key,
        device: parse_device(query.device.as_deref())?,
        frustration: parse_frustration(query.frustration.as_deref())?,
        tags: parse_segment(query.tag.as_deref())?,
        duration_ms: query.min_duration.unwrap_or(0).saturating_mul(1000)
            ..=query
                .max_duration
                .map_or(u64::MAX, |s| s.saturating_mul(1000)),
        funnel: funnel_drop_off(query)?,
    };
    let limit = query
        .limit
        .unwrap_or(renderer.config.max_sessions_listed)
        .min(renderer.config.max_sessions_listed);
    let indexes =
        data::load_session_indexes(&renderer.store, &renderer.session_indexes, site, &days).await?;
    // A day read one session at a time takes seconds of CPU: off the async workers.
    Ok(on_blocking(move || newest_sessions(&indexes, &filter, limit)).await?)
}

/// The funnel filter of a session list: `funnel` and `dropped_after` together, or neither.
fn funnel_drop_off(query: &SessionsQuery) -> RenderResult<Option<(Arc<Funnel>, usize)>> {
    let (steps, step) = match (query.funnel.as_deref(), query.dropped_after) {
        (None | Some(""), None) => return Ok(None),
        (Some(steps), Some(step)) if !steps.is_empty() => (steps, step),
        _ => {
            return Err(RenderError::BadRequest(
                "funnel and dropped_after go together: the funnel's steps and a step number".into(),
            ));
        }
    };
    let funnel = Funnel::parse(Some(steps), query.within.as_deref())?;
    if !(1..=funnel.steps.len()).contains(&step) {
        return Err(RenderError::BadRequest(format!(
            "dropped_after must be a step of the funnel, 1 to {}, not {step}",
            funnel.steps.len()
        )));
    }
    Ok(Some((Arc::new(funnel), step)))
}

#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    /// The session's day, if known (as listed by `sessions`); otherwise the range is searched.
    pub date: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Matches `GET /api/sites/{site}/sessions/{session}/timeline?date`.
pub fn timeline_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "sessions" / String / "timeline")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<TimelineQuery>())
        .and(with_renderer(renderer))
        .and_then(|site: String, session: String, query: TimelineQuery, renderer: Arc<Renderer>| async move {
            Ok::<_, Infallible>(json_or_error(timeline(&site, &session, &query, &renderer).await))
        })
}

/// Answers a timeline request.
pub async fn timeline(
    site: &str,
    session: &str,
    query: &TimelineQuery,
    renderer: &Renderer,
) -> RenderResult<Timeline> {
    checked_site(site)?;
    let days = match &query.date {
        Some(date) => {
            vec![parse_date(date).map_err(|err| RenderError::BadRequest(format!("date: {err}")))?]
        }
        None => RangeQuery {
            from: query.from.clone(),
            to: query.to.clone(),
        }
        .days()?,
    };
    let indexes =
        data::load_session_indexes(&renderer.store, &renderer.session_indexes, site, &days).await?;
    let wanted = session.to_owned();
    let (date, summary, blocks) = on_blocking(move || find_session(&indexes, &wanted))
        .await?
        .ok_or_else(|| {
            RenderError::NotFound(format!(
                "no session {session:?} of site {site} from {} to {}",
                days[0],
                days[days.len() - 1]
            ))
        })?;
    build_timeline(&renderer.store, date, summary, blocks).await
}
