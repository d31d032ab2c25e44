//! `GET /api/sites/{site}/sessions/{session}/recording?date`: a session's DOM recording, as
//! rrweb's player takes it, compressed for clients that accept it (zstd, else gzip).

use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;

use heatpipe_core::keys::parse_date;
use heatpipe_io::on_blocking;
use warp::Filter;
use warp::http::HeaderValue;
use warp::reply::{Reply, Response};

use super::auth::authorized;
use super::listing::TimelineQuery;
use super::{checked_site, error_response, with_renderer};
use crate::auth::Scope;
use crate::data;
use crate::error::{RenderError, RenderResult};
use crate::query::RangeQuery;
use crate::recording::load_recording;
use crate::sessions::find_session;
use crate::state::Renderer;

/// Matches `GET /api/sites/{site}/sessions/{session}/recording?date`.
pub fn recording_filter(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("api" / "sites" / String / "sessions" / String / "recording")
        .and(warp::get())
        .and(authorized(renderer.clone(), Scope::Read))
        .and(warp::query::<TimelineQuery>())
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(with_renderer(renderer))
        .and_then(
            |site: String,
             session: String,
             query: TimelineQuery,
             accept: Option<String>,
             renderer: Arc<Renderer>| async move {
                Ok::<_, Infallible>(
                    match recording(&site, &session, &query, accept.as_deref(), &renderer).await {
                        Ok(response) => response,
                        Err(err) => error_response(&err),
                    },
                )
            },
        )
}

/// Answers a recording request: the session's day from `date`, or else found in the session
/// indexes of the query's range.
pub async fn recording(
    site: &str,
    session: &str,
    query: &TimelineQuery,
    accept_encoding: Option<&str>,
    renderer: &Renderer,
) -> RenderResult<Response> {
    checked_site(site)?;
    let date = match &query.date {
        Some(date) => {
            parse_date(date).map_err(|err| RenderError::BadRequest(format!("date: {err}")))?
        }
        None => session_date(site, session, query, renderer).await?,
    };
    let recording = load_recording(renderer.store.as_ref(), site, session, date).await?;
    let encoding = Encoding::chosen(accept_encoding);
    let body = on_blocking(move || {
        let json = recording.to_json()?;
        encoding.encode(json.into_bytes())
    })
    .await??;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert("vary", HeaderValue::from_static("accept-encoding"));
    headers.insert(
        "cache-control",
        HeaderValue::from_static("private, no-cache"),
    );
    if let Some(name) = encoding.header() {
        headers.insert("content-encoding", HeaderValue::from_static(name));
    }
    Ok(response)
}

/// Finds the day a session started on in the session indexes of the query's range.
async fn session_date(
    site: &str,
    session: &str,
    query: &TimelineQuery,
    renderer: &Renderer,
) -> RenderResult<chrono::NaiveDate> {
    let days = RangeQuery {
        from: query.from.clone(),
        to: query.to.clone(),
    }
    .days()?;
    let indexes =
        data::load_session_indexes(&renderer.store, &renderer.session_indexes, site, &days).await?;
    let wanted = session.to_owned();
    let found = on_blocking(move || find_session(&indexes, &wanted).map(|(date, ..)| date)).await?;
    found.ok_or_else(|| {
        RenderError::NotFound(format!(
            "no session {session:?} of site {site} from {} to {}",
            days[0],
            days[days.len() - 1]
        ))
    })
}

/// How the answer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Zstd,
    Gzip,
    Identity,
}

impl Encoding {
    /// Picks zstd if the client accepts it, else gzip, else none.
    fn chosen(accept_encoding: Option<&str>) -> Encoding {
        let accepted: Vec<String> = accept_encoding
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut fields = part.split(';');
                let name = fields.next()?.trim().to_ascii_lowercase();
                let refused = fields.any(|f| f.trim().replace(' ', "") == "q=0");
                (!refused).then_some(name)
            })
            .collect();
        if accepted.iter().any(|name| name == "zstd") {
            Encoding::Zstd
        } else if accepted.iter().any(|name| name == "gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Zstd => Some("zstd"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }

    /// Compresses fast: the answer is made for one viewer, once.
    fn encode(self, body: Vec<u8>) -> RenderResult<Vec<u8>> {
        let failed = |err: std::io::Error| RenderError::Internal(format!("compressing: {err}"));
        match self {
            Encoding::Zstd => zstd::bulk::compress(&body, 1).map_err(failed),
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&body).map_err(failed)?;
                encoder.finish().map_err(failed)
            }
            Encoding::Identity => Ok(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_follows_accept_encoding() {
        assert_eq!(Encoding::chosen(None), Encoding::Identity);
        assert_eq!(Encoding::chosen(Some("gzip, deflate, br")), Encoding::Gzip);
        assert_eq!(Encoding::chosen(Some("gzip, zstd")), Encoding::Zstd);
        assert_eq!(Encoding::chosen(Some("zstd;q=0, gzip")), Encoding::Gzip);
        assert_eq!(Encoding::chosen(Some("identity")), Encoding::Identity);
    }
}
