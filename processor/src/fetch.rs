//! Getting chunks from the store: whole chunks a window at a time with bounded concurrency, or
//! just their headers (ranged GETs) when a shard needs the whole day's batch list; and the
//! de-duplication of repeated batches from chunk headers alone.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use heatpipe_core::chunk::decode::header_end;
use heatpipe_core::chunk::{ChunkIndex, PREAMBLE_LEN, decode_header};
use heatpipe_core::store::ObjectStore;

use crate::accumulate::session_hash;
use crate::passes::Partition;

/// A fetched chunk with its decoded header, and which of its streams are repeats to skip.
pub struct FetchedChunk {
    /// Shared with every block reference into the chunk.
    pub key: Arc<str>,
    pub bytes: Bytes,
    pub index: ChunkIndex,
    /// Per block, per stream: true where an earlier chunk (in key order) had the same batch.
    pub skip: Vec<Vec<bool>>,
}

/// A chunk that could not be used, and why.
pub type Skipped = (String, String);

/// A chunk's key with its bytes and decoded header, or why it could not be read.
pub type Fetched = (String, Result<(Bytes, ChunkIndex), String>);

/// The batches seen so far, as 128-bit hashes of (session id, sequence number): 16 bytes a batch
/// whatever the length of the session id.
/// The keys are already hashes, so the set hashes them with foldhash rather than SipHash.
#[derive(Default)]
pub struct SeenBatches(HashSet<u128, foldhash::fast::RandomState>);

impl SeenBatches {
    /// Marks the streams of `index` to skip: those of sessions outside `partition`, and those
    /// whose batch was seen before; records the rest. Returns the marks and how many were
    /// repeats. Only the partition's batches are remembered, so a pass holds its share.
    pub fn mark_repeats(
        &mut self,
        index: &ChunkIndex,
        partition: Partition,
    ) -> (Vec<Vec<bool>>, u64) {
        let mut repeats = 0;
        let marks = index
            .header
            .blocks
            .iter()
            .map(|block| {
                let mut marks = Vec::with_capacity(block.num_streams());
                for session in &block.sessions {
                    if !partition.includes(&session.session_id) {
                        marks.extend(std::iter::repeat_n(true, session.streams.len()));
                        continue;
                    }
                    for stream in &session.streams {
                        let fresh = self
                            .0
                            .insert(session_hash(&session.session_id, stream.batch_seq));
                        repeats += u64::from(!fresh);
                        marks.push(!fresh);
                    }
                }
                marks
            })
            .collect();
        (marks, repeats)
    }
}

/// Fetches `keys` whole, `concurrency` at a time, and decodes their headers.
pub async fn fetch_chunks(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    concurrency: usize,
) -> Vec<Fetched> {
    stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = store.clone();
            async move {
                let result = match store.get(&key).await {
                    Ok(bytes) => decode_header(&bytes)
                        .map(|index| (bytes, index))
                        .map_err(|e| e.to_string()),
                    Err(err) => Err(err.to_string()),
                };
                (key, result)
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Bytes asked for first when only a header is wanted; most headers fit.
const HEADER_PROBE_BYTES: u64 = 16 << 10;

/// Fetches only the headers of `keys` with ranged GETs, `concurrency` at a time.
pub async fn fetch_headers(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    concurrency: usize,
) -> Vec<(String, Result<ChunkIndex, String>)> {
    stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = store.clone();
            async move {
                let result = fetch_header(store.as_ref(), &key).await;
                (key, result)
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn fetch_header(store: &dyn ObjectStore, key: &str) -> Result<ChunkIndex, String> {
    let probe = store
        .get_range(key, 0..HEADER_PROBE_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    if probe.len() < PREAMBLE_LEN {
        return decode_header(&probe).map_err(|e| e.to_string());
    }
    let end = header_end(&probe).map_err(|e| e.to_string())?;
    if end <= probe.len() {
        return decode_header(&probe).map_err(|e| e.to_string());
    }
    let whole = store
        .get_range(key, 0..end as u64)
        .await
        .map_err(|e| e.to_string())?;
    decode_header(&whole).map_err(|e| e.to_string())
}
