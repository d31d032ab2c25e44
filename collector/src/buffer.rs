//! Buffers accepted streams per partition (site, UTC date and hour of the page view start) and
//! seals each partition into a chunk by size or age, uploading it to the store.
//!
//! Chunk keys carry this collector's id and a segment number that only grows (it starts at the
//! process start time in microseconds), so no two seals ever share a key. An upload that fails
//! puts its streams back so they are tried again at the next seal.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::chunk::encode_chunk;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{chunk_key, date_hour_of_ms};
use heatpipe_core::store::ObjectStore;

use crate::config::CollectorConfig;

/// Rough in-memory cost of a stream and of an event, to decide when a partition is full.
const STREAM_OVERHEAD_BYTES: usize = 256;
const EVENT_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Partition {
    site: String,
    date: NaiveDate,
    hour: u32,
}

#[derive(Debug)]
struct Pending {
    streams: Vec<Stream>,
    size_bytes: usize,
    opened_at: Instant,
}

/// Counts of what the buffer has done, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BufferStats {
    pub chunks_written: u64,
    pub upload_failures: u64,
    pub streams_pending: u64,
}

/// Accepted streams waiting to be sealed into chunks.
#[derive(Debug)]
pub struct ChunkBuffer {
    store: Arc<dyn ObjectStore>,
    collector_id: String,
    seal_size_bytes: usize,
    seal_age: Duration,
    zstd_level: i32,
    next_segment: AtomicU64,
    pending: Mutex<HashMap<Partition, Pending>>,
    chunks_written: AtomicU64,
    upload_failures: AtomicU64,
}

