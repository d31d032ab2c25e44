//! Getting chunks from the store: whole chunks a window at a time with bounded concurrency, or
//! just their headers (ranged GETs) when a shard needs the whole day's batch list; and the
//! de-duplication of repeated batches from chunk headers alone.
//!
//! Two failures are told apart here. A store that fails to give a chunk it listed (the chunk is
//! gone, or the store still fails after its retries) fails the run with
//! [`ProcessError::Chunk`]: the day would otherwise be written without the chunk, and a rerun
//! would write something else. Bytes that are not a chunk ([`FormatError`]) are the chunk's own
//! fault and will not change: the caller skips the chunk and reports it.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryFutureExt;
use futures::stream::{self, StreamExt, TryChunksError, TryStreamExt};
use heatpipe_core::chunk::decode::header_end;
use heatpipe_core::chunk::{ChunkIndex, PREAMBLE_LEN, decode_header};
use heatpipe_core::error::FormatError;
use heatpipe_io::store::ObjectStore;
use rayon::prelude::*;

use crate::error::ProcessError;
use crate::pipeline::partition::Partition;
use crate::types::{FastMap, session_key};
use heatpipe_io::on_blocking;

/// A fetched chunk with its decoded header, and which of its streams are repeats to skip.
pub struct FetchedChunk {
    /// Shared with every block reference into the chunk.
    pub key: Arc<str>,
    pub bytes: Bytes,
    pub header: KeyedHeader,
    /// Per block, per stream: true where an earlier chunk (in key order) had the same batch.
    pub skip: Vec<Vec<bool>>,
}

/// A chunk's decoded header with the keys of the sessions it lists, both made where the header
/// is decoded (on the rayon pool when the day's headers are scanned), so that the serial steps
/// reading a header (session ends, repeats) hash no id, and no header's ids are hashed twice.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedHeader {
    pub index: ChunkIndex,
    pub session_keys: SessionKeys,
}

impl KeyedHeader {
    /// `index` with its sessions' keys.
    pub fn of(index: ChunkIndex) -> Self {
        let session_keys = SessionKeys::of(&index);
        KeyedHeader {
            index,
            session_keys,
        }
    }

    /// Decodes the header at the start of a chunk's `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        decode_header(bytes).map(KeyedHeader::of)
    }
}

/// The [`session_key`] of each session a chunk's header lists, per block in the header's
/// order: hashed once per chunk, for finding repeats, noting blocks and adding streams.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionKeys(Vec<Vec<u128>>);

impl SessionKeys {
    pub fn of(index: &ChunkIndex) -> Self {
        SessionKeys(
            index
                .header
                .blocks
                .iter()
                .map(|block| {
                    block
                        .sessions
                        .iter()
                        .map(|session| session_key(&session.session_id))
                        .collect()
                })
                .collect(),
        )
    }

    /// Every session's key, block by block in the header's order.
    pub fn all(&self) -> impl Iterator<Item = u128> + '_ {
        self.0.iter().flatten().copied()
    }

    /// The keys of block `block`'s sessions, in the header's order.
    pub fn of_block(&self, block: usize) -> &[u128] {
        self.0.get(block).map_or(&[], Vec::as_slice)
    }

    /// The key of session `id`, at `position` in block `block`'s list (hashed if the keys were
    /// made from another header).
    pub fn key(&self, block: usize, position: usize, id: &str) -> u128 {
        match self.of_block(block).get(position) {
            Some(&key) => key,
            None => session_key(id),
        }
    }
}

/// A chunk or block skipped as corrupt, and why.
pub type Skipped = (String, String);

