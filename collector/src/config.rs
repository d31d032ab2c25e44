//! The collector's configuration: one struct, every field with a default.

use serde::Deserialize;

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
    /// A partition (site, date, hour) is sealed into a chunk once its events take about this much.
    pub seal_size_bytes: usize,
    /// …or once its oldest batch has waited this long.
    pub seal_age_ms: u64,
    /// zstd level of sealed chunks.
    pub zstd_level: i32,
    /// Whether query strings are part of page identity.
    pub keep_query: bool,
    /// How many rrweb sessions' conversion state (open page view, scroll offset) is kept.
    pub max_rrweb_sessions: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            collector_id: default_collector_id(),
            max_body_bytes: 1 << 20,
            max_decompressed_bytes: 8 << 20,
            max_events_per_batch: 20_000,
            seal_size_bytes: 4 << 20,
            seal_age_ms: 10_000,
            zstd_level: heatpipe_core::chunk::DEFAULT_ZSTD_LEVEL,
            keep_query: false,
            max_rrweb_sessions: 100_000,
        }
    }
}

/// A random id per process, so two collectors sharing a store never write the same key.
fn default_collector_id() -> String {
    format!("c{:08x}", rand::random::<u32>())
}
