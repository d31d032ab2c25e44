//! `POST /v1/collect`: one native batch (JSON, optionally gzip or zstd encoded).

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::wire::{Converted, NativeBatch};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{
    IngestRequest, accepted, answered, ingest_request, not_durable, preflight, refused, rejected,
};
use crate::admission::Refusal;
use crate::state::Collector;
use crate::wal::LoggedBatch;

/// Matches `POST /v1/collect` (and its CORS preflight).
pub fn collect_filter(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let for_preflight = collector.clone();
    let preflight = warp::path!("v1" / "collect")
        .and(warp::options())
        .and(warp::header::optional::<String>("origin"))
        .map(move |origin: Option<String>| preflight(&for_preflight, None, origin.as_deref()));
    let post = warp::path!("v1" / "collect")
        .and(warp::post())
        .and(ingest_request(collector.config.max_body_bytes))
        .and(warp::any().map(move || collector.clone()))
        .and_then(handle_collect);
    preflight.or(post).unify()
}

async fn handle_collect(
    request: IngestRequest,
    collector: Arc<Collector>,
) -> Result<Response, Infallible> {
    let origin = request.origin.clone();
    let (site, response, num_events) = collect(request, &collector).await;
    Ok(answered(
        response,
        num_events,
        &collector,
        site.as_deref(),
        origin.as_deref(),
    ))
}

/// Admits, validates and logs one batch; returns its site (when known), the answer, and the
/// number of events accepted.
async fn collect(
    request: IngestRequest,
    collector: &Arc<Collector>,
) -> (Option<String>, Response, usize) {
    if let Err(refusal) = collector.admission.check_rate(request.client) {
        return (None, refused(&refusal), 0);
    }
    let admitting = collector.clone();
    let parsed = tokio::task::spawn_blocking(move || admit_batch(&admitting, request)).await;
    let (converted, sampled_in) = match parsed {
        Ok(Ok(admitted)) => admitted,
        Ok(Err((site, refusal))) => return (site, refused(&refusal), 0),
        Err(err) => {
            let message = format!("the batch could not be parsed: {err}");
            return (
                None,
                rejected(StatusCode::INTERNAL_SERVER_ERROR, &message),
                0,
            );
        }
    };
    let (site, stream, warnings) = (converted.site, converted.stream, converted.warnings);
    let num_events = stream.num_events();
    if sampled_in
        && let Err(err) = collector
            .accept(&site, vec![LoggedBatch::Stream(stream)])
            .await
    {
        return (Some(site), not_durable(&err), 0);
    }
    (
        Some(site),
        accepted(num_events, 1, sampled_in, &warnings),
        num_events,
    )
}

/// A batch that may be logged, and whether it is sampled in; or its site (when known) and why
/// it is refused.
type Admitted = Result<(Converted, bool), (Option<String>, Refusal)>;

/// Decompresses and parses a batch body, checks its site and origin, then validates it: CPU
/// work, run on the blocking pool.
fn admit_batch(collector: &Collector, request: IngestRequest) -> Admitted {
    let body = request
        .body
        .decode(collector.config.max_decompressed_bytes)
        .map_err(|err| (None, Refusal::new(err.status, err.message)))?;
    let batch: NativeBatch = serde_json::from_slice(&body).map_err(|err| {
        let message = format!("batch is not valid JSON of the native shape: {err}");
        (None, Refusal::new(StatusCode::BAD_REQUEST, message))
    })?;
    let sampled_in = collector
        .admission
        .check_site(&batch.site, request.origin.as_deref(), &batch.session)
        .map_err(|refusal| (Some(batch.site.clone()), refusal))?;
    let converted = batch
        .into_stream(&collector.limits)
        .map_err(|err| (None, Refusal::new(StatusCode::BAD_REQUEST, err.0)))?;
    Ok((converted, sampled_in))
}
