//! The day driver: lists a day's chunks, hands a shard's to [`shard`], and otherwise takes the
//! day in as many passes as its size asks (see `pass`), each pass's partial added up and its
//! sessions finished, then writes the day's aggregates and session index.
//!
//! [`shard`]: crate::pipeline::shard

use std::sync::Arc;
use std::time::Instant;

use heatpipe_core::keys::raw_day_prefix;
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;

use crate::error::ProcessError;
use crate::options::ProcessOptions;
use crate::pipeline::ends::EndsSource;
use crate::pipeline::fetch::SeenBatches;
use crate::pipeline::output::write_day;
use crate::pipeline::partition::{Partition, pass_count};
use crate::pipeline::pass::{Pass, Repeats, aggregate_pass};
use crate::pipeline::replay::index_replay_day;
use crate::pipeline::report::ProcessSummary;
use crate::pipeline::rrweb::convert_rrweb_day;
use crate::pipeline::shard::process_shard;
use crate::pipeline::spill::DayFinisher;

/// Processes one day of one site and writes its outputs (or, for a shard, its partial); returns
/// what was done.
pub async fn process_day(
    store: Arc<dyn ObjectStore>,
    options: &ProcessOptions,
) -> Result<ProcessSummary, ProcessError> {
    let started = Instant::now();
    let mut preface = ProcessSummary::default();
    let rrweb = convert_rrweb_day(
        store.as_ref(),
        &options.site,
        options.date,
        options.fetch_concurrency,
        &mut preface,
    )
    .await?;
    preface.rrweb_sessions = rrweb.sessions;
    // The replay lane is the day's, not a shard's: the first shard (or the whole run) does it.
    if options.shard.is_none_or(|shard| shard.index == 0) {
        let replay = index_replay_day(
            store.as_ref(),
            &options.site,
            options.date,
            options.compact_replay,
            options.fetch_concurrency,
            &mut preface,
        )
        .await?;
        preface.recorded_sessions = replay.sessions;
    }
    let listed = list_chunks(store.as_ref(), options).await?;
    let keys: Vec<String> = listed.iter().map(|(key, _)| key.clone()).collect();
    let mut summary = match options.shard {
        Some(shard) => process_shard(store, options, shard, keys, started).await?,
        None => {
            let day_bytes = listed.iter().map(|(_, size)| size).sum();
            process_whole_day(store, options, keys, day_bytes, started).await?
        }
    };
    summary.add_preface(preface);
    Ok(summary)
}

/// Returns the day's chunks, sorted by key, with their sizes.
async fn list_chunks(
    store: &dyn ObjectStore,
    options: &ProcessOptions,
) -> Result<Vec<(String, u64)>, ProcessError> {
    let prefix = raw_day_prefix(&options.site, options.date);
    let mut listed: Vec<(String, u64)> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter(|m| m.key.ends_with(".hpc"))
        .map(|m| (m.key, m.size_bytes))
        .collect();
    listed.sort();
    Ok(listed)
}

/// Processes every chunk of `keys` (the day's, sorted, `day_bytes` compressed) in as many
/// passes as the memory budget asks, and writes the day's outputs.
async fn process_whole_day(
    store: Arc<dyn ObjectStore>,
    options: &ProcessOptions,
    keys: Vec<String>,
    day_bytes: u64,
    started: Instant,
) -> Result<ProcessSummary, ProcessError> {
    let passes = pass_count(day_bytes, options.pass_chunk_bytes);
    let mut summary = ProcessSummary {
        chunks: keys.len() as u64,
        passes,
        ..ProcessSummary::default()
    };
    let finisher = take_passes(&store, options, keys, passes, &mut summary, started).await?;
    (summary.pages, summary.sessions) =
        write_day(store.as_ref(), &options.site, options.date, finisher).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "outputs written"
    );
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Aggregates the day's chunks `keys` in `passes` passes over session-id hashes; each pass's
/// partial is added up and its sessions finished before the next pass starts. Returns the day,
/// ready to be written.
async fn take_passes(
    store: &Arc<dyn ObjectStore>,
    options: &ProcessOptions,
    keys: Vec<String>,
    passes: u32,
    summary: &mut ProcessSummary,
    started: Instant,
) -> Result<DayFinisher, ProcessError> {
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
        let (day, early) = aggregate_pass(store, &keys, options, pass, summary).await?;
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
    Ok(finisher)
}
