//! The day driver: lists a day's chunks (or one shard's), fetches them a window at a time with
//! bounded concurrency (the next window while the current one is aggregated), drops repeated
//! batches, decodes and accumulates on all cores with rayon into one partial per worker,
//! finishes each session once the window holding its last batch is aggregated (see [`ends`]),
//! and writes the day's aggregates and session index (or the shard's partial).
//!
//! [`ends`]: crate::pipeline::ends

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use heatpipe_core::keys::raw_day_prefix;
use heatpipe_io::store::ObjectStore;
use heatpipe_io::{TaskFailed, on_blocking};
use tokio::sync::oneshot;

use crate::aggregate::accumulate::DayPartial;
use crate::aggregate::finalize::FinishedGroup;
use crate::error::ProcessError;
use crate::options::ProcessOptions;
use crate::options::Shard;
use crate::pipeline::ends::EndsSource;
use crate::pipeline::fetch::{Fetched, FetchedChunk, SeenBatches, fetch_chunks, scan_headers};
use crate::pipeline::output::write_day;
use crate::pipeline::partition::{Partition, pass_count};
use crate::pipeline::report::ProcessSummary;
use crate::pipeline::shard::write_partial;
use crate::pipeline::spill::DayFinisher;
use crate::pipeline::windows::{Window, WindowDone, WorkerPartials, spawn_window};

/// How the repeats of a chunk are decided: as chunks arrive (one process sees the whole day),
/// or from marks made beforehand over every chunk's header (a shard sees only part of it).
enum Repeats {
    AsTheyCome(SeenBatches),
    Premarked(HashMap<String, Vec<Vec<bool>>>),
}

