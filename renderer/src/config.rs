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
    /// How often the token list and the share key are read again from the store, so that a
    /// token revoked on another host stops working within this time (at least 100 ms). An
    /// unknown token also reloads the list, at most once a second.
    pub token_refresh_ms: u64,
    /// The address people reach the read side at, as `https://heatmaps.example`: share links
    /// are answered as this followed by their path. Empty: the path alone, relative to the
    /// address the request came to.
    pub share_base_url: String,
}

impl Default for RendererConfig {
    fn default() -> Self {
        RendererConfig {
            png_cache_entries: 64,
            max_sessions_listed: 1000,
            session_index_cache_mib: 64,
            token_refresh_ms: 5_000,
            share_base_url: String::new(),
        }
    }
}

impl RendererConfig {
    /// Returns the time between reloads of the token list and the share key.
    pub fn token_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.token_refresh_ms.max(100))
    }
}
