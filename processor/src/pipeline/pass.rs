//! One pass over a day's chunks: windows fetched in turn with bounded concurrency (the next
//! while the current one is aggregated on the rayon pool), repeated batches marked, and the
//! sessions that ended in earlier windows finished beside the aggregation (see [`ends`]).
//!
//! [`ends`]: crate::pipeline::ends

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use heatpipe_io::store::ObjectStore;
use heatpipe_io::{TaskFailed, on_blocking};
use tokio::sync::oneshot;

use crate::aggregate::accumulate::DayPartial;
use crate::aggregate::finalize::FinishedGroup;
use crate::error::ProcessError;
use crate::options::ProcessOptions;
use crate::pipeline::ends::EndsSource;
use crate::pipeline::fetch::{Fetched, FetchedChunk, SeenBatches, fetch_chunks};
use crate::pipeline::partition::Partition;
use crate::pipeline::report::ProcessSummary;
use crate::pipeline::windows::{Window, WindowDone, WorkerPartials, spawn_window};

/// How the repeats of a chunk are decided: as chunks arrive (one process sees the whole day),
/// or from marks made beforehand over every chunk's header (a shard sees only part of it).
pub(crate) enum Repeats {
    AsTheyCome(SeenBatches),
    Premarked(HashMap<String, Vec<Vec<bool>>>),
}

/// One pass over the day's chunks: the sessions it keeps, how repeats are found, and where
/// sessions end (when known, sessions are finished as soon as they are complete).
pub(crate) struct Pass<'e> {
    pub(crate) partition: Partition,
    pub(crate) repeats: Repeats,
    pub(crate) ends: &'e mut EndsSource,
}

/// Fetches and aggregates every chunk of `keys` for `pass`, a window at a time; returns the
/// pass's partial day, merged from every worker's, and the sessions finished on the way (which
/// the partial no longer holds).
pub(crate) async fn aggregate_pass(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    options: &ProcessOptions,
    mut pass: Pass<'_>,
    summary: &mut ProcessSummary,
) -> Result<(DayPartial, FinishedGroup), ProcessError> {
    let mut windows = WindowsInTurn::new(options.segment_tags.clone());
    let mut ended_through = 0;
    let all = keys.len() as u64 * u64::from(pass.partition.count);
    let mut done = keys.len() as u64 * u64::from(pass.partition.index);
    let window_chunks = options.window_chunks.max(1);
    for (number, window) in keys.chunks(window_chunks).enumerate() {
        // Fetch this window and mark its repeats while the previous one is aggregated on the
        // rayon pool.
        let positions = number * window_chunks..number * window_chunks + window.len();
        let chunks = fetch_window(
            store,
            window,
            positions.clone(),
            options,
            &mut pass,
            summary,
        )
        .await?;
        let mut ending = Vec::new();
        pass.ends.ending_through(
            &mut ended_through,
            positions.end,
            pass.partition,
            &mut ending,
        );
        windows.start(chunks, ending, summary).await?;
        done += positions.len() as u64;
        if let Some(progress) = &options.progress {
            (progress.0)(done, all);
        }
    }
    let (workers, early) = windows.finish(summary).await?;
    // The sessions ending in the last windows are finished with the rest of the pass; the next
    // pass has the ends from its start.
    pass.ends.refresh(true).await?;
    tracing::debug!(
        finished = early.done.len(),
        "windows aggregated; merging the workers' partials"
    );
    let day = on_blocking(move || WorkerPartials::into_day(workers)).await?;
    Ok((day, early))
}

/// Fetches the chunks of `window`, at `positions` among the day's, and keeps those that can be
/// used, their repeats marked.
async fn fetch_window(
    store: &Arc<dyn ObjectStore>,
    window: &[String],
    positions: Range<usize>,
    options: &ProcessOptions,
    pass: &mut Pass<'_>,
    summary: &mut ProcessSummary,
) -> Result<Vec<FetchedChunk>, ProcessError> {
    // The first window is fetched and aggregated while the headers are read; the second
    // waits for them, so that every later window finishes what ended before it.
    let after_the_first = positions.start > 0;
    pass.ends.refresh(after_the_first).await?;
    let known = pass.ends.take_headers(positions);
    let fetched = fetch_chunks(store, window, options.fetch_concurrency, known).await?;
    Ok(usable_chunks(fetched, pass, summary))
}

