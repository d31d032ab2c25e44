//! `POST /v1/rrweb/{site}/{session}[?pointers=0]`: a JSON array of rrweb recorder events.
//!
//! Each batch is kept twice over, in one log write: its pointer events for the heatmaps (unless
//! `pointers=0`: heatpipe's own recorder says so, since `t.js` already sends them), and — unless
//! the site's replay is `"off"` — its DOM events, masked again here whatever the client sent
//! ([`mask_batch`]), for the replay lane.

use std::convert::Infallible;
use std::sync::Arc;

use heatpipe_core::keys::validate_site;
use heatpipe_core::replay::{MaskRules, ReplayBatch, ReplayEvent, mask_batch};
use heatpipe_core::rrweb::{RrwebBatch, RrwebEvent, parse_batch};
use heatpipe_core::wire::validate_session_id;
use serde::Deserialize;
use serde_json::Value;
use warp::Filter;
use warp::reply::Response;

use super::{IngestRequest, accepted, answered, ingest_request, preflight};
use crate::admission::ReplaySettings;
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
        .and(warp::query::<RrwebQuery>())
        .and(ingest_request(collector.config.max_body_bytes))
        .and(warp::any().map(move || collector.clone()))
        .and_then(handle_rrweb);
    preflight.or(post).unify()
}

/// The route's query.
#[derive(Debug, Default, Deserialize)]
pub struct RrwebQuery {
    /// `0`: take no pointer events from the batch (the sender reports them another way).
    pub pointers: Option<String>,
}

impl RrwebQuery {
    fn wants_pointers(&self) -> bool {
        self.pointers.as_deref() != Some("0")
    }
}

async fn handle_rrweb(
    site: String,
    session: String,
    query: RrwebQuery,
    request: IngestRequest,
    collector: Arc<Collector>,
) -> Result<Response, Infallible> {
    let origin = request.origin.clone();
    let (response, num_events) = rrweb(&site, &session, &query, request, &collector).await;
    Ok(answered(
        response,
        num_events,
        &collector,
        Some(&site),
        origin.as_deref(),
    ))
}

/// Admits, masks and logs one rrweb batch.
async fn rrweb(
    site: &str,
    session: &str,
    query: &RrwebQuery,
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
    let keep = Kept {
        pointers: query.wants_pointers(),
        dom: collector.admission.replay_settings(site),
    };
    let parsing = collector.clone();
    let session_id = session.to_owned();
    let parsed =
        tokio::task::spawn_blocking(move || parse_body(&parsing, &session_id, request.body, &keep))
            .await;
    let parsed = match parsed {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(refusal)) => return (refusal.to_response(), 0),
        Err(err) => {
            let message = format!("the batch could not be parsed: {err}");
            return (IngestError::Internal(message).to_response(), 0);
        }
    };
    let num_events = parsed.num_events();
    let mut logged = Vec::new();
    if sampled_in {
        logged.extend(parsed.pointers.map(LoggedBatch::Rrweb));
        logged.extend(parsed.replay.map(LoggedBatch::Replay));
    }
    let num_logged = logged.len();
    // A batch with nothing kept is acknowledged and not logged.
    if num_logged > 0
        && let Err(err) = collector.accept(site, logged).await
    {
        return (IngestError::from(err).to_response(), 0);
    }
    (
        accepted(num_events, num_logged, sampled_in, &parsed.warnings),
        num_events,
    )
}

/// What a batch is kept for.
struct Kept {
    /// Its pointer events, for the heatmaps.
    pointers: bool,
    /// Its DOM events, masked, unless the site's replay is off.
    dom: ReplaySettings,
}

/// What is logged of one batch: each part only when it holds something.
struct Parsed {
    pointers: Option<RrwebBatch>,
    replay: Option<ReplayBatch>,
    warnings: Vec<String>,
}

