//! `POST /v1/collect`: one native batch (JSON, optionally gzip or zstd encoded). A batch's
//! `page.identify` id is replaced by its visitor key (see [`crate::identify`]) before the
//! stream is logged; the id is never logged or stored.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::wire::{Converted, NativeBatch};
use warp::Filter;
use warp::reply::Response;

use super::{IngestRequest, accepted, answered, ingest_request, preflight};
use crate::error::IngestError;
use crate::identify::{VisitorKeys, validate_identify};
use crate::state::Collector;
use crate::wal::LoggedBatch;

/// Matches `POST /v1/collect` (and its CORS preflight).
pub fn collect_filter(
    collector: Arc<Collector>,
    visitor_keys: Option<Arc<VisitorKeys>>,
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
        .and(warp::any().map(move || visitor_keys.clone()))
        .and_then(handle_collect);
    preflight.or(post).unify()
}

async fn handle_collect(
    request: IngestRequest,
    collector: Arc<Collector>,
    visitor_keys: Option<Arc<VisitorKeys>>,
) -> Result<Response, Infallible> {
    let origin = request.origin.clone();
    let (site, response, num_events) = collect(request, &collector, visitor_keys.as_deref()).await;
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
    visitor_keys: Option<&VisitorKeys>,
) -> (Option<String>, Response, usize) {
    if let Err(refusal) = collector.admission.check_rate(request.client) {
        return (None, refusal.to_response(), 0);
    }
    let admitting = collector.clone();
    let parsed = tokio::task::spawn_blocking(move || admit_batch(&admitting, request)).await;
    let admitted = match parsed {
        Ok(Ok(admitted)) => admitted,
        Ok(Err((site, refusal))) => return (site, refusal.to_response(), 0),
        Err(err) => {
            let message = format!("the batch could not be parsed: {err}");
            return (None, IngestError::Internal(message).to_response(), 0);
        }
    };
    let Admitted {
        converted,
        sampled_in,
        identify,
    } = admitted;
    let (site, mut stream, mut warnings) = (converted.site, converted.stream, converted.warnings);
    if let Err(response) =
        apply_identify(identify, visitor_keys, &site, &mut stream, &mut warnings).await
    {
        return (Some(site), response, 0);
    }
    let num_events = stream.num_events();
    if sampled_in
        && let Err(err) = collector
            .accept(&site, vec![LoggedBatch::Stream(stream)])
            .await
    {
        return (Some(site), IngestError::from(err).to_response(), 0);
    }
    (
        Some(site),
        accepted(num_events, 1, sampled_in, &warnings),
        num_events,
    )
}

/// A batch that may be logged: its stream, whether it is sampled in, and the `identify` id it
/// carried (to be replaced by a visitor key, never logged).
#[derive(Debug)]
struct Admitted {
    converted: Converted,
    sampled_in: bool,
    identify: Option<String>,
}

/// Decompresses and parses a batch body, checks its site, origin and `identify` id, then
/// validates it: CPU work, run on the blocking pool. A refusal comes with the batch's site when
/// it is known.
fn admit_batch(
    collector: &Collector,
    request: IngestRequest,
) -> Result<Admitted, (Option<String>, IngestError)> {
    let body = request
        .body
        .decode(collector.config.max_decompressed_bytes)
        .map_err(|err| (None, err))?;
    let mut batch: NativeBatch = serde_json::from_slice(&body).map_err(|err| {
        let message = format!("batch is not valid JSON of the native shape: {err}");
        (None, IngestError::Malformed(message))
    })?;
    let sampled_in = collector
        .admission
        .check_site(&batch.site, request.origin.as_deref(), &batch.session)
        .map_err(|refusal| (Some(batch.site.clone()), refusal))?;
    let identify = batch.page.identify.take();
    if let Some(id) = &identify {
        validate_identify(id).map_err(|message| (None, IngestError::Malformed(message)))?;
    }
    let converted = batch
        .into_stream(&collector.limits)
        .map_err(|err| (None, IngestError::Malformed(err.0)))?;
    Ok(Admitted {
        converted,
        sampled_in,
        identify,
    })
}

/// Sets `stream`'s visitor key from the batch's `identify` id, if it had one; a collector
/// without visitor keys drops the id and says so in `warnings`. A secret the store cannot give
/// is a 503 (`Retry-After`), so that the batch is sent again rather than stored unidentified.
async fn apply_identify(
    identify: Option<String>,
    visitor_keys: Option<&VisitorKeys>,
    site: &str,
    stream: &mut heatpipe_core::event::Stream,
    warnings: &mut Vec<String>,
) -> Result<(), Response> {
    match (identify, visitor_keys) {
        (None, _) => Ok(()),
        (Some(id), Some(keys)) => match keys.key_of(site, &id).await {
            Ok(key) => {
                stream.page.visitor_key = Some(key);
                Ok(())
            }
            Err(err) => {
                tracing::warn!(%site, error = %err, "cannot read the visitor-key secret");
                Err(IngestError::StoreUnavailable(
                    "cannot read the site's visitor-key secret from the store".into(),
                )
                .to_response())
            }
        },
        (Some(_), None) => {
            warnings.push("page.identify ignored: this collector makes no visitor keys".to_owned());
            Ok(())
        }
    }
}