/// A chunk's key with its bytes and decoded header, or why its bytes are not a chunk.
pub type Fetched = (String, Result<(Bytes, KeyedHeader), FormatError>);

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
    /// Marks the streams of `header` to skip: those of sessions outside `partition`, and those
    /// whose batch was seen before; records the rest. Returns the marks and how many were
    /// repeats. Only the partition's batches are remembered, so a pass holds its share.
    pub fn mark_repeats(
        &mut self,
        header: &KeyedHeader,
        partition: Partition,
    ) -> (Vec<Vec<bool>>, u64) {
        let mut repeats = 0;
        let KeyedHeader {
            index,
            session_keys: keys,
        } = header;
        let marks = index
            .header
            .blocks
            .iter()
            .enumerate()
            .map(|(number, block)| {
                let mut marks = Vec::with_capacity(block.num_streams());
                for (position, session) in block.sessions.iter().enumerate() {
                    let key = keys.key(number, position, &session.session_id);
                    if !partition.includes_key(key) {
                        marks.extend(std::iter::repeat_n(true, session.streams.len()));
                        continue;
                    }
                    let seen = self.0.entry(key).or_default();
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

/// Fetches `keys` whole, `concurrency` at a time, and decodes their headers, but for those
/// whose header is known already (`known`, by position in `keys`; missing means unknown). A
/// chunk the store fails to give fails the whole fetch (see the module's doc).
pub async fn fetch_chunks(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    concurrency: usize,
    known: Vec<Option<KeyedHeader>>,
) -> Result<Vec<Fetched>, ProcessError> {
    let mut known = known.into_iter();
    stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = store.clone();
            let known = known.next().flatten();
            async move {
                let bytes = store
                    .get(&key)
                    .await
                    .map_err(|err| ProcessError::chunk(&key, err))?;
                let header = match known {
                    Some(header) => Ok(header),
                    None => KeyedHeader::decode(&bytes),
                };
                Ok((key, header.map(|header| (bytes, header))))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

/// Bytes asked for first when only a header is wanted; most headers fit.
const HEADER_PROBE_BYTES: u64 = 16 << 10;

/// Headers fetched before they are decoded together on the rayon pool.
const HEADER_GROUP: usize = 64;

/// The leading bytes of a chunk holding its header, or why they cannot hold one.
type HeaderBytes = Result<Bytes, FormatError>;

/// Reads the header of every chunk of `keys` with ranged GETs, `concurrency` at a time, and
/// calls `each` with each chunk's position in `keys`, key and header (or why its bytes are not
/// a chunk), in order. Headers are decoded on the rayon pool a group at a time while the next
/// groups are fetched; a few groups are held at once. A chunk the store fails to give ends the
/// scan with [`ProcessError::Chunk`].
pub async fn scan_headers(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    concurrency: usize,
    mut each: impl FnMut(usize, &str, Result<KeyedHeader, FormatError>),
) -> Result<(), ProcessError> {
    let mut groups = stream::iter(keys.iter().cloned())
        .map(|key| {
            let store = store.clone();
            async move { fetch_header_bytes(store.as_ref(), &key).await }
        })
        .buffered(concurrency.max(1))
        // A store error ends the scan as soon as it comes, not once its group is full.
        .try_chunks(HEADER_GROUP)
        .map_err(|TryChunksError(_, err)| err)
        .map_ok(|group: Vec<HeaderBytes>| {
            on_blocking(move || {
                group
                    .into_par_iter()
                    .map(|bytes| KeyedHeader::decode(&bytes?))
                    .collect::<Vec<_>>()
            })
            .map_err(ProcessError::from)
        })
        .try_buffered(2);
    let mut keys = keys.iter().enumerate();
    while let Some(headers) = groups.try_next().await? {
        // Headers first: zip stops at the group's end without taking a key past it.
        for (header, (position, key)) in headers.into_iter().zip(keys.by_ref()) {
            each(position, key, header);
        }
    }
    Ok(())
}

/// Returns the leading bytes of chunk `key` that hold its whole header (all of it if it is too
/// short to tell), or why they cannot hold one.
async fn fetch_header_bytes(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<HeaderBytes, ProcessError> {
    let read = |end: u64| async move {
        store
            .get_range(key, 0..end)
            .await
            .map_err(|err| ProcessError::chunk(key, err))
    };
    let probe = read(HEADER_PROBE_BYTES).await?;
    if probe.len() < PREAMBLE_LEN {
        return Ok(Ok(probe));
    }
    let end = match header_end(&probe) {
        Ok(end) => end,
        Err(corrupt) => return Ok(Err(corrupt)),
    };
    if end <= probe.len() {
        return Ok(Ok(probe));
    }
    Ok(Ok(read(end as u64).await?))
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
        let (marks, repeats) = seen.mark_repeats(&KeyedHeader::of(index.clone()), partition);
        (marks.into_iter().flatten().collect(), repeats)
    }

    #[test]
    fn a_chunks_session_keys_are_its_ids_hashes_in_header_order() {
        let index = chunk("s1", &[0, 1]);
        let keys = SessionKeys::of(&index);
        assert_eq!(keys.of_block(0), [session_key("s1")]);
        assert_eq!(keys.key(0, 0, "s1"), session_key("s1"));
        // Past what the header listed, the id given is hashed.
        assert_eq!(keys.key(0, 1, "s2"), session_key("s2"));
        assert_eq!(keys.key(9, 0, "s3"), session_key("s3"));
        assert!(keys.of_block(9).is_empty());
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

    #[tokio::test]
    async fn headers_come_in_key_order_with_their_positions_across_groups() {
        let folder = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ObjectStore> =
            Arc::new(heatpipe_io::store::LocalStore::open(folder.path()).expect("store"));
        let count = HEADER_GROUP * 2 + 5;
        let mut keys = Vec::new();
        for number in 0..count {
            let key = format!("raw/chunk-{number:04}.hpc");
            let bytes = if number == HEADER_GROUP {
                Bytes::from_static(b"not a chunk")
            } else {
                let batch = SessionBuilder::new(&format!("s{number}"), "https://a.example/", 1)
                    .build()
                    .remove(0);
                Bytes::from(encode_chunk(&[batch], 3).expect("encode"))
            };
            store.put(&key, bytes).await.expect("put");
            keys.push(key);
        }
        let mut seen = Vec::new();
        scan_headers(&store, &keys, 3, |position, key, header| {
            // Each header comes with its sessions' keys.
            let session = header.map(|keyed| {
                let id = keyed.index.header.blocks[0].sessions[0].session_id.clone();
                (id, keyed.session_keys.of_block(0).to_vec())
            });
            seen.push((position, key.to_owned(), session));
        })
        .await
        .expect("scan");
        assert_eq!(seen.len(), count);
        for (number, (position, key, session)) in seen.into_iter().enumerate() {
            assert_eq!((position, &key), (number, &keys[number]));
            if number == HEADER_GROUP {
                assert!(session.is_err(), "the damaged chunk is reported");
            } else {
                let id = format!("s{number}");
                assert_eq!(session, Ok((id.clone(), vec![session_key(&id)])));
            }
        }
    }

    #[tokio::test]
    async fn a_chunk_the_store_cannot_give_fails_the_fetch_and_the_scan_naming_it() {
        let store: Arc<dyn ObjectStore> = Arc::new(heatpipe_io::store::MemoryStore::new());
        let batch = SessionBuilder::new("s1", "https://a.example/", 1)
            .build()
            .remove(0);
        let chunk = Bytes::from(encode_chunk(&[batch], 3).expect("encode"));
        let keys = ["raw/a.hpc".to_owned(), "raw/gone.hpc".to_owned()];
        store.put(&keys[0], chunk).await.expect("put");
        let expect_gone = |err: ProcessError| match err {
            ProcessError::Chunk { key, source } => {
                assert_eq!(
                    (key.as_str(), source.kind),
                    ("raw/gone.hpc", heatpipe_io::store::StoreErrorKind::NotFound)
                );
            }
            other => panic!("{other}"),
        };
        let fetched = fetch_chunks(&store, &keys, 2, Vec::new()).await;
        expect_gone(fetched.expect_err("the missing chunk fails the fetch"));
        let mut seen = 0;
        let scanned = scan_headers(&store, &keys, 2, |_, _, _| seen += 1).await;
        expect_gone(scanned.expect_err("the missing chunk fails the scan"));
        // Corrupt bytes are the chunk's own: given back to be skipped, not an error.
        store
            .put(&keys[1], Bytes::from_static(b"not a chunk"))
            .await
            .expect("put");
        let fetched = fetch_chunks(&store, &keys, 2, Vec::new())
            .await
            .expect("both read");
        assert!(fetched[0].1.is_ok() && fetched[1].1.is_err());
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
