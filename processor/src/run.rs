//! The day driver: lists a day's chunks, fetches them a window at a time (bounded concurrency),
//! drops repeated batches, decodes and accumulates each window on all cores with rayon, and
//! writes the day's aggregates and session index.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt};
use heatpipe_core::chunk::{ChunkIndex, decode_block, decode_header};
use heatpipe_core::keys::{page_agg_key, pages_key, raw_day_prefix, session_index_key};
use heatpipe_core::session::BlockRef;
use heatpipe_core::store::ObjectStore;
use rayon::prelude::*;

use crate::accumulate::{DayPartial, accumulate};
use crate::finalize::{DayOutput, finalize};
use crate::{ProcessError, ProcessSummary};

/// What to process and how hard to push the store.
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    pub site: String,
    pub date: NaiveDate,
    /// Chunks fetched at once.
    pub fetch_concurrency: usize,
    /// Chunks held in memory at once (a window); bounds memory whatever the day's size.
    pub window_chunks: usize,
}

impl ProcessOptions {
    pub fn new(site: &str, date: NaiveDate) -> Self {
        ProcessOptions {
            site: site.to_owned(),
            date,
            fetch_concurrency: 8,
            window_chunks: 64,
        }
    }
}

/// A fetched chunk with its decoded header, and which of its streams are repeats to skip.
struct FetchedChunk {
    key: String,
    bytes: Bytes,
    index: ChunkIndex,
    /// Per block, per stream: true where an earlier chunk (in key order) had the same batch.
    skip: Vec<Vec<bool>>,
}

/// Processes one day of one site and writes its outputs; returns what was done.
pub async fn process_day(
    store: Arc<dyn ObjectStore>,
    options: &ProcessOptions,
) -> Result<ProcessSummary, ProcessError> {
    let started = Instant::now();
    let prefix = raw_day_prefix(&options.site, options.date);
    let keys: Vec<String> = store
        .list(&prefix)
        .await?
        .into_iter()
        .map(|m| m.key)
        .filter(|k| k.ends_with(".hpc"))
        .collect();
    let mut summary = ProcessSummary {
        chunks: keys.len() as u64,
        ..ProcessSummary::default()
    };
    let mut seen_batches: HashSet<(String, u64)> = HashSet::new();
    let mut day = DayPartial::default();
    for window in keys.chunks(options.window_chunks.max(1)) {
        let fetched: Vec<(String, Result<Bytes, heatpipe_core::store::StoreError>)> =
            stream::iter(window.iter().cloned())
                .map(|key| {
                    let store = store.clone();
                    async move {
                        let result = store.get(&key).await;
                        (key, result)
                    }
                })
                .buffered(options.fetch_concurrency.max(1))
                .collect()
                .await;
        let mut chunks = Vec::with_capacity(fetched.len());
        for (key, result) in fetched {
            match result.map_err(|e| e.to_string()).and_then(|bytes| {
                decode_header(&bytes)
                    .map(|index| (bytes, index))
                    .map_err(|e| e.to_string())
            }) {
                Ok((bytes, index)) => {
                    let skip =
                        mark_repeats(&index, &mut seen_batches, &mut summary.duplicate_streams);
                    chunks.push(FetchedChunk {
                        key,
                        bytes,
                        index,
                        skip,
                    });
                }
                Err(reason) => {
                    tracing::warn!(chunk = %key, %reason, "skipping unreadable chunk");
                    summary.chunks_skipped += 1;
                    summary.skipped.push((key, reason));
                }
            }
        }
        let (partial, failures) = aggregate_window(chunks).await?;
        for (key, reason) in failures {
            tracing::warn!(chunk = %key, %reason, "skipping corrupt block");
            summary.blocks_skipped += 1;
            summary.skipped.push((key, reason));
        }
        day = day.merge(partial);
    }
    summary.streams = day.streams;
    summary.events = day.events;
    let output = tokio::task::spawn_blocking(move || finalize(day))
        .await
        .map_err(|e| ProcessError::Task(e.to_string()))?;
    summary.pages = output.pages.len() as u64;
    summary.sessions = output.sessions.sessions.len() as u64;
    write_output(store.as_ref(), options, &output).await?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Marks the streams of `index` whose (session, batch) was already seen, and records the rest.
fn mark_repeats(
    index: &ChunkIndex,
    seen: &mut HashSet<(String, u64)>,
    duplicates: &mut u64,
) -> Vec<Vec<bool>> {
    index
        .header
        .blocks
        .iter()
        .map(|block| {
            block
                .sessions
                .iter()
                .flat_map(|session| {
                    session
                        .streams
                        .iter()
                        .map(move |stream| (&session.session_id, stream))
                })
                .map(|(session_id, stream)| {
                    let fresh = seen.insert((session_id.clone(), stream.batch_seq));
                    *duplicates += u64::from(!fresh);
                    !fresh
                })
                .collect()
        })
        .collect()
}

/// Decodes and accumulates a window's chunks on the rayon pool; returns the partial and the
/// blocks that could not be decoded.
async fn aggregate_window(
    chunks: Vec<FetchedChunk>,
) -> Result<(DayPartial, Vec<(String, String)>), ProcessError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let result = chunks.par_iter().map(aggregate_chunk).reduce(
            || (DayPartial::default(), Vec::new()),
            |(a, mut fa), (b, fb)| {
                fa.extend(fb);
                (a.merge(b), fa)
            },
        );
        let _ = sender.send(result);
    });
    receiver
        .await
        .map_err(|_| ProcessError::Task("aggregation worker stopped".into()))
}

