//! The demo site at `/demo/`, with the tracker installed, served only by `heatpipe demo`.

use heatpipe_fixtures::layout::{demo_page, demo_page_html};
use warp::http::HeaderValue;
use warp::reply::Response;
use warp::{Filter, Reply};

/// Serves the demo pages for `site`; matches nothing when `site` is `None`.
pub fn demo_site_filter(
    site: Option<String>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path("demo"))
        .and(warp::path::tail())
        .and_then(move |tail: warp::path::Tail| {
            let site = site.clone();
            async move {
                let site = site.ok_or_else(warp::reject::not_found)?;
                let page = demo_page(&format!("/demo/{}", tail.as_str()))
                    .ok_or_else(warp::reject::not_found)?;
                let mut response = demo_page_html(page, &site).into_response();
                response.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                Ok::<_, warp::Rejection>(response)
            }
        })
}