/// Keeps the chunks whose header could be decoded, with their repeated batches marked; reports
/// the others as skipped (they are corrupt: the store gave them, see [`fetch_chunks`]).
fn usable_chunks(
    fetched: Vec<Fetched>,
    pass: &mut Pass<'_>,
    summary: &mut ProcessSummary,
) -> Vec<FetchedChunk> {
    let mut chunks = Vec::with_capacity(fetched.len());
    for (key, result) in fetched {
        match result {
            Ok((bytes, header)) => {
                let skip = match &mut pass.repeats {
                    Repeats::AsTheyCome(seen) => {
                        let (marks, duplicates) = seen.mark_repeats(&header, pass.partition);
                        summary.duplicate_streams += duplicates;
                        marks
                    }
                    Repeats::Premarked(marks) => marks.remove(&key).unwrap_or_default(),
                };
                chunks.push(FetchedChunk {
                    key: Arc::from(key),
                    bytes,
                    header,
                    skip,
                });
            }
            Err(corrupt) => summary.note_skipped(true, key, corrupt.to_string()),
        }
    }
    chunks
}

/// A pass's windows, aggregated one after another on the rayon pool into the same workers'
/// partials: one is aggregated while the next is fetched.
struct WindowsInTurn {
    workers: Arc<WorkerPartials>,
    segment_tags: Vec<String>,
    /// The window being aggregated.
    running: Option<oneshot::Receiver<WindowDone>>,
    /// The sessions that end in the window being aggregated.
    completed: Vec<u128>,
    /// The sessions finished so far.
    early: FinishedGroup,
}

impl WindowsInTurn {
    fn new(segment_tags: Vec<String>) -> Self {
        WindowsInTurn {
            workers: Arc::new(WorkerPartials::new()),
            segment_tags,
            running: None,
            completed: Vec::new(),
            early: FinishedGroup::default(),
        }
    }

    /// Waits for the window being aggregated, then starts aggregating `chunks`, whose window
    /// the sessions `ending` end in.
    async fn start(
        &mut self,
        chunks: Vec<FetchedChunk>,
        ending: Vec<u128>,
        summary: &mut ProcessSummary,
    ) -> Result<(), ProcessError> {
        if let Some(previous) = self.running.take() {
            self.early.add(collect_window(previous, summary).await?);
        }
        // The sessions ending in the previous window are complete: they are finished while
        // this one is aggregated.
        let job = Window {
            chunks,
            completed: std::mem::replace(&mut self.completed, ending),
        };
        self.running = Some(spawn_window(
            job,
            self.segment_tags.clone(),
            self.workers.clone(),
        ));
        Ok(())
    }

    /// Waits for the last window; returns the workers' partials and the sessions finished.
    async fn finish(
        mut self,
        summary: &mut ProcessSummary,
    ) -> Result<(Arc<WorkerPartials>, FinishedGroup), ProcessError> {
        if let Some(last) = self.running.take() {
            self.early.add(collect_window(last, summary).await?);
        }
        Ok((self.workers, self.early))
    }
}

/// Waits for a window; notes its undecodable blocks and returns the sessions it finished.
async fn collect_window(
    window: oneshot::Receiver<WindowDone>,
    summary: &mut ProcessSummary,
) -> Result<FinishedGroup, ProcessError> {
    let WindowDone { failures, finished } = window.await.map_err(|_| {
        ProcessError::Task(TaskFailed {
            message: "aggregation worker stopped".into(),
        })
    })?;
    for (key, reason) in failures {
        summary.note_skipped(false, key, reason);
    }
    Ok(finished)
}
