//! heatpipe-processor: turns a day of raw chunks into per-page aggregates (click and move grids,
//! scroll depth, views, sessions, per device class), the day's page index, and its session
//! index — in parallel on every core, reading a bounded window of chunks at a time.
//!
//! It comes in two halves. [`aggregate`] is the pure core: streams are added into mergeable
//! partials, and partials finished into what is written, with no store, no runtime and no file,
//! so that it is tested alone. [`pipeline`] drives it: the store, windows of chunks, passes,
//! shards, spill files and the writes. The pipeline imports the core, never the other way round;
//! both use the leaf modules [`types`], [`options`] and `error`, which import neither.
//!
//! # Layout
//! - [`types`] — the small shared types: `FastMap`, `BlockAt`, `session_key`.
//! - [`options`] — a run's options, `Shard`, `MergeOptions`, the `[processor]` configuration.
//! - `error` — [`ProcessError`]: why a run failed as a whole.
//! - [`aggregate`] — the pure core:
//!   - [`accumulate`](aggregate::accumulate) — streams into a mergeable `DayPartial`
//!     (`accumulate`, `DayPartial::merge`).
//!   - `grids` — what one stream adds to its page segment: counts, grid size, grid cells.
//!   - `pending` — grid events queued per segment and applied a segment at a time.
//!   - [`view`](aggregate::view) — a session's page views, gathered from their batches until
//!     it is finished.
//!   - [`summary`](aggregate::summary) — one session's signals and encoded summary; the day's
//!     chunk numbering.
//!   - `segments` — what finished views add to their page segments, tallied per task.
//!   - [`finalize`](aggregate::finalize) — partial → page aggregates, page index, session index.
//! - [`pipeline`] — the I/O that drives the core:
//!   - [`rrweb`](pipeline::rrweb) — the day's rrweb sessions converted from their `.hpr`
//!     batches into one chunk, before the day's chunks are listed.
//!   - [`run`](pipeline::run) — [`process_day`]: lists the day's chunks, drives its passes,
//!     writes.
//!   - `pass` — one pass over the chunks: windows fetched in turn, repeats marked, sessions
//!     finished as they end.
//!   - `windows` — a window of chunks aggregated on the rayon pool, completed sessions finished
//!     beside it.
//!   - [`fetch`](pipeline::fetch) — chunks and headers from the store; repeated batches found
//!     from headers.
//!   - `ends` — the last chunk of each session, so that it is finished once complete.
//!   - [`partition`](pipeline::partition) — days larger than the memory budget, in passes over
//!     session-id hashes.
//!   - `spill` — a day's finished sessions until its index is written, spilled to local runs
//!     when the day takes several passes.
//!   - `output` — the write of a day's page aggregates, session index and page index.
//!   - [`shard`](pipeline::shard) — `--shard I/N` partials and [`merge_shards`].
//!   - [`report`](pipeline::report) — [`ProcessSummary`]: what a run did.
//! - [`erase`] — [`forget`](erase::forget): a session or a visitor removed from raw chunks,
//!   session indexes and aggregates (days processed again), with an audit record.
//! - [`retention`] — [`apply_retention`]: the days past each lane's limit, deleted by prefix.

pub mod aggregate;
pub mod erase;
mod error;
pub mod options;
pub mod pipeline;
pub mod retention;
pub mod types;

pub use error::ProcessError;
pub use options::{MergeOptions, ProcessOptions, ProcessorConfig, ProgressHook, Shard};
pub use pipeline::report::ProcessSummary;
pub use pipeline::run::process_day;
pub use pipeline::shard::merge_shards;
pub use retention::{RetentionConfig, RetentionReport, apply_retention};
