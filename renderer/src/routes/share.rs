//! Share links. `POST /api/sites/{site}/share` (a read token) makes one for a heatmap or a
//! session; the `/share/{site}/…` routes open it without a token while its signature holds and
//! it has not expired (403 otherwise):
//!
//! - `GET /share/{site}/heatmap` — the viewer, showing only that heatmap;
//! - `GET /share/{site}/heatmap.png` — the PNG, as `heatmap.png` draws it;
//! - `GET /share/{site}/heatmap.json` — the page it is drawn over, for the viewer;
//! - `GET /share/{site}/session` — the viewer, replaying only that session;
//! - `GET /share/{site}/session/timeline` — its timeline, as `…/timeline` answers it;
//! - `GET /share/{site}/session/recording` — its DOM recording, as `…/recording` answers it.
//!
//! Each takes the link's query unchanged. A heatmap's range is fixed when the link is made (an
//! open range would show other days tomorrow) and its page is named by key.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use heatpipe_core::keys::parse_date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::heatmap::{HEATMAP_PARAMS, HeatmapQuery, checked_query, heatmap};
use super::listing::{TimelineQuery, timeline};
use super::recording::recording;
use super::viewer::index_response;
use super::{checked_site, error_response, json_or_error, page_segment, with_renderer};
use crate::auth::Scope;
use crate::auth::share::{MAX_SHARE_S, ShareKind, ShareLink};
use crate::data;
use crate::error::{RenderError, RenderResult};
use crate::query::RangeQuery;
use crate::sessions::find_session;
use crate::state::Renderer;
use heatpipe_io::on_blocking;

/// Largest share request body.
const MAX_SHARE_BODY_BYTES: u64 = 16 * 1024;
/// How long a link lasts when the request does not say: 7 days.
const DEFAULT_SHARE_S: u64 = 7 * 86_400;

/// What to share: `{"heatmap": {…heatmap.png's query…}}` or `{"session": ID, "date": D}`,
/// with `"expires_in_s"` (1 s to 30 days; default 7 days).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    pub heatmap: Option<serde_json::Map<String, Value>>,
    pub session: Option<String>,
    pub date: Option<String>,
    pub expires_in_s: Option<u64>,
}

/// A link made.
#[derive(Debug, Serialize)]
pub struct ShareAnswer {
    /// `share_base_url` followed by the link's path; the path alone when it is not set.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Matches `POST /api/sites/{site}/share`.
pub fn share_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "share")
        .and(warp::post())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::body::content_length_limit(MAX_SHARE_BODY_BYTES))
        .and(warp::body::json::<ShareRequest>())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, request: ShareRequest, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(
                    make_link(&site, request, &renderer, Utc::now()).await,
                ))
            },
        )
}

/// Makes the link `request` asks for, valid from `now`.
async fn make_link(
    site: &str,
    request: ShareRequest,
    renderer: &Renderer,
    now: DateTime<Utc>,
) -> RenderResult<ShareAnswer> {
    checked_site(site)?;
    let lasts_s = request.expires_in_s.unwrap_or(DEFAULT_SHARE_S);
    if !(1..=MAX_SHARE_S).contains(&lasts_s) {
        return Err(RenderError::BadRequest(format!(
            "expires_in_s must be from 1 to {MAX_SHARE_S} (30 days), not {lasts_s}"
        )));
    }
    let (kind, params) = match (request.heatmap, request.session, request.date) {
        (Some(query), None, None) => (
            ShareKind::Heatmap,
            heatmap_params(site, query, renderer).await?,
        ),
        (None, Some(session), Some(date)) => (
            ShareKind::Session,
            session_params(site, session, &date, renderer).await?,
        ),
        (None, Some(_), None) => {
            return Err(RenderError::BadRequest(
                "a shared session needs its date, as the session list gives it".into(),
            ));
        }
        _ => {
            return Err(RenderError::BadRequest(
                "share one heatmap, {\"heatmap\": {…}}, or one session, {\"session\": ID, \"date\": D}".into(),
            ));
        }
    };
    let expires_at = now + chrono::Duration::seconds(lasts_s as i64);
    let link = ShareLink {
        site: site.to_owned(),
        kind,
        params,
        expires: expires_at.timestamp(),
    };
    let key = renderer.share_key.signing_key(&renderer.store).await?;
    let path = link.path(&link.sign(&key))?;
    Ok(ShareAnswer {
        url: format!(
            "{}{path}",
            renderer.config.share_base_url.trim_end_matches('/')
        ),
        expires_at: DateTime::from_timestamp(link.expires, 0).unwrap_or(expires_at),
    })
}

