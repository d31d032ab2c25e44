//! The renderer's state, shared by every request: the store it reads, its configuration, the
//! rendered PNGs and the decoded session indexes it keeps between requests.

use std::sync::Arc;

use bytes::Bytes;
use heatpipe_io::store::ObjectStore;

use crate::config::RendererConfig;
use crate::data::SessionIndexCache;
use crate::png_cache::PngCache;

/// The renderer's state, shared by every request.
#[derive(Debug)]
pub struct Renderer {
    pub store: Arc<dyn ObjectStore>,
    pub config: RendererConfig,
    png_cache: PngCache,
    /// Decoded session indexes, for `sessions` and `timeline`.
    pub session_indexes: SessionIndexCache,
}

impl Renderer {
    /// Returns the state of a renderer reading `store`.
    pub fn new(store: Arc<dyn ObjectStore>, config: RendererConfig) -> Arc<Self> {
        let session_indexes =
            SessionIndexCache::new(config.session_index_cache_mib.saturating_mul(1 << 20));
        Arc::new(Renderer {
            store,
            png_cache: PngCache::new(config.png_cache_entries),
            config,
            session_indexes,
        })
    }

    /// Returns the cached PNG of `etag`, if any.
    pub fn cached_png(&self, etag: &str) -> Option<Bytes> {
        self.png_cache.get(etag)
    }

    /// Keeps `png` under `etag`, evicting the oldest entries past the configured size.
    pub fn cache_png(&self, etag: String, png: Bytes) {
        self.png_cache.insert(etag, png);
    }
}
