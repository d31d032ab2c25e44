//! The renderer's state, shared by every request: the store it reads, its configuration, the
//! rendered PNGs and the decoded session indexes it keeps between requests, the token list and
//! the share-link key.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use heatpipe_io::store::ObjectStore;

use crate::auth::{ShareKeyCache, TokenCache};
use crate::config::RendererConfig;
use crate::data::SessionIndexCache;
use crate::erasure::Eraser;
use crate::png_cache::PngCache;

/// The renderer's state, shared by every request.
#[derive(Debug)]
pub struct Renderer {
    pub store: Arc<dyn ObjectStore>,
    pub config: RendererConfig,
    png_cache: PngCache,
    /// Decoded session indexes, for `sessions` and `timeline`.
    pub session_indexes: SessionIndexCache,
    /// The API tokens, as last read from the store.
    pub tokens: TokenCache,
    /// The key share links are signed with, as last read from the store.
    pub share_key: ShareKeyCache,
    /// What erases sessions and visitors, once the embedding server installs it.
    eraser: OnceLock<Arc<dyn Eraser>>,
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
            tokens: TokenCache::new(),
            share_key: ShareKeyCache::default(),
            eraser: OnceLock::new(),
        })
    }

    /// Lets requests through without a token while none exists, as [`crate::serve`] does on a
    /// loopback listener; for tests and embedding that route requests themselves.
    pub fn on_loopback(self: Arc<Self>) -> Arc<Self> {
        self.tokens.set_open_without_tokens(true);
        self
    }

    /// Reads the token list and the share key again every `token_refresh_ms`, until dropped.
    /// Servers run it beside their listeners.
    pub async fn refresh_auth(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(self.config.token_refresh());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = self.tokens.reload(&self.store).await {
                tracing::warn!(error = %err, "cannot reload the token list; keeping the last one");
            }
            if let Err(err) = self.share_key.reload(&self.store).await {
                tracing::warn!(error = %err, "cannot reload the share key; keeping the last one");
            }
        }
    }

    /// Installs what the erasure routes call; a second call changes nothing.
    pub fn set_eraser(&self, eraser: Arc<dyn Eraser>) {
        let _ = self.eraser.set(eraser);
    }

    /// Returns the installed eraser, if any.
    pub fn eraser(&self) -> Option<&Arc<dyn Eraser>> {
        self.eraser.get()
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
