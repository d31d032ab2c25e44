//! The collector's configuration: one struct, every field with a default.

use std::path::PathBuf;
use std::time::Duration;

use heatpipe_core::wire::WireLimits;
use serde::Deserialize;

use crate::admission::SiteConfig;
use crate::wal::WalSettings;

/// How the collector accepts, buffers and seals batches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// Names this collector in chunk keys; give each collector of a fleet its own.
    pub collector_id: String,
    /// Largest request body accepted, as sent (compressed or not).
    pub max_body_bytes: u64,
    /// Largest request body accepted after gzip or zstd decompression.
    pub max_decompressed_bytes: u64,
    /// Largest number of events in one batch.
    pub max_events_per_batch: usize,
    /// Folder of the write-ahead log; a batch is acknowledged once it is fsynced there. By
    /// default it follows the store ([`default_wal_dir`]), so a log is never shared by two stores.
    pub wal_dir: Option<PathBuf>,
    /// A log segment is sealed (and its chunks uploaded) once it holds this many bytes…
    pub seal_size_bytes: u64,
    /// …or once it has been open this long.
    pub seal_age_ms: u64,
    /// Batches are refused with 503 while this many logged bytes are not yet stored
    /// (the store is down or slow).
    pub max_pending_bytes: u64,
    /// On shutdown, how long to keep uploading before leaving the rest in the log for next start.
    pub shutdown_timeout_ms: u64,
    /// zstd level of sealed chunks.
    pub zstd_level: i32,
    /// Whether query strings are part of page identity.
    pub keep_query: bool,
    /// The sites accepted, with their origins and sampling; empty: any valid site name.
    pub sites: Vec<SiteConfig>,
    /// Batches per second each client (by address, kept in memory only) may send; 0: no limit.
    pub rate_limit_per_s: u32,
    /// Batches a client may send at once before the rate applies.
    pub rate_limit_burst: u32,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            collector_id: default_collector_id(),
            max_body_bytes: 1 << 20,
            max_decompressed_bytes: 8 << 20,
            max_events_per_batch: 20_000,
            wal_dir: None,
            seal_size_bytes: 8 << 20,
            seal_age_ms: 60_000,
            max_pending_bytes: 1 << 30,
            shutdown_timeout_ms: 10_000,
            zstd_level: heatpipe_core::chunk::DEFAULT_ZSTD_LEVEL,
            keep_query: false,
            sites: Vec::new(),
            rate_limit_per_s: 200,
            rate_limit_burst: 400,
        }
    }
}

impl CollectorConfig {
    /// Returns the limits batches are validated against.
    pub fn wire_limits(&self) -> WireLimits {
        WireLimits {
            max_events_per_batch: self.max_events_per_batch,
            keep_query: self.keep_query,
            ..WireLimits::default()
        }
    }

    /// Returns how this collector's write-ahead log, feeding the store named `store_identity`,
    /// seals and refuses.
    pub fn wal_settings(&self, store_identity: &str) -> WalSettings {
        WalSettings {
            dir: self
                .wal_dir
                .clone()
                .unwrap_or_else(|| default_wal_dir(store_identity)),
            store_identity: store_identity.to_owned(),
            collector_id: self.collector_id.clone(),
            segment_max_bytes: self.seal_size_bytes,
            segment_max_age: Duration::from_millis(self.seal_age_ms),
            max_pending_bytes: self.max_pending_bytes,
        }
    }
}

/// Where the log of the store named `store_identity` lives unless configured: inside a local
/// store (`{root}/.wal`, a name no store key can take), else a folder of its own under the user's
/// state directory (`$XDG_STATE_HOME`, or `~/.local/state`): `heatpipe/wal/{store}-{hash}`.
pub fn default_wal_dir(store_identity: &str) -> PathBuf {
    if let Some(root) = store_identity.strip_prefix("file://") {
        return PathBuf::from(root).join(".wal");
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".heatpipe-state"));
    let readable: String = store_identity
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(80)
        .collect();
    let hash = crc32fast::hash(store_identity.as_bytes());
    state
        .join("heatpipe/wal")
        .join(format!("{}-{hash:08x}", readable.trim_matches('-')))
}

/// A random id per process, so two collectors sharing a store never write the same key.
fn default_collector_id() -> String {
    format!("c{:08x}", rand::random::<u32>())
}
