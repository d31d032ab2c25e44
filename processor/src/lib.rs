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
mod error;
pub mod options;
pub mod pipeline;
pub mod types;

pub use error::ProcessError;
pub use options::{MergeOptions, ProcessOptions, ProcessorConfig, ProgressHook, Shard};
pub use pipeline::report::ProcessSummary;
pub use pipeline::run::process_day;
pub use pipeline::shard::merge_shards;
