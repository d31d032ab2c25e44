//! Where each session ends: the last chunk (in key order) that holds any of its batches, read
//! from every chunk's header. Once the windows up to that chunk are aggregated, the session is
//! complete, and it is finished then, while the following windows are aggregated, rather than
//! kept until the end of the pass: what a pass holds is the sessions in progress, not every
//! session it has seen, and each is finished soon after its last batch was added. The headers
//! are read while the first window is fetched and aggregated; the sessions it ends are
//! finished once they are read.
//!
//! Chunks are written once and never changed, so the headers read here are the headers the
//! chunks are aggregated with. A chunk the store fails to give ends the scan, and the run, with
//! [`ProcessError::Chunk`], as it would when the chunk is fetched. If any header is corrupt, no
//! session is finished early: the chunk is skipped when it is fetched too, but were the two reads
//! ever to disagree, a session it holds, if finished already, would be counted twice.

use std::ops::Range;
use std::sync::Arc;

use heatpipe_io::store::ObjectStore;
use tokio::task::JoinHandle;

use heatpipe_io::TaskFailed;

use crate::error::ProcessError;
use crate::pipeline::fetch::{KeyedHeader, scan_headers};
use crate::pipeline::partition::Partition;
use crate::types::FastMap;

/// The sessions each chunk is the last to hold (by position in the day's sorted chunk keys),
/// by [`session_key`], sorted.
#[derive(Debug, Default)]
pub(crate) struct SessionEnds {
    ending_in: Vec<Vec<u128>>,
}

/// The position of the last chunk noted so far holding each session, by [`session_key`].
type LastChunks = FastMap<u128, u32>;

impl SessionEnds {
    /// Reads the headers of `keys` (the day's chunks, sorted), `concurrency` at a time. With
    /// `keep_headers`, also returns them by position (`None` where corrupt), so that they are
    /// not decoded again when the chunks are fetched.
    pub(crate) async fn scan(
        store: &Arc<dyn ObjectStore>,
        keys: &[String],
        concurrency: usize,
        keep_headers: bool,
    ) -> Result<(Self, Vec<Option<KeyedHeader>>), ProcessError> {
        let mut last = LastChunks::default();
        let mut headers = Vec::new();
        let mut corrupt = 0;
        scan_headers(store, keys, concurrency, |position, _, header| {
            let Ok(header) = header else {
                corrupt += 1;
                headers.push(None);
                return;
            };
            note_chunk(&mut last, position as u32, &header);
            headers.push(keep_headers.then_some(header));
        })
        .await?;
        if !keep_headers {
            headers.clear();
        }
        if corrupt > 0 {
            tracing::debug!(corrupt, "sessions finished at the end of each pass");
            return Ok((SessionEnds::default(), headers));
        }
        Ok((SessionEnds::of(last, keys.len()), headers))
    }

    /// The ends of `chunks` chunks whose sessions' last chunks are `last`.
    fn of(last: LastChunks, chunks: usize) -> Self {
        let mut ending_in = vec![Vec::new(); chunks];
        for (key, position) in last {
            if let Some(ending) = ending_in.get_mut(position as usize) {
                ending.push(key);
            }
        }
        for ending in &mut ending_in {
            ending.sort_unstable();
        }
        SessionEnds { ending_in }
    }

    /// Adds to `ending` the sessions of `partition` that chunks `positions` are the last to
    /// hold.
    pub(crate) fn ending_in(
        &self,
        positions: Range<usize>,
        partition: Partition,
        ending: &mut Vec<u128>,
    ) {
        let end = positions.end.min(self.ending_in.len());
        let start = positions.start.min(end);
        for keys in &self.ending_in[start..end] {
            ending.extend(keys.iter().filter(|key| partition.includes_key(**key)));
        }
    }
}

/// What a scan gives: the ends, and the headers it kept (by position).
type Scanned = (SessionEnds, Vec<Option<KeyedHeader>>);

/// A run's session ends: being read, read, or not wanted (a shard finishes no session, since
/// its sessions may go on in other shards' chunks). Dropped while reading (the run failed), it
/// stops the reading, which would otherwise go on retrying a failing store after the run.
pub(crate) enum EndsSource {
    None,
    Scanning(JoinHandle<Result<Scanned, ProcessError>>),
    Known {
        ends: SessionEnds,
        headers: Vec<Option<KeyedHeader>>,
        /// The headers before this position are taken or dropped.
        headers_from: usize,
    },
}