impl ChunkBuffer {
    pub fn new(store: Arc<dyn ObjectStore>, config: &CollectorConfig) -> Self {
        let start_micros = chrono::Utc::now().timestamp_micros().max(0) as u64;
        ChunkBuffer {
            store,
            collector_id: config.collector_id.clone(),
            seal_size_bytes: config.seal_size_bytes,
            seal_age: Duration::from_millis(config.seal_age_ms),
            zstd_level: config.zstd_level,
            next_segment: AtomicU64::new(start_micros),
            pending: Mutex::new(HashMap::new()),
            chunks_written: AtomicU64::new(0),
            upload_failures: AtomicU64::new(0),
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<Partition, Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds accepted streams of `site`; seals and uploads a partition that became full.
    pub async fn append(&self, site: &str, streams: Vec<Stream>) {
        let mut full = Vec::new();
        {
            let mut pending = self.pending();
            for stream in streams {
                let (date, hour) = date_hour_of_ms(stream.page.started_at_ms);
                let partition = Partition {
                    site: site.to_owned(),
                    date,
                    hour,
                };
                let entry = pending.entry(partition.clone()).or_insert_with(|| Pending {
                    streams: Vec::new(),
                    size_bytes: 0,
                    opened_at: Instant::now(),
                });
                entry.size_bytes += STREAM_OVERHEAD_BYTES + EVENT_BYTES * stream.num_events();
                entry.streams.push(stream);
                if entry.size_bytes >= self.seal_size_bytes
                    && let Some(sealed) = pending.remove(&partition)
                {
                    full.push((partition, sealed.streams));
                }
            }
        }
        for (partition, streams) in full {
            self.upload(partition, streams).await;
        }
    }

    /// Seals every partition whose oldest batch is older than the configured age.
    pub async fn seal_due(&self) {
        let now = Instant::now();
        let due: Vec<(Partition, Vec<Stream>)> = {
            let mut pending = self.pending();
            let keys: Vec<Partition> = pending
                .iter()
                .filter(|(_, p)| now.duration_since(p.opened_at) >= self.seal_age)
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| pending.remove(&k).map(|p| (k, p.streams)))
                .collect()
        };
        for (partition, streams) in due {
            self.upload(partition, streams).await;
        }
    }

    /// Seals and uploads everything pending, whatever its age (on shutdown, and in tests).
    pub async fn flush(&self) {
        let all: Vec<(Partition, Vec<Stream>)> = self
            .pending()
            .drain()
            .map(|(k, p)| (k, p.streams))
            .collect();
        for (partition, streams) in all {
            self.upload(partition, streams).await;
        }
    }

    /// Returns what the buffer has done so far.
    pub fn stats(&self) -> BufferStats {
        BufferStats {
            chunks_written: self.chunks_written.load(Ordering::Relaxed),
            upload_failures: self.upload_failures.load(Ordering::Relaxed),
            streams_pending: self
                .pending()
                .values()
                .map(|p| p.streams.len() as u64)
                .sum(),
        }
    }

    async fn upload(&self, partition: Partition, streams: Vec<Stream>) {
        let segment = self.next_segment.fetch_add(1, Ordering::Relaxed);
        let key = chunk_key(
            &partition.site,
            partition.date,
            partition.hour,
            &self.collector_id,
            segment,
        );
        let level = self.zstd_level;
        let (streams, encoded) = match tokio::task::spawn_blocking(move || {
            let encoded = encode_chunk(&streams, level);
            (streams, encoded)
        })
        .await
        {
            Ok(result) => result,
            Err(err) => {
                tracing::error!(chunk = %key, error = %err, "chunk encoding task failed");
                return;
            }
        };
        let result = match encoded {
            Ok(bytes) => self
                .store
                .put(&key, Bytes::from(bytes))
                .await
                .map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        };
        match result {
            Ok(()) => {
                self.chunks_written.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(chunk = %key, streams = streams.len(), "chunk stored");
            }
            Err(error) => {
                self.upload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(chunk = %key, %error, "chunk upload failed; keeping its streams for the next seal");
                let mut pending = self.pending();
                let entry = pending.entry(partition).or_insert_with(|| Pending {
                    streams: Vec::new(),
                    size_bytes: 0,
                    opened_at: Instant::now(),
                });
                entry.size_bytes += streams
                    .iter()
                    .map(|s| STREAM_OVERHEAD_BYTES + EVENT_BYTES * s.num_events())
                    .sum::<usize>();
                entry.streams.extend(streams);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::chunk::decode_chunk;
    use heatpipe_core::store::MemoryStore;
    use heatpipe_fixtures::SessionBuilder;

    fn config(seal_size_bytes: usize) -> CollectorConfig {
        CollectorConfig {
            collector_id: "test".into(),
            seal_size_bytes,
            ..CollectorConfig::default()
        }
    }

    #[tokio::test]
    async fn partitions_by_site_and_hour_and_flushes_everything() {
        let store = Arc::new(MemoryStore::new());
        let buffer = ChunkBuffer::new(store.clone(), &config(1 << 30));
        let hour_ms = 3_600_000;
        let a = SessionBuilder::new("a", "https://x.example/", 1_763_769_600_000)
            .click(1, 2, 3, "#b")
            .build();
        let b = SessionBuilder::new("b", "https://x.example/", 1_763_769_600_000 + hour_ms).build();
        buffer.append("shop", a.clone()).await;
        buffer.append("shop", b.clone()).await;
        buffer.append("blog", a.clone()).await;
        assert!(
            store.list("raw/").await.expect("list").is_empty(),
            "nothing sealed before a flush"
        );
        buffer.flush().await;
        let keys: Vec<String> = store
            .list("raw/")
            .await
            .expect("list")
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(
            keys.iter()
                .any(|k| k.starts_with("raw/blog/2025-11-22/00/test-"))
        );
        assert!(
            keys.iter()
                .any(|k| k.starts_with("raw/shop/2025-11-22/01/test-"))
        );
        let shop_first = keys
            .iter()
            .find(|k| k.starts_with("raw/shop/2025-11-22/00/"))
            .expect("key");
        assert_eq!(
            decode_chunk(&store.get(shop_first).await.expect("get")).expect("decode"),
            a
        );
        assert_eq!(
            buffer.stats(),
            BufferStats {
                chunks_written: 3,
                upload_failures: 0,
                streams_pending: 0
            }
        );
    }

    #[tokio::test]
    async fn a_full_partition_is_sealed_at_once() {
        let store = Arc::new(MemoryStore::new());
        let buffer = ChunkBuffer::new(store.clone(), &config(1));
        let streams = SessionBuilder::new("a", "https://x.example/", 1_763_769_600_000).build();
        buffer.append("shop", streams).await;
        assert_eq!(store.list("raw/shop/").await.expect("list").len(), 1);
    }
}
