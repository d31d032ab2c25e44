//! `GET /api/sites/{site}/heatmap.png?page&kind&from&to&device&segment&width&radius&palette&opacity`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{checked_site, error_response, with_renderer};
use crate::error::{RenderError, RenderResult, on_rayon};
use crate::png::{Palette, check_size};
use crate::query::{RangeQuery, parse_device, parse_segment, resolve_page};
use crate::render::{HeatmapKind, HeatmapRequest, page_size, render_segment_png};
use crate::{Renderer, data};

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
}

/// Matches `GET /api/sites/{site}/heatmap.png`.
pub fn heatmap_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "heatmap.png")
        .and(warp::get())
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

async fn heatmap(
    site: &str,
    query: &HeatmapQuery,
    if_none_match: Option<&str>,
    renderer: &Renderer,
) -> RenderResult<Response> {
    checked_site(site)?;
    let days = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    }
    .days()?;
    let key = resolve_page(query.page.as_deref())?;
    let kind = HeatmapKind::parse(query.kind.as_deref())?;
    let device = parse_device(query.device.as_deref())?;
    let palette = Palette::parse(query.palette.as_deref())?;
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
        device,
        segment: parse_segment(query.segment.as_deref())?,
        width_px: query.width,
        radius_px,
        palette,
        opacity,
    };
    let page = data::load_page(&renderer.store, site, &days, &key)
        .await?
        .ok_or_else(|| {
            RenderError::NotFound(format!(
                "no data for page {key} of site {site} from {} to {}",
                days[0],
                days[days.len() - 1]
            ))
        })?;
    let segment = request.segment_of(&page.agg);
    let (width_px, height_px) = page_size(&segment, query.width);
    check_size(width_px, height_px)?;
    let etag = format!(
        "\"{:016x}\"",
        xxhash_rust::xxh3::xxh3_64(
            format!("{}|{request:?}|{width_px}|{height_px}", page.fingerprint).as_bytes()
        )
    );
    if if_none_match.is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag)) {
        return Ok(with_png_headers(
            warp::reply::with_status(warp::reply(), StatusCode::NOT_MODIFIED).into_response(),
            &etag,
        ));
    }
    let png = match renderer.cached_png(&etag) {
        Some(png) => png,
        None => {
            let png = Bytes::from(on_rayon(move || render_segment_png(&segment, &request)).await??);
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

fn with_png_headers(mut response: Response, etag: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert("etag", value);
    }
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}