impl EndsSource {
    /// Starts reading the ends of the day's chunks `keys` (sorted) on the runtime; see
    /// [`SessionEnds::scan`].
    pub(crate) fn scan(
        store: Arc<dyn ObjectStore>,
        keys: Vec<String>,
        concurrency: usize,
        keep_headers: bool,
    ) -> Self {
        EndsSource::Scanning(tokio::spawn(async move {
            SessionEnds::scan(&store, &keys, concurrency, keep_headers).await
        }))
    }

    /// Takes the scan's result once it is done; with `wait`, waits for it.
    pub(crate) async fn refresh(&mut self, wait: bool) -> Result<(), ProcessError> {
        let EndsSource::Scanning(scan) = self else {
            return Ok(());
        };
        if !wait && !scan.is_finished() {
            return Ok(());
        }
        let (ends, headers) = scan.await.map_err(|err| {
            ProcessError::Task(TaskFailed {
                message: format!("reading chunk headers: {err}"),
            })
        })??;
        tracing::debug!("session ends read");
        *self = EndsSource::Known {
            ends,
            headers,
            headers_from: 0,
        };
        Ok(())
    }

    /// Returns the headers the scan kept of chunks `positions` (`None` where it kept none),
    /// and drops those of the chunks before them.
    pub(crate) fn take_headers(&mut self, positions: Range<usize>) -> Vec<Option<KeyedHeader>> {
        let EndsSource::Known {
            headers,
            headers_from,
            ..
        } = self
        else {
            return Vec::new();
        };
        let end = positions.end.min(headers.len());
        let start = positions.start.min(end);
        if *headers_from < start {
            headers[*headers_from..start].fill_with(|| None);
        }
        *headers_from = end.max(*headers_from);
        headers[start..end].iter_mut().map(Option::take).collect()
    }

    /// Adds to `ending` the sessions of `partition` ending in the chunks from `*ended_through`
    /// to `through`, once the ends are known, and moves `ended_through` past them.
    pub(crate) fn ending_through(
        &self,
        ended_through: &mut usize,
        through: usize,
        partition: Partition,
        ending: &mut Vec<u128>,
    ) {
        if let EndsSource::Known { ends, .. } = self {
            ends.ending_in(*ended_through..through, partition, ending);
            *ended_through = through.max(*ended_through);
        }
    }
}

impl Drop for EndsSource {
    fn drop(&mut self) {
        if let EndsSource::Scanning(scan) = self {
            scan.abort();
        }
    }
}

