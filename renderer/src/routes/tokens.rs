//! `GET /api/tokens`: every API token's name, scope and creation time (never its hash), for
//! admin tokens only.

use std::convert::Infallible;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use warp::Filter;
use warp::reply::Response;

use super::auth::authorized;
use super::{json_or_error, with_renderer};
use crate::auth::{Scope, list_tokens};
use crate::error::RenderResult;
use crate::state::Renderer;

/// One token as listed.
#[derive(Debug, Serialize)]
pub struct TokenRow {
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
}

/// Matches `GET /api/tokens`.
pub fn tokens_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "tokens")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Admin))
        .and(with_renderer(renderer))
        .and_then(|renderer: Arc<Renderer>| async move {
            Ok::<_, Infallible>(json_or_error(listed(&renderer).await))
        })
}

async fn listed(renderer: &Renderer) -> RenderResult<Vec<TokenRow>> {
    Ok(list_tokens(&renderer.store)
        .await?
        .into_iter()
        .map(|record| TokenRow {
            name: record.name,
            scope: record.scope,
            created_at: record.created_at,
        })
        .collect())
}
