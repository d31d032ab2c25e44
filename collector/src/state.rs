//! The collector's state, shared by every request: its configuration, admission, the
//! write-ahead log, the metrics, the rrweb sessions being converted and the uploader task. Routes
//! reach everything through [`Collector`]; [`Collector::run_alongside`] is the shutdown sequence.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heatpipe_core::event::Stream;
use heatpipe_core::wire::{WireError, WireLimits};
use heatpipe_io::store::ObjectStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admission::Admission;
use crate::config::CollectorConfig;
use crate::metrics::Metrics;
use crate::rrweb::{RrwebEvent, RrwebSession};
use crate::uploader::run_uploader;
use crate::wal::{Wal, WalError, WalOpenError, WalRecord};

/// The collector's state, shared by every request.
#[derive(Debug)]
pub struct Collector {
    pub config: CollectorConfig,
    pub limits: WireLimits,
    pub admission: Admission,
    pub wal: Arc<Wal>,
    pub metrics: Arc<Metrics>,
    uploader: Mutex<Option<(JoinHandle<()>, watch::Sender<bool>)>>,
    rrweb_sessions: Mutex<HashMap<(String, String), (RrwebSession, Instant)>>,
    sites_seen: Mutex<BTreeSet<String>>,
}

impl Collector {
    /// Opens the write-ahead log and starts uploading: first what an earlier run left in the
    /// log, then every segment sealed from now on. Must be called inside a tokio runtime.
    pub fn open(
        store: Arc<dyn ObjectStore>,
        config: CollectorConfig,
    ) -> Result<Arc<Self>, WalOpenError> {
        let (wal, leftovers, sealed) = Wal::open(config.wal_settings(&store.identity()))?;
        if !leftovers.is_empty() {
            tracing::info!(
                segments = leftovers.len(),
                "uploading log segments left by an earlier run"
            );
        }
        let wal = Arc::new(wal);
        let metrics = Arc::new(Metrics::default());
        let (draining, drain) = watch::channel(false);
        let uploader = tokio::spawn(run_uploader(
            store,
            wal.clone(),
            leftovers,
            sealed,
            drain,
            config.zstd_level,
            metrics.clone(),
        ));
        Ok(Arc::new(Collector {
            admission: Admission::new(
                &config.sites,
                config.rate_limit_per_s,
                config.rate_limit_burst,
            ),
            limits: config.wire_limits(),
            config,
            wal,
            metrics,
            uploader: Mutex::new(Some((uploader, draining))),
            rrweb_sessions: Mutex::new(HashMap::new()),
            sites_seen: Mutex::new(BTreeSet::new()),
        }))
    }

    /// Logs accepted streams of `site` durably; returns once they are on disk.
    pub async fn accept(&self, site: &str, streams: Vec<Stream>) -> Result<(), WalError> {
        let records: Vec<WalRecord> = streams
            .into_iter()
            .map(|stream| WalRecord {
                site: site.to_owned(),
                stream,
            })
            .collect();
        self.wal.append_all(&records).await?;
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
        events: &[RrwebEvent],
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
            .or_insert_with(|| (RrwebSession::default(), Instant::now()));
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
        let mut task = task;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(_) => tracing::info!("everything acknowledged is stored"),
            Err(_) => {
                task.abort();
                // Wait until the uploader is gone, so that its hold on the log ends with us.
                let _ = task.await;
                tracing::warn!(
                    pending_bytes = self.wal.pending_bytes(),
                    "shutdown timeout: the rest stays in the log for the next start"
                );
            }
        }
    }
}
