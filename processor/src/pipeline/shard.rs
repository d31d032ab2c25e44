//! Scaling past one machine: `--shard I/N` processes a deterministic slice of a day's chunks
//! and stores its partial day; `merge` adds the N partials and writes what a single run would
//! have written, byte for byte.
//!
//! Partials are unfinished on purpose: a page view's batches may sit in chunks of different
//! shards, so views, scroll depth, sessions and frustration signals are only computed at merge
//! time, from the page views every shard saw. Repeated batches are dropped across shards too:
//! every shard reads the headers of all the day's chunks (ranged GETs, no block data) and keeps
//! a batch only where its first copy in key order lies.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::error::FormatError;
use heatpipe_core::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};
use heatpipe_core::keys::{partial_day_prefix, shard_partial_key};
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;

use crate::aggregate::accumulate::DayPartial;
use crate::aggregate::finalize::FinishedGroup;
use crate::error::ProcessError;
use crate::options::{MergeOptions, ProcessOptions, Shard};
use crate::pipeline::ends::EndsSource;
use crate::pipeline::fetch::{SeenBatches, scan_headers};
use crate::pipeline::output::write_day;
use crate::pipeline::partition::{Partition, pass_count};
use crate::pipeline::pass::{Pass, Repeats, aggregate_pass};
use crate::pipeline::report::ProcessSummary;
use crate::pipeline::spill::DayFinisher;
use crate::types::FastMap;

const PARTIAL_KIND: FrameKind = FrameKind {
    magic: *b"HPPD",
    // Version 2 keeps page views by session; version 3 a session's position in each block;
    // version 4 click reactions, visitor keys and each batch's activity; version 5 each batch's
    // active spans and resizes, and page aggregates with attention and the fold histogram.
    version: 5,
    oldest_version: 5,
    name: "partial day",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// Encodes a shard's partial day as it is stored.
pub fn encode_partial(partial: &DayPartial) -> Result<Vec<u8>, FormatError> {
    encode_frame(PARTIAL_KIND, partial)
}

/// Decodes a partial day that [`encode_partial`] encoded.
pub fn decode_partial(bytes: &[u8]) -> Result<DayPartial, FormatError> {
    decode_frame(PARTIAL_KIND, bytes)
}

/// Processes the chunks of `keys` (the day's, sorted) that belong to `shard` and stores the
/// shard's partial day.
pub(crate) async fn process_shard(
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

/// Reads every chunk header of the day, in key order, and marks the repeated batches of the
/// chunks that belong to `shard`. Corrupt headers are left to the shard owning the chunk, which
/// skips and reports it; a chunk the store fails to give fails the run of every shard.
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

/// Stores a shard's partial day.
pub async fn write_partial(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
    shard: Shard,
    partial: &DayPartial,
) -> Result<(), ProcessError> {
    let key = shard_partial_key(site, date, shard.index, shard.count);
    store
        .put(&key, Bytes::from(encode_partial(partial)?))
        .await?;
    Ok(())
}

/// Reads the `count` partials of a day, adds them and writes the day's outputs. Like `process`,
/// a day whose partials exceed the pass budget is merged in passes over session-id hashes: each
/// pass reads every partial again, keeps the sessions of its share, and finishes them; pages add
/// up in the first pass. What a pass holds is the pages, one decoded partial and its share of
/// the sessions.
pub async fn merge_shards(
    store: Arc<dyn ObjectStore>,
    site: &str,
    date: NaiveDate,
    count: u32,
    options: &MergeOptions,
) -> Result<ProcessSummary, ProcessError> {
    let started = std::time::Instant::now();
    let keys: Vec<String> = (0..count)
        .map(|index| shard_partial_key(site, date, index, count))
        .collect();
    let partial_bytes: u64 = store
        .list(&partial_day_prefix(site, date))
        .await?
        .iter()
        .filter(|listed| keys.contains(&listed.key))
        .map(|listed| listed.size_bytes)
        .sum();
    let passes = pass_count(partial_bytes, options.pass_partial_bytes);
    let mut summary = ProcessSummary {
        passes,
        ..ProcessSummary::default()
    };
    let mut finisher = DayFinisher::new(passes, &options.spill_dir)?;
    for index in 0..passes {
        let partition = Partition {
            index,
            count: passes,
        };
        let day = merge_pass(store.as_ref(), &keys, partition).await?;
        if index == 0 {
            summary.streams = day.streams;
            summary.events = day.events;
        }
        finisher = on_blocking(move || finisher.with_pass(day, FinishedGroup::default())).await??;
    }
    (summary.pages, summary.sessions) = write_day(store.as_ref(), site, date, finisher).await?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Adds up the partials of `keys` for one pass: the sessions of `partition`, and the pages too
/// in the first pass.
async fn merge_pass(
    store: &dyn ObjectStore,
    keys: &[String],
    partition: Partition,
) -> Result<DayPartial, ProcessError> {
    let mut day = DayPartial::default();
    for key in keys {
        let bytes = store.get(key).await?;
        let mut partial = decode_partial(&bytes).map_err(|source| ProcessError::Partial {
            key: key.clone(),
            source,
        })?;
        drop(bytes);
        if partition.index > 0 {
            partial.pages = FastMap::default();
        }
        if partition.count > 1 {
            partial
                .sessions
                .retain(|_, session| partition.includes(&session.id));
        }
        day = day.merge(partial);
    }
    Ok(day)
}