/// Notes that chunk `position` holds the sessions of `header`; chunks are noted in order.
fn note_chunk(last: &mut LastChunks, position: u32, header: &KeyedHeader) {
    for key in header.session_keys.all() {
        last.insert(key, position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::session_key;
    use heatpipe_core::chunk::{BlockEntry, ChunkHeader, ChunkIndex, SessionEntry, StreamKey};

    fn chunk(blocks: &[&[&str]]) -> KeyedHeader {
        let blocks = blocks
            .iter()
            .map(|sessions| BlockEntry {
                offset: 0,
                compressed_len: 0,
                raw_len: 0,
                crc32: 0,
                sessions: sessions
                    .iter()
                    .map(|id| SessionEntry {
                        session_id: (*id).to_owned(),
                        streams: vec![StreamKey {
                            batch_seq: 0,
                            page_view_index: 0,
                        }],
                    })
                    .collect(),
            })
            .collect();
        KeyedHeader::of(ChunkIndex {
            header: ChunkHeader {
                num_streams: 0,
                num_events: 0,
                first_started_at_ms: 0,
                blocks,
            },
            data_start: 0,
        })
    }

    fn ends_of(chunks: &[KeyedHeader]) -> SessionEnds {
        let mut last = LastChunks::default();
        for (position, header) in chunks.iter().enumerate() {
            note_chunk(&mut last, position as u32, header);
        }
        SessionEnds::of(last, chunks.len())
    }

    fn ending(ends: &SessionEnds, position: usize) -> Vec<u128> {
        let mut ending = vec![7];
        ends.ending_in(position..position + 1, Partition::WHOLE, &mut ending);
        ending
    }

    #[test]
    fn a_session_ends_in_the_last_chunk_holding_it_once() {
        let chunks = [
            chunk(&[&["a", "b"], &["c"]]),
            chunk(&[&["b"], &["b", "d"]]),
            chunk(&[&["d"]]),
        ];
        let ends = ends_of(&chunks);
        let mut first = vec![7, session_key("a"), session_key("c")];
        first[1..].sort_unstable();
        assert_eq!(ending(&ends, 0), first);
        // b is in two of the second chunk's blocks and ends there once; d goes on.
        assert_eq!(ending(&ends, 1), [7, session_key("b")]);
        assert_eq!(ending(&ends, 2), [7, session_key("d")]);
        assert_eq!(ending(&ends, 3), [7], "past the last chunk");
    }

    #[tokio::test]
    async fn sessions_that_ended_before_the_scan_was_done_end_once_it_is() {
        let chunks = [chunk(&[&["a"]]), chunk(&[&["b"]]), chunk(&[&["c"]])];
        let scanned = (ends_of(&chunks), chunks.iter().cloned().map(Some).collect());
        let mut source = EndsSource::Scanning(tokio::spawn(async move { Ok(scanned) }));
        let mut ended_through = 0;
        let mut ending = Vec::new();
        if let EndsSource::Scanning(scan) = &source {
            while !scan.is_finished() {
                tokio::task::yield_now().await;
            }
        }
        // Still scanning as far as the run knows: nothing ends, no header is known.
        source.ending_through(&mut ended_through, 1, Partition::WHOLE, &mut ending);
        assert_eq!((ended_through, ending.len()), (0, 0));
        assert!(source.take_headers(0..1).is_empty());
        source.refresh(false).await.expect("scan");
        // The first window's session ends with the second's.
        let headers = source.take_headers(1..2);
        assert_eq!(headers, [Some(chunks[1].clone())]);
        source.ending_through(&mut ended_through, 2, Partition::WHOLE, &mut ending);
        let mut expected = vec![session_key("a"), session_key("b")];
        expected.sort_unstable();
        ending.sort_unstable();
        assert_eq!((ended_through, ending), (2, expected));
        // The headers of chunks passed by are dropped; past the last chunk there are none.
        let EndsSource::Known { headers, .. } = &source else {
            panic!("known after refresh");
        };
        assert_eq!(
            headers.iter().flatten().count(),
            1,
            "only the third's is kept"
        );
        assert_eq!(source.take_headers(2..9), [Some(chunks[2].clone())]);
        let mut last = Vec::new();
        source.ending_through(&mut ended_through, 9, Partition::WHOLE, &mut last);
        assert_eq!((ended_through, last), (9, vec![session_key("c")]));
    }

    #[tokio::test]
    async fn no_session_ends_early_when_a_header_cannot_be_read() {
        use bytes::Bytes;
        use heatpipe_core::chunk::encode_chunk;
        let folder = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ObjectStore> =
            Arc::new(heatpipe_io::store::LocalStore::open(folder.path()).expect("store"));
        let batch = heatpipe_fixtures::SessionBuilder::new("s1", "https://a.example/", 1)
            .build()
            .remove(0);
        let chunk = Bytes::from(encode_chunk(&[batch], 3).expect("encode"));
        let keys = ["raw/a.hpc".to_owned(), "raw/b.hpc".to_owned()];
        store.put(&keys[0], chunk.clone()).await.expect("put");
        store.put(&keys[1], chunk).await.expect("put");
        let (ends, headers) = SessionEnds::scan(&store, &keys, 2, true)
            .await
            .expect("scan");
        assert_eq!(headers.iter().flatten().count(), 2);
        let mut ending = Vec::new();
        ends.ending_in(0..2, Partition::WHOLE, &mut ending);
        assert_eq!(ending, [session_key("s1")], "s1 ends in b");

        store
            .put(&keys[1], Bytes::from_static(b"not a chunk"))
            .await
            .expect("put");
        let (ends, headers) = SessionEnds::scan(&store, &keys, 2, true)
            .await
            .expect("scan");
        assert_eq!(
            headers.iter().flatten().count(),
            1,
            "a's header is still kept"
        );
        let mut ending = Vec::new();
        ends.ending_in(0..2, Partition::WHOLE, &mut ending);
        assert!(ending.is_empty(), "{ending:?}");
    }

    #[test]
    fn a_pass_ends_only_its_own_sessions() {
        let ids: Vec<String> = (0..40).map(|n| format!("session-{n}")).collect();
        let names: Vec<&str> = ids.iter().map(String::as_str).collect();
        let ends = ends_of(&[chunk(&[&names])]);
        let mut per_pass = Vec::new();
        for pass in 0..3 {
            let partition = Partition {
                index: pass,
                count: 3,
            };
            let mut ending = Vec::new();
            ends.ending_in(0..1, partition, &mut ending);
            let expected = ids.iter().filter(|id| partition.includes(id)).count();
            assert_eq!(ending.len(), expected);
            per_pass.extend(ending);
        }
        per_pass.sort_unstable();
        let mut all: Vec<u128> = ids.iter().map(|id| session_key(id)).collect();
        all.sort_unstable();
        assert_eq!(per_pass, all);
    }
}