fn aggregate_chunk(chunk: &FetchedChunk) -> (DayPartial, Vec<(String, String)>) {
    let mut partial = DayPartial::default();
    let mut failures = Vec::new();
    for (block_number, entry) in chunk.index.header.blocks.iter().enumerate() {
        let decoded = chunk
            .index
            .block_range(block_number)
            .and_then(|range| chunk.bytes.get(range.start as usize..range.end as usize))
            .ok_or_else(|| "block lies past the end of the chunk".to_owned())
            .and_then(|bytes| {
                decode_block(bytes, entry.spec(), block_number).map_err(|e| e.to_string())
            });
        let streams = match decoded {
            Ok(streams) => streams,
            Err(reason) => {
                failures.push((chunk.key.clone(), format!("block {block_number}: {reason}")));
                continue;
            }
        };
        let block_ref = BlockRef {
            chunk_key: chunk.key.clone(),
            offset: chunk.index.data_start + entry.offset,
            compressed_len: entry.compressed_len,
            raw_len: entry.raw_len,
            crc32: entry.crc32,
            num_streams: entry.num_streams() as u32,
        };
        for (stream, skip) in streams.iter().zip(&chunk.skip[block_number]) {
            if *skip {
                continue;
            }
            accumulate(&mut partial, stream);
            let blocks = partial
                .session_blocks
                .entry(stream.session_id.clone())
                .or_default();
            if blocks.last() != Some(&block_ref) {
                blocks.push(block_ref.clone());
            }
        }
    }
    (partial, failures)
}

async fn write_output(
    store: &dyn ObjectStore,
    options: &ProcessOptions,
    output: &DayOutput,
) -> Result<(), ProcessError> {
    for (key, page) in &output.pages {
        store
            .put(
                &page_agg_key(&options.site, options.date, key),
                Bytes::from(page.encode()?),
            )
            .await?;
    }
    store
        .put(
            &pages_key(&options.site, options.date),
            Bytes::from(output.index.encode()?),
        )
        .await?;
    store
        .put(
            &session_index_key(&options.site, options.date),
            Bytes::from(output.sessions.encode()?),
        )
        .await?;
    Ok(())
}
