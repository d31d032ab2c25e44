//! A window of chunks on the rayon pool: each worker thread decodes chunks into its own partial
//! day (grid events queued beside it), while the sessions earlier windows completed are taken
//! out of every worker's partial and finished.

use std::sync::{Arc, Mutex, PoisonError};

use heatpipe_core::chunk::with_block_streams;
use rayon::prelude::*;
use tokio::sync::oneshot;

use crate::aggregate::accumulate::{DayPartial, accumulate_queued};
use crate::aggregate::finalize::{FinishedGroup, finish_some};
use crate::aggregate::pending::PendingGrids;
use crate::aggregate::segments::SegmentSlots;
use crate::aggregate::view::SessionAcc;
use crate::pipeline::fetch::{FetchedChunk, Skipped};
use crate::types::{BlockAt, session_key};

/// A window's chunks as given to the rayon pool, with the sessions the previous windows
/// completed.
pub(crate) struct Window {
    pub(crate) chunks: Vec<FetchedChunk>,
    pub(crate) completed: Vec<u128>,
}

/// What aggregating a window gives back: the blocks that could not be decoded, and the
/// sessions finished meanwhile.
pub(crate) struct WindowDone {
    pub(crate) failures: Vec<Skipped>,
    pub(crate) finished: FinishedGroup,
}

/// One partial per rayon worker thread, kept for the whole run: a partial's grids are
/// page-sized for every segment, so they are allocated once per worker rather than once per
/// window, and merged once at the end. Each worker queues its grid events beside its partial.
pub(crate) struct WorkerPartials(Vec<Mutex<(DayPartial, PendingGrids)>>);

impl WorkerPartials {
    pub(crate) fn new() -> Self {
        let workers = rayon::current_num_threads().max(1);
        WorkerPartials((0..workers).map(|_| Mutex::default()).collect())
    }

    /// Runs `add` on the calling worker's partial and grid queues.
    fn with_mine(&self, add: impl FnOnce(&mut DayPartial, &mut PendingGrids)) {
        let index = rayon::current_thread_index().unwrap_or(0) % self.0.len();
        let mut mine = self.0[index].lock().unwrap_or_else(PoisonError::into_inner);
        let (partial, pending) = &mut *mine;
        add(partial, pending);
    }

    /// Takes the sessions `keys` out of every worker's partial (once no window is running),
    /// each whole: what every worker saw of it. Returns them with the numbering of every
    /// worker's segments, which their views name.
    fn take_sessions(&self, keys: &[u128]) -> (Vec<SessionAcc>, SegmentSlots) {
        let mut taken: Vec<Option<SessionAcc>> = keys.iter().map(|_| None).collect();
        let mut workers: Vec<_> = self
            .0
            .iter()
            .map(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner))
            .collect();
        for worker in &mut workers {
            let sessions = &mut worker.0.sessions;
            for (session, key) in taken.iter_mut().zip(keys) {
                let Some(part) = sessions.remove(key) else {
                    continue;
                };
                match session {
                    Some(session) => session.merge(part),
                    None => *session = Some(part),
                }
            }
        }
        let slots = SegmentSlots::of(workers.iter().map(|worker| &worker.0.pages));
        (taken.into_iter().flatten().collect(), slots)
    }

    /// Adds up every worker's partial, its queued grid events applied (once no window is
    /// running).
    pub(crate) fn into_day(workers: Arc<WorkerPartials>) -> DayPartial {
        let partials: Vec<DayPartial> = workers
            .0
            .par_iter()
            .map(|slot| {
                let mut mine = slot.lock().unwrap_or_else(PoisonError::into_inner);
                let (mut partial, mut pending) = std::mem::take(&mut *mine);
                pending.apply_to(&mut partial.pages);
                partial
            })
            .collect();
        partials
            .into_iter()
            .reduce(DayPartial::merge)
            .unwrap_or_default()
    }
}