/// Processes one day of one site and writes its outputs (or, for a shard, its partial); returns
/// what was done.
pub async fn process_day(
    store: Arc<dyn ObjectStore>,
    options: &ProcessOptions,
) -> Result<ProcessSummary, ProcessError> {
    let started = Instant::now();
    let prefix = raw_day_prefix(&options.site, options.date);
    let mut listed: Vec<(String, u64)> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter(|m| m.key.ends_with(".hpc"))
        .map(|m| (m.key, m.size_bytes))
        .collect();
    listed.sort();
    let keys: Vec<String> = listed.iter().map(|(key, _)| key.clone()).collect();
    if let Some(shard) = options.shard {
        return process_shard(store, options, shard, keys, started).await;
    }
    let day_bytes = listed.iter().map(|(_, size)| size).sum();
    let passes = pass_count(day_bytes, options.pass_chunk_bytes);
    let mut summary = ProcessSummary {
        chunks: keys.len() as u64,
        passes,
        ..ProcessSummary::default()
    };
    // Read while the first window is aggregated. A day done in one pass is small enough to keep
    // its headers until its chunks come.
    let mut ends = EndsSource::scan(
        store.clone(),
        keys.clone(),
        options.fetch_concurrency * 4,
        passes == 1,
    );
    let mut finisher = DayFinisher::new(passes, &options.spill_dir)?;
    for index in 0..passes {
        let pass = Pass {
            partition: Partition {
                index,
                count: passes,
            },
            repeats: Repeats::AsTheyCome(SeenBatches::default()),
            ends: &mut ends,
        };
        let (day, early) = aggregate_pass(&store, &keys, options, pass, &mut summary).await?;
        tracing::debug!(
            pass = index,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pass aggregated"
        );
        summary.streams += day.streams;
        summary.events += day.events;
        summary.sessions_finished_early += early.done.len() as u64;
        finisher = on_blocking(move || finisher.with_pass(day, early)).await??;
        tracing::debug!(
            pass = index,
            passes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "pass finished"
        );
    }
    (summary.pages, summary.sessions) =
        write_day(store.as_ref(), &options.site, options.date, finisher).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "outputs written"
    );
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Processes the chunks of `keys` (the day's, sorted) that belong to `shard` and stores the
/// shard's partial day.
async fn process_shard(
    store: Arc<dyn ObjectStore>,
    options: &ProcessOptions,
    shard: Shard,
    mut keys: Vec<String>,
    started: Instant,
) -> Result<ProcessSummary, ProcessError> {
    let mut summary = ProcessSummary::default();
    let (marks, duplicates) = premark_repeats(&store, &keys, shard, options).await?;
    summary.duplicate_streams = duplicates;
    keys.retain(|key| shard.includes(key));
    summary.chunks = keys.len() as u64;
    let pass = Pass {
        partition: Partition::WHOLE,
        repeats: Repeats::Premarked(marks),
        ends: &mut EndsSource::None,
    };
    let (day, _) = aggregate_pass(&store, &keys, options, pass, &mut summary).await?;
    summary.streams = day.streams;
    summary.events = day.events;
    write_partial(store.as_ref(), &options.site, options.date, shard, &day).await?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// One pass over the day's chunks: the sessions it keeps, how repeats are found, and where
/// sessions end (when known, sessions are finished as soon as they are complete).
struct Pass<'e> {
    partition: Partition,
    repeats: Repeats,
    ends: &'e mut EndsSource,
}

/// Fetches and aggregates every chunk of `keys` for `pass`, a window at a time; returns the
/// pass's partial day, merged from every worker's, and the sessions finished on the way (which
/// the partial no longer holds).
async fn aggregate_pass(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    options: &ProcessOptions,
    mut pass: Pass<'_>,
    summary: &mut ProcessSummary,
) -> Result<(DayPartial, FinishedGroup), ProcessError> {
    let workers = Arc::new(WorkerPartials::new());
    let mut running: Option<oneshot::Receiver<WindowDone>> = None;
    let mut early = FinishedGroup::default();
    let mut completed = Vec::new();
    let mut ended_through = 0;
    let all = keys.len() as u64 * u64::from(pass.partition.count);
    let mut done = keys.len() as u64 * u64::from(pass.partition.index);
    let window_chunks = options.window_chunks.max(1);
    for (number, window) in keys.chunks(window_chunks).enumerate() {
        // Fetch this window and mark its repeats while the previous one is aggregated on the
        // rayon pool.
        let positions = number * window_chunks..number * window_chunks + window.len();
        // The first window is fetched and aggregated while the headers are read; the second
        // waits for them, so that every later window finishes what ended before it.
        pass.ends.refresh(number > 0).await?;
        let known = pass.ends.take_headers(positions.clone());
        let fetched = fetch_chunks(store, window, options.fetch_concurrency, known).await;
        let chunks = usable_chunks(fetched, &mut pass, summary);
        let mut ending = Vec::new();
        pass.ends.ending_through(
            &mut ended_through,
            positions.end,
            pass.partition,
            &mut ending,
        );
        if let Some(previous) = running.take() {
            early.add(collect_window(previous, summary).await?);
        }
        // The sessions ending in the previous window are complete: they are finished while
        // this one is aggregated.
        let job = Window {
            chunks,
            completed: std::mem::replace(&mut completed, ending),
        };
        running = Some(spawn_window(
            job,
            options.segment_tags.clone(),
            workers.clone(),
        ));
        done += positions.len() as u64;
        if let Some(progress) = &options.progress {
            (progress.0)(done, all);
        }
    }
    if let Some(last) = running.take() {
        early.add(collect_window(last, summary).await?);
    }
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

/// Keeps the chunks whose header could be read, with their repeated batches marked; reports the
/// others as skipped.
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
            Err(reason) => summary.note_skipped(true, key, reason),
        }
    }
    chunks
}

/// Reads every chunk header of the day, in key order, and marks the repeated batches of the
/// chunks that belong to `shard`. Unreadable headers are left to the shard owning the chunk.
async fn premark_repeats(
    store: &Arc<dyn ObjectStore>,
    keys: &[String],
    shard: Shard,
    options: &ProcessOptions,
) -> Result<(HashMap<String, Vec<Vec<bool>>>, u64), ProcessError> {
    let mut seen = SeenBatches::default();
    let mut marks = HashMap::new();
    let mut duplicates = 0;
    scan_headers(
        store,
        keys,
        options.fetch_concurrency * 4,
        |_, key, header| {
            let Ok(header) = header else { return };
            let (chunk_marks, repeats) = seen.mark_repeats(&header, Partition::WHOLE);
            if shard.includes(key) {
                duplicates += repeats;
                marks.insert(key.to_owned(), chunk_marks);
            }
        },
    )
    .await?;
    Ok((marks, duplicates))
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
