//! heatpipe-collector: the ingest server. It accepts native batches from the tracker and rrweb
//! recorder events, validates them, appends them to a write-ahead log and acknowledges them once
//! fsynced; sealed log segments become `.hpc` chunks (and `.hpr` rrweb lane objects, kept in the
//! viewport terms rrweb recorded; the processor converts whole sessions) under `raw/` in the
//! store, and a segment is deleted only once stored. Segments left by a crash are uploaded at the
//! next start. No session state is kept between requests: collectors are interchangeable.
//!
//! # Layout
//! - [`config`] — `CollectorConfig`, and the log settings and wire limits it implies.
//! - [`state`] — `Collector`, the state every request shares, and the shutdown sequence.
//! - [`admission`] — configured sites, origins, sampling, per-client rate limits.
//! - [`identify`] — `identify` ids → visitor keys, with the sites' secrets from the store.
//! - [`error`] — [`error::IngestError`], every refusal with its one status and metrics reason.
//! - [`body`] — content type, content encoding and bounded decompression.
//! - [`wal`] — the write-ahead log: record framing, group commit, segments, recovery.
//! - [`uploader`] — sealed segments → chunks in the store, with retries.
//! - [`erased`] — the erasure tombstones the uploader honours.
//! - [`metrics`] — counters served at `/metrics`.
//! - [`routes`] — the HTTP routes and the tracker scripts.
//!
//! This file wires them: [`routes()`] is every collector route, [`serve`] runs them alone.

pub mod admission;
pub mod body;
pub mod config;
pub mod erased;
pub mod error;
pub mod identify;
pub mod metrics;
pub mod routes;
pub mod state;
pub mod uploader;
pub mod wal;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use warp::Filter;
use warp::reply::Response;

pub use config::CollectorConfig;
pub use state::Collector;

/// All collector routes: `/v1/collect`, `/v1/rrweb/{site}/{session}`, `/t.js`, `/t-replay.js`,
/// `/metrics`.
/// Without `visitor_keys`, a batch's `identify` id is dropped (and the client told so).
pub fn routes(
    collector: Arc<Collector>,
    visitor_keys: Option<Arc<identify::VisitorKeys>>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let collector_for_metrics = collector.clone();
    let tracker = routes::tracker::tracker_filter(&collector.admission);
    routes::collect::collect_filter(collector.clone(), visitor_keys)
        .or(routes::rrweb::rrweb_filter(collector))
        .unify()
        .or(tracker)
        .unify()
        .or(routes::tracker::replay_script_filter())
        .unify()
        .or(routes::metrics::metrics_filter(collector_for_metrics))
        .unify()
}

/// Serves the collector alone on `listener` until `shutdown` resolves, then seals and uploads
/// everything buffered before returning. `identify` ids are dropped; see [`serve_with`].
pub async fn serve(
    collector: Arc<Collector>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    serve_with(collector, None, listener, shutdown).await;
}

/// [`serve`], turning `identify` ids into visitor keys with `visitor_keys`.
pub async fn serve_with(
    collector: Arc<Collector>,
    visitor_keys: Option<Arc<identify::VisitorKeys>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let filter = routes(collector.clone(), visitor_keys)
        .or(heatpipe_io::http::healthz_filter())
        .recover(heatpipe_io::http::recover);
    let server = warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run();
    collector.run_alongside(server).await;
}
