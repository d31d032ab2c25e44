//! Where each session ends: the last chunk (in key order) that holds any of its batches, read
//! from every chunk's header before the day is aggregated. Once the windows up to that chunk
//! are aggregated, the session is complete, and it is finished then, while the following
//! windows are aggregated, rather than kept until the end of the pass: what a pass holds is the
//! sessions in progress, not every session it has seen, and each is finished soon after its
//! last batch was added.
//!
//! Chunks are written once and never changed, so the headers read here are the headers the
//! chunks are aggregated with. A chunk whose header cannot be read ends no session; its
//! sessions are finished with the rest of the pass.

use std::sync::Arc;

use heatpipe_core::chunk::ChunkIndex;
use heatpipe_core::store::ObjectStore;

use crate::ProcessError;
use crate::accumulate::{FastMap, session_key};
use crate::fetch::scan_headers;
use crate::passes::Partition;

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
    /// `keep_headers`, also returns them by position (`None` where unreadable), so that they
    /// are not decoded again when the chunks are fetched.
    pub(crate) async fn scan(
        store: &Arc<dyn ObjectStore>,
        keys: &[String],
        concurrency: usize,
        keep_headers: bool,
    ) -> Result<(Self, Vec<Option<ChunkIndex>>), ProcessError> {
        let mut last = LastChunks::default();
        let mut headers = Vec::new();
        scan_headers(store, keys, concurrency, |position, _, header| {
            let Ok(index) = header else {
                headers.push(None);
                return;
            };
            note_chunk(&mut last, position as u32, &index);
            headers.push(keep_headers.then_some(index));
        })
        .await?;
        if !keep_headers {
            headers.clear();
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

    /// Adds to `ending` the sessions of `partition` that chunk `position` is the last to hold.
    pub(crate) fn ending_in(&self, position: u32, partition: Partition, ending: &mut Vec<u128>) {
        if let Some(keys) = self.ending_in.get(position as usize) {
            ending.extend(keys.iter().filter(|key| partition.includes_key(**key)));
        }
    }
}

/// Notes that chunk `position` holds the sessions of `index`; chunks are noted in order.
fn note_chunk(last: &mut LastChunks, position: u32, index: &ChunkIndex) {
    for block in &index.header.blocks {
        for session in &block.sessions {
            last.insert(session_key(&session.session_id), position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_core::chunk::{BlockEntry, ChunkHeader, SessionEntry, StreamKey};

    fn chunk(blocks: &[&[&str]]) -> ChunkIndex {
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
        ChunkIndex {
            header: ChunkHeader {
                num_streams: 0,
                num_events: 0,
                first_started_at_ms: 0,
                blocks,
            },
            data_start: 0,
        }
    }

    fn ends_of(chunks: &[ChunkIndex]) -> SessionEnds {
        let mut last = LastChunks::default();
        for (position, index) in chunks.iter().enumerate() {
            note_chunk(&mut last, position as u32, index);
        }
        SessionEnds::of(last, chunks.len())
    }

    fn ending(ends: &SessionEnds, position: u32) -> Vec<u128> {
        let mut ending = vec![7];
        ends.ending_in(position, Partition::WHOLE, &mut ending);
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
            ends.ending_in(0, partition, &mut ending);
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
