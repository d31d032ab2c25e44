//! `GET /api/sites/{site}/heatmap.png?page&kind&from&to&device&segment&width&radius&palette&opacity
//! &compare&compare_from&compare_to&composite`: overlays, difference maps and composites.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::agg::PageAgg;
use heatpipe_core::keys::snapshot_width;
use serde::Deserialize;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::auth::authorized;
use super::{checked_site, error_response, required_page, with_renderer};
use crate::auth::Scope;
use crate::compare::render_difference;
use crate::composite::{composite_png, decode_snapshot, nearest_snapshot_key};
use crate::state::Renderer;
use heatpipe_io::on_rayon;

use crate::error::{RenderError, RenderResult};
use crate::png::Palette;
use crate::query::{RangeQuery, parse_device, parse_segment, resolve_page};
use crate::render::{HeatmapKind, HeatmapRequest, page_size, render_segment_image};

/// The names of [`HeatmapQuery`]'s parameters, which a shared heatmap may fix.
pub const HEATMAP_PARAMS: [&str; 14] = [
    "page",
    "kind",
    "from",
    "to",
    "device",
    "segment",
    "width",
    "radius",
    "palette",
    "opacity",
    "compare",
    "compare_from",
    "compare_to",
    "composite",
];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HeatmapQuery {
    pub page: Option<String>,
    pub kind: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub device: Option<String>,
    /// `variant:B,visitor:returning`: only those segments.
    pub segment: Option<String>,
    pub width: Option<u32>,
    pub radius: Option<u32>,
    pub palette: Option<String>,
    pub opacity: Option<f32>,
    /// `variant:A,variant:B`: where segment A differs from segment B.
    pub compare: Option<String>,
    /// A second date range to compare the first with.
    pub compare_from: Option<String>,
    pub compare_to: Option<String>,
    /// `1`: the overlay over the page's stored screenshot.
    pub composite: Option<String>,
}

/// Matches `GET /api/sites/{site}/heatmap.png`.
pub fn heatmap_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "heatmap.png")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<HeatmapQuery>())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_renderer(renderer))
        .and_then(handle_heatmap)
}

async fn handle_heatmap(
    site: String,
    query: HeatmapQuery,
    if_none_match: Option<String>,
    renderer: Arc<Renderer>,
) -> Result<Response, Infallible> {
    Ok(
        match heatmap(&site, &query, if_none_match.as_deref(), &renderer).await {
            Ok(response) => response,
            Err(err) => error_response(&err),
        },
    )
}

/// What a comparison map subtracts from the request's own data.
#[derive(Debug, Clone, PartialEq)]
enum Comparison {
    /// Segment A against segment B, over the same days.
    Segments((String, String), (String, String)),
    /// The request's days against these days, for the same segment.
    Range(Vec<NaiveDate>),
}

/// A parsed and validated heatmap query.
#[derive(Debug, Clone)]
struct HeatmapPlan {
    days: Vec<NaiveDate>,
    key: String,
    request: HeatmapRequest,
    comparison: Option<Comparison>,
    composite: bool,
}

impl HeatmapPlan {
    fn parse(query: &HeatmapQuery) -> RenderResult<Self> {
        let days = RangeQuery {
            from: query.from.clone(),
            to: query.to.clone(),
        }
        .days()?;
        let kind = HeatmapKind::parse(query.kind.as_deref())?;
        let opacity = query.opacity.unwrap_or(0.85);
        if !(0.0..=1.0).contains(&opacity) {
            return Err(RenderError::BadRequest(format!(
                "opacity must be from 0 to 1, not {opacity}"
            )));
        }
        let radius_px = query.radius.unwrap_or(kind.default_radius_px());
        if !(2..=200).contains(&radius_px) {
            return Err(RenderError::BadRequest(format!(
                "radius must be from 2 to 200 px, not {radius_px}"
            )));
        }
        let request = HeatmapRequest {
            kind,
            device: parse_device(query.device.as_deref())?,
            segment: parse_segment(query.segment.as_deref())?,
            width_px: query.width,
            radius_px,
            palette: Palette::parse(query.palette.as_deref())?,
            opacity,
        };
        Ok(HeatmapPlan {
            days,
            key: resolve_page(query.page.as_deref())?,
            request,
            comparison: parse_comparison(query)?,
            composite: match query.composite.as_deref() {
                None | Some("" | "0" | "false") => false,
                Some("1" | "true") => true,
                Some(other) => {
                    return Err(RenderError::BadRequest(format!(
                        "composite must be 1 or 0, not {other:?}"
                    )));
                }
            },
        })
    }
}

/// `compare=variant:A,variant:B` (two segments), or `compare_from` / `compare_to` (a second range).
fn parse_comparison(query: &HeatmapQuery) -> RenderResult<Option<Comparison>> {
    let range = query.compare_from.is_some() || query.compare_to.is_some();
    match (query.compare.as_deref().filter(|c| !c.is_empty()), range) {
        (Some(_), true) => Err(RenderError::BadRequest(
            "compare two segments or two date ranges, not both".into(),
        )),
        (Some(sides), false) => match parse_segment(Some(sides))?.as_slice() {
            [a, b] if a != b => Ok(Some(Comparison::Segments(a.clone(), b.clone()))),
            _ => Err(RenderError::BadRequest(format!(
                "compare must name two different segments, as variant:A,variant:B, not {sides:?}"
            ))),
        },
        (None, true) => Ok(Some(Comparison::Range(
            RangeQuery {
                from: query.compare_from.clone(),
                to: query.compare_to.clone(),
            }
            .days()?,
        ))),
        (None, false) => Ok(None),
    }
}

