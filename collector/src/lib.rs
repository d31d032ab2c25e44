//! heatpipe-collector: the ingest server. It accepts native batches from the tracker and rrweb
//! recorder events, validates them, buffers them per site and hour, and seals them into `.hpc`
//! chunks under `raw/` in the store, by size, by age and on shutdown.
//!
//! # Layout
//! - [`config`] — `CollectorConfig`.
//! - [`body`] — content type, content encoding and bounded decompression.
//! - [`rrweb`] — rrweb events → streams, with per-session state.
//! - [`buffer`] — partitions, sealing and upload.
//! - [`routes`] — the HTTP routes and the tracker script.

pub mod body;
pub mod buffer;
pub mod config;
pub mod routes;
pub mod rrweb;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heatpipe_core::event::Stream;
use heatpipe_core::store::ObjectStore;
use heatpipe_core::wire::{WireError, WireLimits};
use tokio::net::TcpListener;
use tokio::sync::watch;
use warp::Filter;
use warp::reply::Response;

pub use buffer::{BufferStats, ChunkBuffer};
pub use config::CollectorConfig;

/// The collector's state, shared by every request.
#[derive(Debug)]
pub struct Collector {
    pub config: CollectorConfig,
    pub limits: WireLimits,
    pub buffer: Arc<ChunkBuffer>,
    rrweb_sessions: Mutex<HashMap<(String, String), (rrweb::RrwebSession, Instant)>>,
    sites_seen: Mutex<std::collections::BTreeSet<String>>,
}

impl Collector {
    pub fn new(store: Arc<dyn ObjectStore>, config: CollectorConfig) -> Arc<Self> {
        let limits = WireLimits {
            max_events_per_batch: config.max_events_per_batch,
            keep_query: config.keep_query,
            ..WireLimits::default()
        };
        Arc::new(Collector {
            buffer: Arc::new(ChunkBuffer::new(store, &config)),
            limits,
            config,
            rrweb_sessions: Mutex::new(HashMap::new()),
            sites_seen: Mutex::new(std::collections::BTreeSet::new()),
        })
    }

    /// Buffers accepted streams of `site` and remembers that the site is active.
    pub async fn accept(&self, site: &str, streams: Vec<Stream>) {
        {
            let mut sites = self
                .sites_seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !sites.contains(site) {
                sites.insert(site.to_owned());
            }
        }
        self.buffer.append(site, streams).await;
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

    /// Runs `server` with the sealer alongside (sealing partitions as they age); once `server`
    /// returns, seals and uploads everything still buffered.
    pub async fn run_alongside(self: &Arc<Self>, server: impl Future<Output = ()>) {
        let (stop_sender, mut stop) = watch::channel(false);
        let collector = self.clone();
        let period = Duration::from_millis((collector.config.seal_age_ms / 4).clamp(50, 1000));
        let sealer = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = ticker.tick() => collector.buffer.seal_due().await,
                    _ = stop.changed() => break,
                }
            }
        });
        server.await;
        let _ = stop_sender.send(true);
        if let Err(err) = sealer.await {
            tracing::error!(error = %err, "sealer task failed");
        }
        self.buffer.flush().await;
    }
}

/// All collector routes: `/v1/collect`, `/v1/rrweb/{site}/{session}`, `/t.js`.
pub fn routes(
    collector: Arc<Collector>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    routes::collect::collect_filter(collector.clone())
        .or(routes::rrweb::rrweb_filter(collector))
        .unify()
        .or(routes::tracker::tracker_filter())
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
        .or(heatpipe_core::http::healthz_filter())
        .recover(heatpipe_core::http::recover);
    let server = warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run();
    collector.run_alongside(server).await;
}