impl Parsed {
    /// The events counted as accepted: pointer events that add to a heatmap, or else the DOM
    /// events kept.
    fn num_events(&self) -> usize {
        match (&self.pointers, &self.replay) {
            (Some(pointers), _) => pointers.num_recorded_events(),
            (None, Some(replay)) => replay.events.len(),
            (None, None) => 0,
        }
    }
}

/// Decompresses and checks an rrweb body, keeping its pointer events as recorded and its DOM
/// events masked: CPU work, run on the blocking pool.
fn parse_body(
    collector: &Collector,
    session: &str,
    body: RawBody,
    keep: &Kept,
) -> Result<Parsed, IngestError> {
    let body = body.decode(collector.config.max_decompressed_bytes)?;
    let events: Vec<RrwebEvent> = serde_json::from_slice(&body).map_err(|err| {
        let message =
            format!("body must be a JSON array of rrweb events ({{type, data, timestamp}}): {err}");
        IngestError::Malformed(message)
    })?;
    let limits = &collector.limits;
    if events.len() > limits.max_events_per_batch {
        return Err(IngestError::Malformed(format!(
            "batch has {} events; at most {} are accepted",
            events.len(),
            limits.max_events_per_batch
        )));
    }
    let pointers = if keep.pointers {
        let batch =
            parse_batch(session, &events, limits).map_err(|err| IngestError::Malformed(err.0))?;
        Some(batch).filter(|batch| !batch.events.is_empty())
    } else {
        None
    };
    let mut warnings = Vec::new();
    let replay = if keep.dom.keeps_dom() {
        let rules = MaskRules::new(&keep.dom.public).unwrap_or_else(|err| {
            tracing::warn!(error = %err, "a public selector of the site does not parse; masking all text");
            MaskRules::mask_all()
        });
        let batch = masked_batch(session, events, &rules, &mut warnings);
        Some(batch).filter(|batch| !batch.events.is_empty())
    } else {
        None
    };
    Ok(Parsed {
        pointers,
        replay,
        warnings,
    })
}

/// Latest timestamp kept: about the year 3084, as the pointer parser accepts.
const MAX_TIMESTAMP_MS: f64 = (1u64 << 45) as f64;

/// Masks a batch's events for the replay lane, each as the JSON text the player will be given.
/// Events the masking does not keep, and events without a usable timestamp, are left out and
/// said in `warnings`.
fn masked_batch(
    session: &str,
    events: Vec<RrwebEvent>,
    rules: &MaskRules,
    warnings: &mut Vec<String>,
) -> ReplayBatch {
    let values: Vec<Value> = events
        .into_iter()
        .map(|event| {
            // rrweb's timestamps are whole milliseconds: kept as integers, as they were sent.
            let timestamp = if event.timestamp.fract() == 0.0
                && (0.0..=MAX_TIMESTAMP_MS).contains(&event.timestamp)
            {
                Value::from(event.timestamp as i64)
            } else {
                Value::from(event.timestamp)
            };
            serde_json::json!({ "type": event.kind, "data": event.data, "timestamp": timestamp })
        })
        .collect();
    let (kept, report) = mask_batch(values, rules);
    let num_kept = kept.len();
    let events: Vec<ReplayEvent> = kept
        .into_iter()
        .filter_map(|value| {
            let at_ms = value["timestamp"]
                .as_f64()
                .filter(|t| (0.0..=MAX_TIMESTAMP_MS).contains(t))?
                .round() as i64;
            let kind = value["type"].as_u64().and_then(|k| u8::try_from(k).ok())?;
            let json = serde_json::to_string(&value).ok()?;
            Some(ReplayEvent { at_ms, kind, json })
        })
        .collect();
    let untimed = num_kept - events.len();
    if report.events_dropped + untimed > 0 {
        warnings.push(format!(
            "{} events not kept for replay: inputs, logs, canvas, fonts, selections and \
             unknown or malformed events are never stored",
            report.events_dropped + untimed
        ));
    }
    ReplayBatch {
        session_id: session.to_owned(),
        events,
    }
}
