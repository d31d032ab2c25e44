//! heatpipe-processor: turns a day of raw chunks into per-page aggregates (click and move grids,
//! scroll depth, views, sessions, per device class), the day's page index, and its session
//! index — in parallel on every core, reading a bounded window of chunks at a time.
//!
//! # Layout
//! - [`accumulate`] — the pure, mergeable core (`accumulate`, `DayPartial::merge`).
//! - [`finalize`] — partial → page aggregates, page index, session index, frustration signals.
//! - [`view`] — a session's page views gathered from their batches until it is finished.
//! - `segments` — what finished views add to their page segments, tallied per task.
//! - [`summary`] — one session's signals and summary; the day's chunk numbering.
//! - [`fetch`] — chunks and headers from the store; repeated batches found from headers.
//! - `ends` — the last chunk of each session, so that it is finished once complete.
//! - [`options`] — a run's options and the `[processor]` configuration.
//! - [`run`] — the driver: list, fetch, de-duplicate, aggregate, write.
//! - `windows` — a window of chunks aggregated on the pool, completed sessions finished beside.
//! - `pending` — grid events queued per segment and applied a segment at a time.
//! - [`passes`] — days larger than the memory budget, in passes over session-id hashes.
//! - [`shard`] — `--shard I/N` partials and `merge`.
//! - `spill` — a multi-pass day's finished sessions, spilled to local runs and merged.

pub mod aggregate;
pub mod options;
pub mod pipeline;
pub mod types;

use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::StoreError;

pub use options::{MergeOptions, ProcessOptions, ProcessorConfig, ProgressHook, Shard};
pub use pipeline::run::process_day;
pub use pipeline::shard::merge_shards;

/// Why processing a day failed as a whole (a bad chunk only skips that chunk).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode output: {0}")]
    Format(#[from] FormatError),
    #[error("shard partial {key} is unreadable: {source}")]
    Partial { key: String, source: FormatError },
    #[error("cannot spill finished sessions: {0}")]
    Spill(String),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSummary {
    pub chunks: u64,
    /// Passes over the chunks (more than one when the day exceeds the memory budget).
    pub passes: u32,
    pub chunks_skipped: u64,
    pub blocks_skipped: u64,
    /// Batches seen before (a retried upload) and counted once.
    pub duplicate_streams: u64,
    pub streams: u64,
    pub events: u64,
    pub pages: u64,
    pub sessions: u64,
    /// Sessions finished as soon as the window holding their last batch was aggregated,
    /// rather than at the end of their pass.
    pub sessions_finished_early: u64,
    pub elapsed_ms: u64,
    /// Chunk key and reason of everything skipped.
    pub skipped: Vec<(String, String)>,
}

impl ProcessSummary {
    /// Returns the one-line summary printed after a run.
    pub fn line(&self) -> String {
        let seconds = self.elapsed_ms as f64 / 1000.0;
        let rate = if seconds > 0.0 {
            self.events as f64 / seconds
        } else {
            0.0
        };
        format!(
            "chunks={} passes={} skipped={} duplicates={} events={} pages={} sessions={} seconds={seconds:.3} events_per_s={rate:.0}",
            self.chunks,
            self.passes.max(1),
            self.chunks_skipped + self.blocks_skipped,
            self.duplicate_streams,
            self.events,
            self.pages,
            self.sessions,
        )
    }
}