/// The data an image is drawn from: one page over the plan's days, with the second side of a
/// comparison. Its segments are added up only when the image is drawn (on the rayon pool), so
/// an image served from the cache sums nothing.
enum Drawing {
    Single(PageAgg),
    Segments(PageAgg, (String, String), (String, String)),
    Ranges(PageAgg, PageAgg),
}

/// Checks `query` as the endpoint would; returns its days and page key.
pub fn checked_query(query: &HeatmapQuery) -> RenderResult<(Vec<NaiveDate>, String)> {
    let plan = HeatmapPlan::parse(query)?;
    Ok((plan.days, plan.key))
}

/// Answers a heatmap request: the PNG, or 304 when `if_none_match` holds its ETag.
pub async fn heatmap(
    site: &str,
    query: &HeatmapQuery,
    if_none_match: Option<&str>,
    renderer: &Renderer,
) -> RenderResult<Response> {
    checked_site(site)?;
    let plan = HeatmapPlan::parse(query)?;
    let sources = gather(renderer, site, &plan).await?;
    let etag = sources.etag(&plan);
    if if_none_match.is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag)) {
        return Ok(with_png_headers(
            warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response(),
            &etag,
        ));
    }
    let png = match renderer.cached_png(&etag) {
        Some(png) => png,
        None => {
            let png = Bytes::from(on_rayon(move || sources.draw()).await??);
            renderer.cache_png(etag.clone(), png.clone());
            png
        }
    };
    let mut response = Response::new(png.into());
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("image/png"));
    Ok(with_png_headers(response, &etag))
}

/// Everything one image is drawn from, read from the store.
struct Sources {
    /// The plan's request, drawn at the screenshot's width for a composite.
    request: HeatmapRequest,
    drawing: Drawing,
    /// The screenshot of a composite: its key and its PNG.
    snapshot: Option<(String, Bytes)>,
    /// Fingerprints of what was read: the page (and the compared range), the screenshot.
    fingerprint: Vec<u64>,
}

impl Sources {
    /// Draws and encodes the image. CPU-bound.
    fn draw(self) -> RenderResult<Vec<u8>> {
        let request = &self.request;
        let side = |pair: &(String, String)| {
            let mut side = request.clone();
            side.segment.push(pair.clone());
            side
        };
        let overlay = match &self.drawing {
            Drawing::Single(page) => render_segment_image(&request.segment_of(page), request)?,
            Drawing::Segments(page, a, b) => render_difference(
                &side(a).segment_of(page),
                &side(b).segment_of(page),
                request,
            )?,
            Drawing::Ranges(page, other) => render_difference(
                &request.segment_of(page),
                &request.segment_of(other),
                request,
            )?,
        };
        match self.snapshot {
            None => overlay.encode_png(),
            Some((key, bytes)) => composite_png(&overlay, &decode_snapshot(&key, &bytes)?),
        }
    }

    /// Returns the image's ETag: a hash of what it is drawn from and how.
    fn etag(&self, plan: &HeatmapPlan) -> String {
        let Sources {
            request,
            fingerprint,
            ..
        } = self;
        format!(
            "\"{:016x}\"",
            xxhash_rust::xxh3::xxh3_64(
                format!(
                    "{fingerprint:?}|{request:?}|{:?}|{}",
                    plan.comparison, plan.composite
                )
                .as_bytes()
            )
        )
    }
}

/// Reads the page over the plan's days, its screenshot for a composite, and the other side of a
/// comparison.
async fn gather(renderer: &Renderer, site: &str, plan: &HeatmapPlan) -> RenderResult<Sources> {
    let mut request = plan.request.clone();
    let page = required_page(renderer, site, &plan.days, &plan.key).await?;
    let mut fingerprint = vec![page.fingerprint];
    let mut page = page.agg;
    let snapshot = if plan.composite {
        // The width a screenshot is looked up for comes from the chosen segment (which does not
        // depend on the width); adding up its grids runs on the rayon pool.
        let sized = request.clone();
        let (returned, wanted_width) = on_rayon(move || {
            let wanted = page_size(&sized.segment_of(&page), sized.width_px).0;
            (page, wanted)
        })
        .await?;
        page = returned;
        let (key, bytes) = screenshot(renderer, site, &plan.key, wanted_width).await?;
        // The overlay is drawn at the screenshot's layout width, so both share coordinates.
        request.width_px = snapshot_width(&key);
        fingerprint.push(xxhash_rust::xxh3::xxh3_64(&bytes));
        Some((key, bytes))
    } else {
        None
    };
    let drawing = match &plan.comparison {
        None => Drawing::Single(page),
        Some(Comparison::Segments(a, b)) => Drawing::Segments(page, a.clone(), b.clone()),
        Some(Comparison::Range(days)) => {
            let other = required_page(renderer, site, days, &plan.key).await?;
            fingerprint.push(other.fingerprint);
            Drawing::Ranges(page, other.agg)
        }
    };
    Ok(Sources {
        request,
        drawing,
        snapshot,
        fingerprint,
    })
}

/// Reads the page's screenshot whose layout width is nearest `wanted_width`.
async fn screenshot(
    renderer: &Renderer,
    site: &str,
    page_key: &str,
    wanted_width: u32,
) -> RenderResult<(String, Bytes)> {
    let key = nearest_snapshot_key(&renderer.store, site, page_key, wanted_width)
        .await?
        .ok_or_else(|| {
            RenderError::NotFound(format!(
                "no screenshot of page {page_key} of site {site}: take one with `heatpipe snapshot`"
            ))
        })?;
    let bytes = renderer.store.get(&key).await?;
    Ok((key, bytes))
}

fn with_png_headers(mut response: Response, etag: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert("etag", value);
    }
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}
