//! The collector's state, shared by every request: its configuration, admission, the
//! write-ahead log, the metrics and the uploader task. It keeps nothing of any session between
//! requests, so any batch may reach any collector. Routes reach everything through
//! [`Collector`]; [`Collector::run_alongside`] is the shutdown sequence.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use heatpipe_core::wire::WireLimits;
use heatpipe_io::store::ObjectStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admission::Admission;
use crate::config::CollectorConfig;
use crate::metrics::Metrics;
use crate::uploader::run_uploader;
use crate::wal::{LoggedBatch, Wal, WalError, WalOpenError, WalRecord};

/// The collector's state, shared by every request.
#[derive(Debug)]
pub struct Collector {
    pub config: CollectorConfig,
    pub limits: WireLimits,
    pub admission: Admission,
    pub wal: Arc<Wal>,
    pub metrics: Arc<Metrics>,
    uploader: Mutex<Option<(JoinHandle<()>, watch::Sender<bool>)>>,
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
            sites_seen: Mutex::new(BTreeSet::new()),
        }))
    }

    /// Logs accepted batches of `site` durably, all or none; returns once they are on disk.
    pub async fn accept(&self, site: &str, batches: Vec<LoggedBatch>) -> Result<(), WalError> {
        let records: Vec<WalRecord> = batches
            .into_iter()
            .map(|batch| WalRecord {
                site: site.to_owned(),
                batch,
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
