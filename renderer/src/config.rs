//! The renderer's configuration: one struct, every field with a default.

use serde::Deserialize;

/// How the renderer serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RendererConfig {
    /// Rendered PNGs kept in memory, keyed by their ETag.
    pub png_cache_entries: usize,
    /// Most sessions one `sessions` request lists.
    pub max_sessions_listed: usize,
    /// Session indexes kept decoded between requests, in MiB of their decompressed bodies
    /// (decoded, an index takes about five times that). A day's index larger than this is read
    /// one session at a time on each request instead: slower, in bounded memory.
    pub session_index_cache_mib: u64,
}

impl Default for RendererConfig {
    fn default() -> Self {
        RendererConfig {
            png_cache_entries: 64,
            max_sessions_listed: 1000,
            session_index_cache_mib: 64,
        }
    }
}
