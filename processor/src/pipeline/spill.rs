//! A day's finished sessions until its session index is written. A day done in one pass keeps
//! them in memory. A day done in several passes spills each pass's sessions, sorted in index
//! order, to a local file (a run), and writes the index by merging the runs one session at a
//! time, compressing as it goes: what stays in memory is a session per run, the day's chunk keys
//! and the compressed index, not every session of the day. [`DayFinisher`] drives this for
//! `process` and `merge`: pages added up and sessions finished pass by pass, then the output.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use heatpipe_core::agg::PageAgg;
use heatpipe_core::frame::bincode_config;
use heatpipe_core::session::{BlockRef, SessionIndexWriter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::aggregate::accumulate::{DayPartial, merge_pages};
use crate::aggregate::finalize::{
    DoneBatches, FinishedGroup, Retired, finish_sessions, index_sessions,
};
use crate::aggregate::summary::SessionDone;
use crate::error::ProcessError;
use crate::types::FastMap;

/// Runs are scratch files read once: the fastest zstd level is enough.
const RUN_ZSTD_LEVEL: i32 = 1;

/// A day being finished pass by pass, for `process` and `merge` alike: the pages added up so
/// far and the sessions finished so far. Its steps are CPU and file work, to be run on the
/// blocking pool.
pub(crate) struct DayFinisher {
    pages: FastMap<String, PageAgg>,
    finished: FinishedSessions,
}

impl DayFinisher {
    /// Starts a day of `passes` passes (see [`FinishedSessions::for_passes`]).
    pub(crate) fn new(passes: u32, spill_dir: &Path) -> Result<Self, ProcessError> {
        Ok(DayFinisher {
            pages: FastMap::default(),
            finished: FinishedSessions::for_passes(passes, spill_dir)?,
        })
    }

    /// Adds one pass's partial: its pages, and its sessions, finished; `early` are the pass's
    /// sessions finished already, which `day` no longer holds.
    pub(crate) fn with_pass(
        self,
        day: DayPartial,
        early: FinishedGroup,
    ) -> Result<Self, ProcessError> {
        let DayFinisher {
            pages,
            mut finished,
        } = self;
        let mut pages = merge_pages(pages, day.pages);
        let mut done = finish_sessions(&mut pages, day.sessions);
        early.sums.add_to(&mut pages);
        done.append(early.done);
        finished.add(done)?;
        Ok(DayFinisher { pages, finished })
    }

    /// Returns, once every pass is added, the day's pages (every session's views added) and
    /// its finished sessions.
    pub(crate) fn into_parts(self) -> (FastMap<String, PageAgg>, FinishedSessions) {
        (self.pages, self.finished)
    }
}

/// The finished sessions of the passes done so far.
pub(crate) enum FinishedSessions {
    InMemory(DoneBatches),
    Spilled(SessionRuns),
}

impl FinishedSessions {
    /// Where a day of `passes` passes keeps its finished sessions: runs under `spill_dir` when
    /// there is more than one pass.
    pub(crate) fn for_passes(passes: u32, spill_dir: &Path) -> Result<Self, ProcessError> {
        if passes <= 1 {
            return Ok(FinishedSessions::InMemory(DoneBatches::default()));
        }
        SessionRuns::create(spill_dir).map(FinishedSessions::Spilled)
    }

    /// Adds the sessions one pass finished.
    pub(crate) fn add(&mut self, sessions: DoneBatches) -> Result<(), ProcessError> {
        match self {
            FinishedSessions::InMemory(all) => {
                all.append(sessions);
                Ok(())
            }
            FinishedSessions::Spilled(runs) => runs.spill(sessions.into_vec()),
        }
    }

    pub(crate) fn count(&self) -> u64 {
        match self {
            FinishedSessions::InMemory(all) => all.len() as u64,
            FinishedSessions::Spilled(runs) => runs.sessions,
        }
    }

    /// Returns the day's session index, and the sessions held in memory, to be freed later.
    pub(crate) fn write_index(self) -> Result<(Vec<u8>, Retired), ProcessError> {
        match self {
            FinishedSessions::InMemory(all) => Ok(index_sessions(all.into_vec())?),
            FinishedSessions::Spilled(runs) => Ok((runs.write_index()?, Retired::none())),
        }
    }
}

/// A finished session as a run stores it: its blocks name their chunk by the runs' own
/// numbering of chunk keys (in the order first met).
#[derive(Serialize, Deserialize)]
struct SpilledSession {
    started_at_ms: i64,
    id: String,
    head: Vec<u8>,
    blocks: Vec<BlockRef>,
}

/// The runs of a day, in a temporary folder removed when they are dropped.
pub(crate) struct SessionRuns {
    dir: tempfile::TempDir,
    /// Each run's file and how many sessions it holds.
    runs: Vec<(PathBuf, u64)>,
    chunk_ids: FastMap<Arc<str>, u32>,
    chunk_keys: Vec<Arc<str>>,
    sessions: u64,
}

fn spill_error(path: &Path, err: impl std::fmt::Display) -> ProcessError {
    ProcessError::Spill(format!("{}: {err}", path.display()))
}

impl SessionRuns {
    fn create(parent: &Path) -> Result<Self, ProcessError> {
        let dir = tempfile::Builder::new()
            .prefix("heatpipe-sessions-")
            .tempdir_in(parent)
            .map_err(|err| spill_error(parent, err))?;
        Ok(SessionRuns {
            dir,
            runs: Vec::new(),
            chunk_ids: FastMap::default(),
            chunk_keys: Vec::new(),
            sessions: 0,
        })
    }

    fn chunk_id(&mut self, key: &Arc<str>) -> u32 {
        if let Some(id) = self.chunk_ids.get(key) {
            return *id;
        }
        let id = self.chunk_keys.len() as u32;
        self.chunk_keys.push(Arc::clone(key));
        self.chunk_ids.insert(Arc::clone(key), id);
        id
    }

    /// Sorts one pass's sessions in index order and writes them as a run.
    fn spill(&mut self, mut sessions: Vec<SessionDone>) -> Result<(), ProcessError> {
        sessions.par_sort_unstable_by(SessionDone::index_order);
        let path = self
            .dir
            .path()
            .join(format!("run-{:04}.zst", self.runs.len()));
        let file = File::create(&path).map_err(|err| spill_error(&path, err))?;
        // Buffered in front of the encoder: bincode writes a few bytes at a time.
        let mut encoder = BufWriter::new(
            zstd::stream::write::Encoder::new(file, RUN_ZSTD_LEVEL)
                .map_err(|err| spill_error(&path, err))?,
        );
        let count = sessions.len() as u64;
        for session in sessions {
            let blocks = session
                .blocks
                .iter()
                .map(|block| block.numbered(self.chunk_id(&block.chunk_key)))
                .collect();
            let spilled = SpilledSession {
                started_at_ms: session.started_at_ms,
                id: session.id,
                head: session.head,
                blocks,
            };
            bincode::serde::encode_into_std_write(&spilled, &mut encoder, bincode_config())
                .map_err(|err| spill_error(&path, err))?;
        }
        encoder
            .into_inner()
            .map_err(|err| spill_error(&path, err.error()))?
            .finish()
            .and_then(|mut file| file.flush())
            .map_err(|err| spill_error(&path, err))?;
        self.runs.push((path, count));
        self.sessions += count;
        Ok(())
    }

    /// Writes the session index by merging the runs: chunks numbered in key order, sessions in
    /// index order. The same bytes as the index of the same sessions held in memory.
    pub(crate) fn write_index(self) -> Result<Vec<u8>, ProcessError> {
        let mut by_key: Vec<u32> = (0..self.chunk_keys.len() as u32).collect();
        by_key.sort_unstable_by(|a, b| {
            self.chunk_keys[*a as usize].cmp(&self.chunk_keys[*b as usize])
        });
        let mut numbers = vec![0u32; by_key.len()];
        for (number, id) in by_key.iter().enumerate() {
            numbers[*id as usize] = number as u32;
        }
        let keys: Vec<String> = by_key
            .iter()
            .map(|id| self.chunk_keys[*id as usize].to_string())
            .collect();
        let mut writer = SessionIndexWriter::new(&keys, self.sessions)?;
        let mut runs = self
            .runs
            .iter()
            .map(|(path, count)| RunReader::open(path, *count))
            .collect::<Result<Vec<_>, _>>()?;
        let mut next: Vec<Option<SpilledSession>> = Vec::with_capacity(runs.len());
        let mut order = BinaryHeap::new();
        for (number, run) in runs.iter_mut().enumerate() {
            let first = run.next()?;
            if let Some(session) = &first {
                order.push(Reverse((session.started_at_ms, session.id.clone(), number)));
            }
            next.push(first);
        }
        while let Some(Reverse((_, _, number))) = order.pop() {
            let Some(mut session) = next[number].take() else {
                continue;
            };
            for block in &mut session.blocks {
                block.chunk = *numbers.get(block.chunk as usize).ok_or_else(|| {
                    spill_error(&runs[number].path, "a block names an unknown chunk")
                })?;
            }
            writer.push(&session.head, &session.blocks)?;
            let following = runs[number].next()?;
            if let Some(following) = &following {
                order.push(Reverse((
                    following.started_at_ms,
                    following.id.clone(),
                    number,
                )));
            }
            next[number] = following;
        }
        Ok(writer.finish()?)
    }
}

/// Reads a run back, session by session.
struct RunReader {
    path: PathBuf,
    /// Buffered after the decoder too: bincode reads a few bytes at a time.
    decoder: BufReader<zstd::stream::read::Decoder<'static, BufReader<File>>>,
    left: u64,
}

impl RunReader {
    fn open(path: &Path, count: u64) -> Result<Self, ProcessError> {
        let file = File::open(path).map_err(|err| spill_error(path, err))?;
        let decoder =
            zstd::stream::read::Decoder::new(file).map_err(|err| spill_error(path, err))?;
        let decoder = BufReader::new(decoder);
        Ok(RunReader {
            path: path.to_owned(),
            decoder,
            left: count,
        })
    }

    fn next(&mut self) -> Result<Option<SpilledSession>, ProcessError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        bincode::serde::decode_from_std_read(&mut self.decoder, bincode_config())
            .map(Some)
            .map_err(|err| spill_error(&self.path, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BlockAt;

    /// Sessions whose start times collide (ordered by id then) and whose blocks name chunks in
    /// an order unlike their keys'.
    fn sessions(pass: u64, count: u64) -> Vec<SessionDone> {
        let chunk_keys: Vec<Arc<str>> = (0..7)
            .map(|n| Arc::from(format!("raw/s/2026-01-01/{:02}/c.hpc", (n * 5) % 7)))
            .collect();
        (0..count)
            .map(|n| {
                let number = pass * 1_000 + n;
                let mut blocks: Vec<BlockAt> = (0..number % 4)
                    .map(|b| BlockAt {
                        chunk_key: Arc::clone(&chunk_keys[((number + b) % 7) as usize]),
                        offset: b * 100,
                        compressed_len: 10,
                        raw_len: 20,
                        crc32: number as u32,
                        num_streams: 1,
                        session: (b % 2) as u32,
                    })
                    .collect();
                blocks.sort();
                SessionDone {
                    started_at_ms: (number * 7_919 % 13) as i64,
                    id: format!("session-{number}"),
                    head: format!("head of {number}").into_bytes(),
                    blocks,
                }
            })
            .collect()
    }

    /// The sessions of `pass`, in batches of 100.
    fn batches(pass: u64, count: u64) -> DoneBatches {
        let mut batches = DoneBatches::default();
        let mut sessions = sessions(pass, count);
        while !sessions.is_empty() {
            let rest = sessions.split_off(sessions.len().min(100));
            batches.push(std::mem::replace(&mut sessions, rest));
        }
        batches
    }

    #[test]
    fn merged_runs_give_the_index_of_every_session_in_memory() {
        let spill_root = tempfile::tempdir().expect("temp dir");
        let mut spilled =
            FinishedSessions::for_passes(3, spill_root.path()).expect("spilled sessions");
        let mut in_memory =
            FinishedSessions::for_passes(1, spill_root.path()).expect("sessions in memory");
        let mut all = Vec::new();
        for (pass, count) in [(0, 400), (1, 0), (2, 257)] {
            spilled.add(batches(pass, count)).expect("spill");
            in_memory.add(batches(pass, count)).expect("keep");
            all.extend(sessions(pass, count));
        }
        assert_eq!((spilled.count(), in_memory.count()), (657, 657));
        let FinishedSessions::Spilled(runs) = spilled else {
            panic!("three passes spill");
        };
        let (expected, _) = index_sessions(all).expect("in memory");
        let (from_batches, _) = in_memory.write_index().expect("batches");
        assert_eq!(from_batches, expected);
        assert_eq!(runs.write_index().expect("merged"), expected);
        // The runs' folder goes with them.
        assert_eq!(
            std::fs::read_dir(spill_root.path()).expect("list").count(),
            0
        );
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let spill_root = tempfile::tempdir().expect("temp dir");
        let mut runs = SessionRuns::create(spill_root.path()).expect("runs");
        runs.spill(sessions(0, 300)).expect("spill");
        let (path, _) = &runs.runs[0];
        let mut bytes = std::fs::read(path).expect("run");
        let middle = bytes.len() / 2;
        bytes.truncate(middle);
        std::fs::write(path, bytes).expect("damage");
        let err = runs.write_index().expect_err("truncated run");
        assert!(err.to_string().contains("run-0000"), "{err}");
    }
}