/// Checks a heatmap query given as JSON and returns it as the link's parameters, its page by
/// key and its ranges fixed; 404 if the page has no data in the range.
async fn heatmap_params(
    site: &str,
    query: serde_json::Map<String, Value>,
    renderer: &Renderer,
) -> RenderResult<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (name, value) in query {
        if !HEATMAP_PARAMS.contains(&name.as_str()) {
            return Err(RenderError::BadRequest(format!(
                "heatmap.{name} is not a heatmap parameter; they are {}",
                HEATMAP_PARAMS.join(", ")
            )));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(text) if text.is_empty() => continue,
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => if flag { "1" } else { "0" }.to_owned(),
            Value::Array(_) | Value::Object(_) => {
                return Err(RenderError::BadRequest(format!(
                    "heatmap.{name} must be a string or a number"
                )));
            }
        };
        params.insert(name, text);
    }
    let query = query_of::<HeatmapQuery>(&params)?;
    let (days, key) = checked_query(&query)?;
    fix_range(&mut params, "from", "to", &days);
    if query.compare_from.is_some() || query.compare_to.is_some() {
        let compared = RangeQuery {
            from: query.compare_from.clone(),
            to: query.compare_to.clone(),
        }
        .days()?;
        fix_range(&mut params, "compare_from", "compare_to", &compared);
    }
    params.insert("page".into(), key.clone());
    super::required_page(renderer, site, &days, &key).await?;
    Ok(params)
}

/// Sets `from_name` and `to_name` to the first and last of `days`.
fn fix_range(
    params: &mut BTreeMap<String, String>,
    from_name: &str,
    to_name: &str,
    days: &[NaiveDate],
) {
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        params.insert(from_name.into(), first.to_string());
        params.insert(to_name.into(), last.to_string());
    }
}

/// Checks that `session` is in the session index of `date`; returns the link's parameters.
async fn session_params(
    site: &str,
    session: String,
    date: &str,
    renderer: &Renderer,
) -> RenderResult<BTreeMap<String, String>> {
    let day = parse_date(date).map_err(|err| RenderError::BadRequest(format!("date: {err}")))?;
    let indexes =
        data::load_session_indexes(&renderer.store, &renderer.session_indexes, site, &[day])
            .await?;
    let wanted = session.clone();
    if on_blocking(move || find_session(&indexes, &wanted))
        .await?
        .is_none()
    {
        return Err(RenderError::NotFound(format!(
            "no session {session:?} of site {site} on {day}"
        )));
    }
    Ok(BTreeMap::from([
        ("session".to_owned(), session),
        ("date".to_owned(), day.to_string()),
    ]))
}

