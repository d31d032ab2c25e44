//! Getting chunks from the store: whole chunks a window at a time with bounded concurrency, or
//! just their headers (ranged GETs) when a shard needs the whole day's batch list; and the
//! de-duplication of repeated batches from chunk headers alone.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use heatpipe_core::chunk::decode::header_end;
use heatpipe_core::chunk::{ChunkIndex, PREAMBLE_LEN, decode_header};
use heatpipe_core::store::ObjectStore;

use crate::accumulate::{FastMap, session_key};
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

/// The batches seen so far: per session (by the 128-bit hash of its id, 16 bytes whatever the
/// id's length), the sequence numbers seen. A session's first 64 batches are bits of one word,
/// so a chunk's batches cost one lookup per session rather than one hash-set insert per batch.
/// The keys are already hashes, so the map hashes them with foldhash rather than SipHash.
#[derive(Default)]
pub struct SeenBatches(FastMap<u128, SeenSequences>);

/// The sequence numbers seen of one session.
#[derive(Default)]
struct SeenSequences {
    /// Bit `n` is sequence number `n`, for numbers below 64.
    low: u64,
    /// Numbers from 64 up: rare (a batch every few seconds makes 64 a long session).
    high: BTreeSet<u64>,
}

impl SeenSequences {
    /// Records `seq`; returns whether it is new.
    fn insert(&mut self, seq: u64) -> bool {
        if seq < 64 {
            let bit = 1u64 << seq;
            let fresh = self.low & bit == 0;
            self.low |= bit;
            return fresh;
        }
        self.high.insert(seq)
    }
}

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
                    let seen = self.0.entry(session_key(&session.session_id)).or_default();
                    for stream in &session.streams {
                        let fresh = seen.insert(stream.batch_seq);
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

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::chunk::encode_chunk;
    use heatpipe_core::event::Stream;
    use heatpipe_fixtures::SessionBuilder;

    /// A chunk of session `id`'s batches numbered `seqs`, in that order.
    fn chunk(id: &str, seqs: &[u64]) -> ChunkIndex {
        let batch = SessionBuilder::new(id, "https://shop.example/", 1_000)
            .click(10, 1, 1, "#a")
            .build()
            .remove(0);
        let streams: Vec<Stream> = seqs
            .iter()
            .map(|&seq| Stream {
                batch_seq: seq,
                ..batch.clone()
            })
            .collect();
        let bytes = encode_chunk(&streams, 3).expect("encode");
        decode_header(&bytes).expect("header")
    }

    /// The chunk's marks, one per stream, and how many were repeats.
    fn marks(seen: &mut SeenBatches, index: &ChunkIndex, partition: Partition) -> (Vec<bool>, u64) {
        let (marks, repeats) = seen.mark_repeats(index, partition);
        (marks.into_iter().flatten().collect(), repeats)
    }

    #[test]
    fn a_batch_is_a_repeat_once_seen_in_this_chunk_or_an_earlier_one() {
        let mut seen = SeenBatches::default();
        let seqs = [0, 1, 63, 64, 1_000, 1, 64];
        assert_eq!(
            marks(&mut seen, &chunk("s1", &seqs), Partition::WHOLE),
            ([false, false, false, false, false, true, true].to_vec(), 2)
        );
        // The same numbers of another session are not repeats; the same session's are.
        assert_eq!(
            marks(&mut seen, &chunk("s2", &[0, 64]), Partition::WHOLE),
            (vec![false, false], 0)
        );
        assert_eq!(
            marks(
                &mut seen,
                &chunk("s1", &[1_000, 2, 63, 65]),
                Partition::WHOLE
            ),
            (vec![true, false, true, false], 2)
        );
    }

    #[test]
    fn sessions_outside_the_pass_are_skipped_and_not_remembered() {
        let index = chunk("s1", &[0, 1]);
        let owner = (0..2)
            .map(|index| Partition { index, count: 2 })
            .find(|pass| pass.includes("s1"))
            .expect("one pass owns the session");
        let other = Partition {
            index: 1 - owner.index,
            count: 2,
        };
        let mut seen = SeenBatches::default();
        assert_eq!(marks(&mut seen, &index, other), (vec![true, true], 0));
        assert!(seen.0.is_empty());
        assert_eq!(marks(&mut seen, &index, owner), (vec![false, false], 0));
    }
}
