//! Rendered heatmap PNGs kept in memory by ETag, so a repeated request is answered without
//! drawing again; past its configured number of images the oldest is evicted first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

/// Rendered PNGs by ETag, oldest evicted first.
#[derive(Debug)]
pub struct PngCache {
    max_entries: usize,
    entries: Mutex<Entries>,
}

/// The images and the order they came in.
#[derive(Debug, Default)]
struct Entries {
    images: HashMap<String, Bytes>,
    order: VecDeque<String>,
}

impl PngCache {
    /// Returns an empty cache that keeps at most `max_entries` images.
    pub fn new(max_entries: usize) -> Self {
        PngCache {
            max_entries,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the cached PNG of `etag`, if any.
    pub fn get(&self, etag: &str) -> Option<Bytes> {
        self.entries().images.get(etag).cloned()
    }

    /// Keeps `png` under `etag`, evicting the oldest entries past the configured size.
    pub fn insert(&self, etag: String, png: Bytes) {
        let mut entries = self.entries();
        if entries.images.insert(etag.clone(), png).is_none() {
            entries.order.push_back(etag);
        }
        while entries.order.len() > self.max_entries {
            if let Some(oldest) = entries.order.pop_front() {
                entries.images.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_image_is_evicted_past_the_limit() {
        let cache = PngCache::new(2);
        for etag in ["a", "b", "a", "c"] {
            cache.insert(etag.into(), Bytes::from(etag));
        }
        assert_eq!(cache.get("a"), None, "replacing an image does not renew it");
        assert_eq!(cache.get("b"), Some(Bytes::from("b")));
        assert_eq!(cache.get("c"), Some(Bytes::from("c")));
    }
}
