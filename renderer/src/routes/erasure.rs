//! `DELETE /api/sites/{site}/sessions/{id}` and `DELETE /api/sites/{site}/visitors/{id}`: erasure,
//! for admin tokens only, through the renderer's [`Eraser`](crate::erasure::Eraser).

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::wire::validate_session_id;
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::{checked_site, json_or_error, with_renderer};
use crate::auth::Scope;
use crate::erasure::ErasureTarget;
use crate::error::{RenderError, RenderResult};
use crate::state::Renderer;

/// Matches `DELETE /api/sites/{site}/sessions/{id}`.
pub fn forget_session_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "sessions" / String)
        .and(warp::delete())
        .and(authorized(renderer.clone(), Scope::Admin))
        .and(with_renderer(renderer))
        .and_then(
            |site: String, id: String, renderer: Arc<Renderer>| async move {
                let target = ErasureTarget::Session(id);
                Ok::<_, Infallible>(json_or_error(erase(&renderer, &site, target).await))
            },
        )
}

/// Matches `DELETE /api/sites/{site}/visitors/{id}`.
pub fn forget_visitor_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "visitors" / String)
        .and(warp::delete())
        .and(authorized(renderer.clone(), Scope::Admin))
        .and(with_renderer(renderer))
        .and_then(
            |site: String, id: String, renderer: Arc<Renderer>| async move {
                let target = ErasureTarget::Visitor(id);
                Ok::<_, Infallible>(json_or_error(erase(&renderer, &site, target).await))
            },
        )
}

async fn erase(
    renderer: &Renderer,
    site: &str,
    target: ErasureTarget,
) -> RenderResult<serde_json::Value> {
    checked_site(site)?;
    match &target {
        ErasureTarget::Session(id) => validate_session_id(id)
            .map_err(|err| RenderError::BadRequest(format!("session: {err}")))?,
        ErasureTarget::Visitor(id) if id.is_empty() || id.len() > 256 => {
            return Err(RenderError::BadRequest(
                "a visitor id is 1 to 256 bytes".into(),
            ));
        }
        ErasureTarget::Visitor(_) => {}
    }
    let eraser = renderer.eraser().ok_or_else(|| {
        RenderError::Unsupported("this read side cannot erase; run `heatpipe forget`".into())
    })?;
    eraser.erase(site, target).await
}
