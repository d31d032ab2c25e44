//! heatpipe-collector: the ingest server. It accepts native batches from the tracker and rrweb
//! recorder events, validates them, appends them to a write-ahead log and acknowledges them once
//! fsynced; sealed log segments become `.hpc` chunks under `raw/` in the store, and a segment is
//! deleted only once stored. Segments left by a crash are uploaded at the next start.
//!
//! # Layout
//! - [`config`] — `CollectorConfig`.
//! - [`admission`] — configured sites, origins, sampling, per-client rate limits.
//! - [`body`] — content type, content encoding and bounded decompression.
//! - [`rrweb`] — rrweb events → streams, with per-session state.
//! - [`wal`] — the write-ahead log: group commit, segments, recovery.
//! - [`uploader`] — sealed segments → chunks in the store, with retries.
//! - [`metrics`] — counters served at `/metrics`.
//! - [`routes`] — the HTTP routes and the tracker script.

pub mod admission;
pub mod body;
pub mod config;
pub mod metrics;
pub mod routes;
pub mod rrweb;
pub mod uploader;
pub mod wal;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heatpipe_core::event::Stream;
use heatpipe_core::wire::{WireError, WireLimits};
use heatpipe_io::store::ObjectStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wal::{Wal, WalError, WalRecord, WalSettings};
use warp::Filter;
use warp::reply::Response;

pub use config::CollectorConfig;

/// The collector's state, shared by every request.
#[derive(Debug)]
pub struct Collector {
    pub config: CollectorConfig,
    pub limits: WireLimits,
    pub admission: admission::Admission,
    pub wal: Arc<Wal>,
    pub metrics: Arc<metrics::Metrics>,
    uploader: Mutex<Option<(JoinHandle<()>, watch::Sender<bool>)>>,
    rrweb_sessions: Mutex<HashMap<(String, String), (rrweb::RrwebSession, Instant)>>,
    sites_seen: Mutex<std::collections::BTreeSet<String>>,
}

impl Collector {
    /// Opens the write-ahead log and starts uploading: first what an earlier run left in the
    /// log, then every segment sealed from now on. Must be called inside a tokio runtime.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        config: CollectorConfig,
    ) -> std::io::Result<Arc<Self>> {
        let limits = WireLimits {
            max_events_per_batch: config.max_events_per_batch,
            keep_query: config.keep_query,
            ..WireLimits::default()
        };
        let settings = WalSettings {
            dir: config.wal_dir.clone(),
            collector_id: config.collector_id.clone(),
            segment_max_bytes: config.seal_size_bytes,
            segment_max_age: Duration::from_millis(config.seal_age_ms),
            max_pending_bytes: config.max_pending_bytes,
        };
        let (wal, leftovers, sealed) = Wal::open(settings)?;
        if !leftovers.is_empty() {
            tracing::info!(
                segments = leftovers.len(),
                "uploading log segments left by an earlier run"
            );
        }
        let wal = Arc::new(wal);
        let metrics = Arc::new(metrics::Metrics::default());
        let (draining, drain) = watch::channel(false);
        let uploader = tokio::spawn(uploader::run_uploader(
            store,
            wal.clone(),
            leftovers,
            sealed,
            drain,
            config.zstd_level,
            metrics.clone(),
        ));
        Ok(Arc::new(Collector {
            admission: admission::Admission::new(
                &config.sites,
                config.rate_limit_per_s,
                config.rate_limit_burst,
            ),
            limits,
            config,
            wal,
            metrics,
            uploader: Mutex::new(Some((uploader, draining))),
            rrweb_sessions: Mutex::new(HashMap::new()),
            sites_seen: Mutex::new(std::collections::BTreeSet::new()),
        }))
    }

    /// Logs accepted streams of `site` durably; returns once they are on disk.
    pub async fn accept(&self, site: &str, streams: Vec<Stream>) -> Result<(), WalError> {
        for stream in streams {
            self.wal
                .append(&WalRecord {
                    site: site.to_owned(),
                    stream,
                })
                .await?;
        }
        let mut sites = self
            .sites_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !sites.contains(site) {
            sites.insert(site.to_owned());
        }
        Ok(())
    }

    /// Returns the sites this collector has accepted batches for since it started.
    pub fn sites_seen(&self) -> Vec<String> {
        self.sites_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Converts a batch of rrweb events of `site`/`session`, carrying state between batches.
    pub fn convert_rrweb(
        &self,
        site: &str,
        session: &str,
        events: &[rrweb::RrwebEvent],
    ) -> Result<Vec<Stream>, WireError> {
        let mut sessions = self
            .rrweb_sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (site.to_owned(), session.to_owned());
        if !sessions.contains_key(&key) && sessions.len() >= self.config.max_rrweb_sessions {
            // Forget the least recently used session; it starts over at its next Meta event.
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        let (state, used) = sessions
            .entry(key)
            .or_insert_with(|| (rrweb::RrwebSession::default(), Instant::now()));
        *used = Instant::now();
        state.convert(session, events, &self.limits)
    }

    /// Runs `server`; once it returns (no request in flight), seals the log and keeps uploading
    /// until everything is stored or the shutdown timeout passes (the rest stays in the log for
    /// the next start).
    pub async fn run_alongside(self: &Arc<Self>, server: impl Future<Output = ()>) {
        server.await;
        self.wal.seal().await;
        let uploader = self
            .uploader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let Some((task, draining)) = uploader else {
            return;
        };
        let _ = draining.send(true);
        let timeout = Duration::from_millis(self.config.shutdown_timeout_ms);
        let abort = task.abort_handle();
        match tokio::time::timeout(timeout, task).await {
            Ok(_) => tracing::info!("everything acknowledged is stored"),
            Err(_) => {
                abort.abort();
                tracing::warn!(
                    pending_bytes = self.wal.pending_bytes(),
                    "shutdown timeout: the rest stays in the log for the next start"
                );
            }
        }
    }
}

/// All collector routes: `/v1/collect`, `/v1/rrweb/{site}/{session}`, `/t.js`.
pub fn routes(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let collector_for_metrics = collector.clone();
    routes::collect::collect_filter(collector.clone())
        .or(routes::rrweb::rrweb_filter(collector))
        .unify()
        .or(routes::tracker::tracker_filter())
        .unify()
        .or(routes::metrics_filter(collector_for_metrics))
        .unify()
}

/// Serves the collector alone on `listener` until `shutdown` resolves, then seals and uploads
/// everything buffered before returning.
pub async fn serve(
    collector: Arc<Collector>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let filter = routes(collector.clone())
        .or(heatpipe_io::http::healthz_filter())
        .recover(heatpipe_io::http::recover);
    let server = warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run();
    collector.run_alongside(server).await;
}
