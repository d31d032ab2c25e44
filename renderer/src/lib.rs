//! heatpipe-renderer: the read side. It serves the page list, heatmap PNG overlays and scroll
//! maps, scroll-depth curves, session lists and replay timelines from the processor's outputs,
//! and the web viewer on top.
//!
//! # Layout
//! - [`error`] — `RenderError` and its HTTP status; running work on the rayon pool.
//! - [`query`] — date ranges, page and device parameters.
//! - [`data`] — loading and merging stored aggregates and indexes over a range.
//! - [`density`] — kernel density over grid cells, painted into palette indexes.
//! - [`png`] — heatmap palettes and normalization, palette PNG encoding.
//! - [`compare`] — diverging difference maps of two segments or date ranges.
//! - [`composite`] — overlays blended over stored page screenshots.
//! - [`render`] — one page's heatmap image, for the endpoint and the batch command.
//! - [`scroll_map`] — scroll maps and the scroll-depth report.
//! - [`sessions`] — the filtered session list and one session's lookup, day by day.
//! - [`snapshot`] — full-page screenshots with headless Chromium, for composites.
//! - [`timeline`] — replay timelines from ranged reads of session blocks.
//! - [`routes`] — the HTTP routes and the viewer.

pub mod compare;
pub mod composite;
pub mod data;
pub mod density;
pub mod error;
pub mod png;
pub mod query;
pub mod render;
pub mod routes;
pub mod scroll_map;
pub mod sessions;
pub mod snapshot;
pub mod timeline;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use heatpipe_io::store::ObjectStore;
use serde::Deserialize;
use tokio::net::TcpListener;
use warp::Filter;
use warp::reply::Response;

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

/// Rendered PNGs by ETag, oldest evicted first.
#[derive(Debug, Default)]
struct PngCache {
    images: HashMap<String, Bytes>,
    order: VecDeque<String>,
}

/// The renderer's state, shared by every request.
#[derive(Debug)]
pub struct Renderer {
    pub store: Arc<dyn ObjectStore>,
    pub config: RendererConfig,
    png_cache: Mutex<PngCache>,
    /// Decoded session indexes, for `sessions` and `timeline`.
    pub session_indexes: data::SessionIndexCache,
}

impl Renderer {
    pub fn new(store: Arc<dyn ObjectStore>, config: RendererConfig) -> Arc<Self> {
        let session_indexes =
            data::SessionIndexCache::new(config.session_index_cache_mib.saturating_mul(1 << 20));
        Arc::new(Renderer {
            store,
            config,
            png_cache: Mutex::new(PngCache::default()),
            session_indexes,
        })
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, PngCache> {
        self.png_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the cached PNG of `etag`, if any.
    pub fn cached_png(&self, etag: &str) -> Option<Bytes> {
        self.cache().images.get(etag).cloned()
    }

    /// Keeps `png` under `etag`, evicting the oldest entries past the configured size.
    pub fn cache_png(&self, etag: String, png: Bytes) {
        let mut cache = self.cache();
        if cache.images.insert(etag.clone(), png).is_none() {
            cache.order.push_back(etag);
        }
        while cache.order.len() > self.config.png_cache_entries {
            if let Some(oldest) = cache.order.pop_front() {
                cache.images.remove(&oldest);
            }
        }
    }
}

/// All renderer routes: the read API and the viewer.
pub fn routes(
    renderer: Arc<Renderer>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    use routes::{elements, heatmap, listing, viewer};
    heatmap::heatmap_filter(renderer.clone())
        .or(listing::pages_filter(renderer.clone()))
        .unify()
        .or(elements::elements_filter(renderer.clone()))
        .unify()
        .or(listing::scroll_depth_filter(renderer.clone()))
        .unify()
        .or(listing::sessions_filter(renderer.clone()))
        .unify()
        .or(listing::timeline_filter(renderer))
        .unify()
        .or(viewer::viewer_filter())
        .unify()
}

/// Serves the renderer alone on `listener` until `shutdown` resolves.
pub async fn serve(
    renderer: Arc<Renderer>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let health = heatpipe_io::http::healthz_filter();
    let filter = routes(renderer)
        .or(health)
        .recover(heatpipe_io::http::recover);
    warp::serve(filter)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}