/// Reads a query struct from a link's parameters, as warp reads a query string.
fn query_of<T: serde::de::DeserializeOwned>(params: &BTreeMap<String, String>) -> RenderResult<T> {
    let text = serde_urlencoded::to_string(params)
        .map_err(|err| RenderError::BadRequest(format!("bad parameters: {err}")))?;
    serde_urlencoded::from_str(&text)
        .map_err(|err| RenderError::BadRequest(format!("bad parameters: {err}")))
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// Reads and verifies the link of a `/share/{site}/{kind}…` request.
async fn opened(
    renderer: &Renderer,
    site: &str,
    kind: ShareKind,
    query: &str,
) -> RenderResult<ShareLink> {
    let (link, signature) = ShareLink::from_query(site, kind, query)?;
    renderer
        .share_key
        .verify(&renderer.store, &link, &signature, Utc::now().timestamp())
        .await?;
    checked_site(site)?;
    Ok(link)
}

/// The page a shared heatmap is drawn over, for the viewer.
#[derive(Debug, Serialize)]
pub struct SharedHeatmap {
    pub site: String,
    pub url: String,
    pub key: String,
    pub views: u64,
    pub clicks: u64,
    pub sessions: u64,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Matches the `/share/{site}/…` routes.
pub fn shared_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let view = |kind: ShareKind| {
        move |site: String, query: String, renderer: Arc<Renderer>| async move {
            Ok::<_, Infallible>(match opened(&renderer, &site, kind, &query).await {
                Ok(_) => index_response(),
                Err(err) => error_response(&err),
            })
        }
    };
    let heatmap_view = warp::path!("share" / String / "heatmap")
        .and(warp::get())
        .and(raw_query())
        .and(with_renderer(renderer.clone()))
        .and_then(view(ShareKind::Heatmap));
    let session_view = warp::path!("share" / String / "session")
        .and(warp::get())
        .and(raw_query())
        .and(with_renderer(renderer.clone()))
        .and_then(view(ShareKind::Session));
    let png = warp::path!("share" / String / "heatmap.png")
        .and(warp::get())
        .and(raw_query())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_renderer(renderer.clone()))
        .and_then(
            |site: String,
             query: String,
             if_none_match: Option<String>,
             renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(
                    match shared_png(&renderer, &site, &query, if_none_match.as_deref()).await {
                        Ok(response) => response,
                        Err(err) => error_response(&err),
                    },
                )
            },
        );
    let page = warp::path!("share" / String / "heatmap.json")
        .and(warp::get())
        .and(raw_query())
        .and(with_renderer(renderer.clone()))
        .and_then(
            |site: String, query: String, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(shared_page(&renderer, &site, &query).await))
            },
        );
    let recording_data = warp::path!("share" / String / "session" / "recording")
        .and(warp::get())
        .and(raw_query())
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(with_renderer(renderer.clone()))
        .and_then(
            |site: String, query: String, accept: Option<String>, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(
                    match shared_recording(&renderer, &site, &query, accept.as_deref()).await {
                        Ok(response) => response,
                        Err(err) => error_response(&err),
                    },
                )
            },
        );
    let timeline_data = warp::path!("share" / String / "session" / "timeline")
        .and(warp::get())
        .and(raw_query())
        .and(with_renderer(renderer))
        .and_then(
            |site: String, query: String, renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(json_or_error(
                    shared_timeline(&renderer, &site, &query).await,
                ))
            },
        );
    // Each route checks its path before its method, so that a path of the collector's gets
    // 404 here, not 405.
    heatmap_view
        .or(session_view)
        .unify()
        .or(png)
        .unify()
        .or(page)
        .unify()
        .or(timeline_data)
        .unify()
        .or(recording_data)
        .unify()
}

async fn shared_png(
    renderer: &Renderer,
    site: &str,
    query: &str,
    if_none_match: Option<&str>,
) -> RenderResult<Response> {
    let link = opened(renderer, site, ShareKind::Heatmap, query).await?;
    heatmap(site, &query_of(&link.params)?, if_none_match, renderer).await
}

async fn shared_page(renderer: &Renderer, site: &str, query: &str) -> RenderResult<SharedHeatmap> {
    let link = opened(renderer, site, ShareKind::Heatmap, query).await?;
    let query: HeatmapQuery = query_of(&link.params)?;
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
    Ok(SharedHeatmap {
        site: site.to_owned(),
        url: page.url,
        key: page.key,
        views: segment.views,
        clicks: segment.clicks,
        sessions: segment.sessions,
        expires_at: DateTime::from_timestamp(link.expires, 0),
    })
}

/// The session a share link names and its day, if the link gives it.
fn shared_session(link: &ShareLink) -> RenderResult<(String, TimelineQuery)> {
    let session = link
        .params
        .get("session")
        .ok_or_else(|| RenderError::Forbidden("this share link names no session".into()))?;
    let query = TimelineQuery {
        date: link.params.get("date").cloned(),
        from: None,
        to: None,
    };
    Ok((session.clone(), query))
}

async fn shared_recording(
    renderer: &Renderer,
    site: &str,
    query: &str,
    accept_encoding: Option<&str>,
) -> RenderResult<Response> {
    let link = opened(renderer, site, ShareKind::Session, query).await?;
    let (session, query) = shared_session(&link)?;
    recording(site, &session, &query, accept_encoding, renderer).await
}

async fn shared_timeline(
    renderer: &Renderer,
    site: &str,
    query: &str,
) -> RenderResult<crate::timeline::Timeline> {
    let link = opened(renderer, site, ShareKind::Session, query).await?;
    let (session, query) = shared_session(&link)?;
    timeline(site, &session, &query, renderer).await
}
