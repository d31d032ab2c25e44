//! The token check as a warp filter, and the one `recover` of a server carrying the read side:
//! a refused request becomes a JSON 401 (with `WWW-Authenticate: Bearer`) or 403, anything else
//! goes to the shared rejection map.
//!
//! A route puts [`authorized`] right after its path and method, so that a request without a
//! valid token learns nothing about the query it sent. Admin routes (the token listing now,
//! erasure later) pass [`Scope::Admin`].

use std::convert::Infallible;
use std::sync::Arc;

use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{error_response, with_renderer};
use crate::auth::Scope;
use crate::error::RenderError;
use crate::state::Renderer;

/// A request the token check refused; its error says why. (Holds no secret.)
#[derive(Debug)]
pub struct Refused(pub RenderError);

impl warp::reject::Reject for Refused {}

/// Passes a request whose `Authorization: Bearer` token allows `needed` (or, on a loopback
/// listener with no token created, any request); rejects the others with [`Refused`].
pub fn authorized(
    renderer: Arc<Renderer>,
    needed: Scope,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(with_renderer(renderer))
        .and_then(
            move |headers: HeaderMap, renderer: Arc<Renderer>| async move {
                let value = match headers.get("authorization").map(|value| value.to_str()) {
                    None => None,
                    Some(Ok(value)) => Some(value),
                    Some(Err(_)) => Some(""),
                };
                match renderer
                    .tokens
                    .authorize(&renderer.store, value, needed)
                    .await
                {
                    Ok(_caller) => Ok(()),
                    Err(err) => Err(warp::reject::custom(Refused(err))),
                }
            },
        )
        .untuple_one()
}

/// Turns a refused request into its JSON error, and every other rejection into the shared
/// JSON errors of `heatpipe_io::http::recover`.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(Refused(err)) = rejection.find::<Refused>() {
        return Ok(error_response(err));
    }
    heatpipe_io::http::recover(rejection).await
}
