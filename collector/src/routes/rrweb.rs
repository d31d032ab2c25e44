//! `POST /v1/rrweb/{site}/{session}`: a JSON array of rrweb recorder events.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::keys::validate_site;
use heatpipe_core::rrweb::{RrwebBatch, RrwebEvent, parse_batch};
use heatpipe_core::wire::validate_session_id;
use warp::Filter;
use warp::reply::Response;

use super::{IngestRequest, accepted, answered, ingest_request, preflight};
use crate::body::RawBody;
use crate::error::IngestError;
use crate::state::Collector;
use crate::wal::LoggedBatch;

/// Matches `POST /v1/rrweb/{site}/{session}` (and its CORS preflight).
pub fn rrweb_filter(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let for_preflight = collector.clone();
    let preflight = warp::path!("v1" / "rrweb" / String / String)
        .and(warp::options())
        .and(warp::header::optional::<String>("origin"))
        .map(
            move |site: String, _session: String, origin: Option<String>| {
                preflight(&for_preflight, Some(&site), origin.as_deref())
            },
        );
    let post = warp::path!("v1" / "rrweb" / String / String)
        .and(warp::post())
        .and(ingest_request(collector.config.max_body_bytes))
        .and(warp::any().map(move || collector.clone()))
        .and_then(handle_rrweb);
    preflight.or(post).unify()
}

async fn handle_rrweb(
    site: String,
    session: String,
    request: IngestRequest,
    collector: Arc<Collector>,
) -> Result<Response, Infallible> {
    let origin = request.origin.clone();
    let (response, num_events) = rrweb(&site, &session, request, &collector).await;
    Ok(answered(
        response,
        num_events,
        &collector,
        Some(&site),
        origin.as_deref(),
    ))
}

/// Admits, converts and logs one rrweb batch.
async fn rrweb(
    site: &str,
    session: &str,
    request: IngestRequest,
    collector: &Arc<Collector>,
) -> (Response, usize) {
    if let Err(refusal) = collector.admission.check_rate(request.client) {
        return (refusal.to_response(), 0);
    }
    if let Err(err) = validate_site(site) {
        return (IngestError::Malformed(err.to_string()).to_response(), 0);
    }
    if let Err(err) = validate_session_id(session) {
        return (IngestError::Malformed(err.0).to_response(), 0);
    }
    let sampled_in = match collector
        .admission
        .check_site(site, request.origin.as_deref(), session)
    {
        Ok(sampled_in) => sampled_in,
        Err(refusal) => return (refusal.to_response(), 0),
    };
    let parsing = collector.clone();
    let session_id = session.to_owned();
    let parsed =
        tokio::task::spawn_blocking(move || parse_body(&parsing, &session_id, request.body)).await;
    let batch = match parsed {
        Ok(Ok(batch)) => batch,
        Ok(Err(refusal)) => return (refusal.to_response(), 0),
        Err(err) => {
            let message = format!("the batch could not be parsed: {err}");
            return (IngestError::Internal(message).to_response(), 0);
        }
    };
    let num_events = batch.num_recorded_events();
    // A batch with nothing for heatmaps (DOM mutations only) is acknowledged and not logged.
    let worth_logging = sampled_in && !batch.events.is_empty();
    if worth_logging
        && let Err(err) = collector
            .accept(site, vec![LoggedBatch::Rrweb(batch)])
            .await
    {
        return (IngestError::from(err).to_response(), 0);
    }
    (
        accepted(num_events, usize::from(worth_logging), sampled_in, &[]),
        num_events,
    )
}

/// Decompresses and checks an rrweb body, keeping its pointer events as recorded: CPU work, run
/// on the blocking pool.
fn parse_body(
    collector: &Collector,
    session: &str,
    body: RawBody,
) -> Result<RrwebBatch, IngestError> {
    let body = body.decode(collector.config.max_decompressed_bytes)?;
    let events: Vec<RrwebEvent> = serde_json::from_slice(&body).map_err(|err| {
        let message =
            format!("body must be a JSON array of rrweb events ({{type, data, timestamp}}): {err}");
        IngestError::Malformed(message)
    })?;
    parse_batch(session, &events, &collector.limits).map_err(|err| IngestError::Malformed(err.0))
}