/// Decodes and accumulates a window's chunks on the rayon pool into the workers' partials, and
/// meanwhile finishes the sessions the previous windows completed; the receiver gets the
/// blocks that could not be decoded and the finished sessions.
pub(crate) fn spawn_window(
    window: Window,
    segment_tags: Vec<String>,
    workers: Arc<WorkerPartials>,
) -> oneshot::Receiver<WindowDone> {
    let (sender, receiver) = oneshot::channel();
    rayon::spawn(move || {
        let Window { chunks, completed } = window;
        let (completed, slots) = workers.take_sessions(&completed);
        let aggregate = || {
            chunks
                .par_iter()
                .flat_map_iter(|chunk| {
                    let mut failures = Vec::new();
                    workers.with_mine(|partial, pending| {
                        aggregate_chunk(chunk, &segment_tags, partial, pending, &mut failures);
                    });
                    failures
                })
                .collect()
        };
        let (failures, finished) = rayon::join(aggregate, || finish_some(completed, &slots));
        let _ = sender.send(WindowDone { failures, finished });
    });
    receiver
}

/// Decodes `chunk` and adds its fresh streams to `partial` (their grid events to `pending`);
/// undecodable blocks go to `failures`.
fn aggregate_chunk(
    chunk: &FetchedChunk,
    segment_tags: &[String],
    partial: &mut DayPartial,
    pending: &mut PendingGrids,
    failures: &mut Vec<Skipped>,
) {
    for (block_number, entry) in chunk.header.index.header.blocks.iter().enumerate() {
        let skips = chunk.skip.get(block_number).map_or(&[][..], Vec::as_slice);
        let decoded = chunk
            .header
            .index
            .block_range(block_number)
            .and_then(|range| chunk.bytes.get(range.start as usize..range.end as usize))
            .ok_or_else(|| "block lies past the end of the chunk".to_owned())
            .and_then(|bytes| {
                with_block_streams(bytes, entry.spec(), block_number, |streams| {
                    // The streams are the header's, session by session (checked on decoding);
                    // a stream past the header's would still be added, its key hashed.
                    let mut keys = stream_session_keys(chunk, block_number);
                    for (number, stream) in streams.iter().enumerate() {
                        let key = keys
                            .next()
                            .unwrap_or_else(|| session_key(stream.session_id));
                        if !skips.get(number).copied().unwrap_or(false) {
                            accumulate_queued(partial, pending, &stream, key, segment_tags);
                        }
                    }
                })
                .map_err(|e| e.to_string())
            });
        if let Err(reason) = decoded {
            failures.push((
                chunk.key.to_string(),
                format!("block {block_number}: {reason}"),
            ));
            continue;
        }
        note_session_blocks(chunk, block_number, skips, partial);
    }
}

/// The [`session_key`] of each stream of block `block_number`,
/// as the header lists them.
fn stream_session_keys(chunk: &FetchedChunk, block_number: usize) -> impl Iterator<Item = u128> {
    let entry = &chunk.header.index.header.blocks[block_number];
    entry
        .sessions
        .iter()
        .zip(chunk.header.session_keys.of_block(block_number))
        .flat_map(|(session, &key)| std::iter::repeat_n(key, session.streams.len()))
}

/// Records, for each session with a fresh stream in block `block_number`, that the block holds
/// some of its batches. The header lists each block's sessions, so this is once per session and
/// block rather than once per stream.
fn note_session_blocks(
    chunk: &FetchedChunk,
    block_number: usize,
    skips: &[bool],
    partial: &mut DayPartial,
) {
    let entry = &chunk.header.index.header.blocks[block_number];
    let num_streams = entry.num_streams() as u32;
    let mut first_stream = 0;
    for (position, session) in entry.sessions.iter().enumerate() {
        let key = chunk
            .header
            .session_keys
            .key(block_number, position, &session.session_id);
        let mut streams = first_stream..first_stream + session.streams.len();
        first_stream = streams.end;
        if streams.all(|number| skips.get(number).copied().unwrap_or(false)) {
            continue;
        }
        let block_ref = BlockAt {
            chunk_key: chunk.key.clone(),
            offset: chunk.header.index.data_start + entry.offset,
            compressed_len: entry.compressed_len,
            raw_len: entry.raw_len,
            crc32: entry.crc32,
            num_streams,
            session: position as u32,
        };
        partial
            .sessions
            .entry(key)
            .or_insert_with(|| SessionAcc::new(&session.session_id))
            .add_block(block_ref);
    }
}
