//! Turns sealed log segments into objects in the store. A segment's records are grouped by
//! partition (site, UTC date and hour: of the page view start for native batches, of the first
//! event for rrweb batches); each partition becomes the chunk
//! `raw/{site}/{date}/{hour}/{collector_id}-{segment}.hpc` or the rrweb lane object `….hpr`, so
//! uploading the same segment again — after a crash, or a retry — replaces the same objects. The
//! segment file is deleted only once all its objects are stored. Batches of sessions erased
//! while they waited in the log are left out (see [`crate::erased`]). Failed uploads are retried with exponential backoff and jitter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use heatpipe_core::chunk::encode_chunk;
use heatpipe_core::event::Stream;
use heatpipe_core::keys::{chunk_key, date_hour_of_ms, replay_segment_key, rrweb_lane_key};
use heatpipe_core::replay::ReplayEvent;
use heatpipe_core::replay::lane::{SessionEvents, encode_lane as encode_replay_lane};
use heatpipe_core::rrweb::{RrwebBatch, encode_lane};
use heatpipe_io::store::ObjectStore;
use rand::Rng;
use tokio::sync::{mpsc, watch};

use crate::erased::Erased;
use crate::metrics::Metrics;
use crate::wal::{LoggedBatch, SealedSegment, Wal, WalRecord, read_segment};

/// First retry delay; doubles per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Stores one sealed segment's objects and deletes the segment; returns how many objects.
/// Batches of sessions or visitors erased since they were logged are left out.
pub async fn upload_segment(
    store: &dyn ObjectStore,
    segment: &SealedSegment,
    zstd_level: i32,
) -> Result<usize, String> {
    let reading = segment.clone();
    let mut records = tokio::task::spawn_blocking(move || read_acknowledged(&reading))
        .await
        .map_err(|e| e.to_string())??;
    leave_out_erased(store, &mut records).await?;
    let (collector_id, number) = (segment.collector_id.clone(), segment.segment);
    let objects = tokio::task::spawn_blocking(move || {
        encode_objects(records, &collector_id, number, zstd_level)
    })
    .await
    .map_err(|e| e.to_string())??;
    let num_objects = objects.len();
    for (key, encoded) in objects {
        store
            .put(&key, Bytes::from(encoded))
            .await
            .map_err(|e| e.to_string())?;
    }
    let path = segment.path.clone();
    tokio::task::spawn_blocking(move || {
        std::fs::remove_file(&path)?;
        match path.parent() {
            Some(folder) => std::fs::File::open(folder)?.sync_all(),
            None => Ok(()),
        }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    Ok(num_objects)
}

/// Reads the segment's acknowledged records.
fn read_acknowledged(segment: &SealedSegment) -> Result<Vec<WalRecord>, String> {
    let bytes = std::fs::read(&segment.path).map_err(|e| e.to_string())?;
    // A segment sealed after a failed write ends at its last acknowledged record.
    let acknowledged = bytes.len().min(segment.size_bytes as usize);
    let (records, dropped) = read_segment(&bytes[..acknowledged]);
    if dropped > 0 {
        tracing::warn!(segment = %segment.path.display(), dropped_bytes = dropped, "log segment ends in a torn record (never acknowledged); dropping it");
    }
    Ok(records)
}

/// Drops the records of sessions and visitors erased since they were logged.
async fn leave_out_erased(
    store: &dyn ObjectStore,
    records: &mut Vec<WalRecord>,
) -> Result<(), String> {
    let sites: BTreeSet<String> = records.iter().map(|r| r.site.clone()).collect();
    let mut erased = BTreeMap::new();
    for site in sites {
        let tombstones = Erased::load(store, &site)
            .await
            .map_err(|e| e.to_string())?;
        erased.insert(site, tombstones);
    }
    let before = records.len();
    records.retain(|record| !erased.get(&record.site).is_some_and(|e| e.covers(record)));
    if records.len() < before {
        tracing::info!(
            batches = before - records.len(),
            "left out batches of erased sessions"
        );
    }
    Ok(())
}

/// The records grouped by (site, UTC date, hour), each group encoded under its key: native
/// streams as a chunk (by the page view's start), rrweb batches as an `.hpr` lane object (by the
/// batch's first event); DOM recording batches grouped by (site, UTC date of their first event)
/// into one replay lane object, one block per session.
fn encode_objects(
    records: Vec<WalRecord>,
    collector_id: &str,
    number: u64,
    zstd_level: i32,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    type Partition = (String, chrono::NaiveDate, u32);
    let mut streams: BTreeMap<Partition, Vec<Stream>> = BTreeMap::new();
    let mut rrweb: BTreeMap<Partition, Vec<RrwebBatch>> = BTreeMap::new();
    type Recordings = BTreeMap<String, Vec<ReplayEvent>>;
    let mut replay: BTreeMap<(String, chrono::NaiveDate), Recordings> = BTreeMap::new();
    for record in records {
        match record.batch {
            LoggedBatch::Stream(stream) => {
                let (date, hour) = date_hour_of_ms(stream.page.started_at_ms);
                streams
                    .entry((record.site, date, hour))
                    .or_default()
                    .push(stream);
            }
            LoggedBatch::Rrweb(batch) => {
                let Some(first_at_ms) = batch.first_at_ms() else {
                    continue;
                };
                let (date, hour) = date_hour_of_ms(first_at_ms);
                rrweb
                    .entry((record.site, date, hour))
                    .or_default()
                    .push(batch);
            }
            LoggedBatch::Replay(batch) => {
                let Some(first_at_ms) = batch.first_at_ms() else {
                    continue;
                };
                let (date, _) = date_hour_of_ms(first_at_ms);
                replay
                    .entry((record.site, date))
                    .or_default()
                    .entry(batch.session_id)
                    .or_default()
                    .extend(batch.events);
            }
        }
    }
    let mut objects = Vec::with_capacity(streams.len() + rrweb.len());
    for ((site, date, hour), streams) in streams {
        let encoded = encode_chunk(&streams, zstd_level).map_err(|e| e.to_string())?;
        objects.push((chunk_key(&site, date, hour, collector_id, number), encoded));
    }
    for ((site, date, hour), batches) in rrweb {
        let encoded = encode_lane(&batches).map_err(|e| e.to_string())?;
        objects.push((
            rrweb_lane_key(&site, date, hour, collector_id, number),
            encoded,
        ));
    }
    for ((site, date), sessions) in replay {
        let sessions = sessions
            .into_iter()
            .map(|(session_id, events)| SessionEvents { session_id, events })
            .collect();
        let encoded =
            encode_replay_lane(sessions, Vec::new(), zstd_level).map_err(|e| e.to_string())?;
        objects.push((
            replay_segment_key(&site, date, collector_id, number),
            encoded,
        ));
    }
    Ok(objects)
}

/// Uploads `leftovers`, then every segment sealed from now on, retrying each until it is stored.
/// Once `draining` turns true it returns as soon as nothing is left to upload.
pub async fn run_uploader(
    store: Arc<dyn ObjectStore>,
    wal: Arc<Wal>,
    leftovers: Vec<SealedSegment>,
    mut sealed: mpsc::UnboundedReceiver<SealedSegment>,
    mut draining: watch::Receiver<bool>,
    zstd_level: i32,
    metrics: Arc<Metrics>,
) {
    let mut queue: std::collections::VecDeque<SealedSegment> = leftovers.into();
    loop {
        let segment = match queue.pop_front() {
            Some(segment) => segment,
            None => match sealed.try_recv() {
                Ok(segment) => segment,
                Err(_) if *draining.borrow() => return,
                Err(_) => tokio::select! {
                    next = sealed.recv() => match next {
                        Some(segment) => segment,
                        None => return,
                    },
                    _ = draining.changed() => continue,
                },
            },
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = std::time::Instant::now();
            match upload_segment(store.as_ref(), &segment, zstd_level).await {
                Ok(chunks) => {
                    wal.release(segment.size_bytes);
                    metrics.record_upload(started.elapsed(), chunks);
                    tracing::debug!(segment = segment.segment, chunks, "log segment stored");
                    break;
                }
                Err(error) => {
                    metrics.upload_failures.fetch_add(1, Ordering::Relaxed);
                    let jitter = Duration::from_millis(
                        rand::rng().random_range(0..=backoff.as_millis() as u64 / 2),
                    );
                    tracing::warn!(segment = segment.segment, %error, retry_in_ms = (backoff + jitter).as_millis() as u64, "storing a log segment failed; will retry");
                    tokio::time::sleep(backoff + jitter).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::encode_record;
    use heatpipe_core::chunk::decode_chunk;
    use heatpipe_fixtures::SessionBuilder;
    use heatpipe_io::store::MemoryStore;

    #[tokio::test]
    async fn a_segment_becomes_one_chunk_per_partition_under_segment_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hour_ms = 3_600_000;
        let a = SessionBuilder::new("a", "https://x.example/", 1_795_132_800_000)
            .click(1, 2, 3, "#b")
            .build();
        let b = SessionBuilder::new("b", "https://x.example/", 1_795_132_800_000 + hour_ms).build();
        let mut bytes = Vec::new();
        for (site, stream) in [("shop", &a[0]), ("shop", &b[0]), ("blog", &a[0])] {
            bytes.extend(encode_record(&WalRecord::stream(site, stream.clone())).expect("encode"));
        }
        let path = dir.path().join("0000000000000007.log");
        std::fs::write(&path, &bytes).expect("write");
        let segment = SealedSegment {
            collector_id: "c9".into(),
            segment: 7,
            path: path.clone(),
            size_bytes: bytes.len() as u64,
        };
        let store = MemoryStore::new();
        assert_eq!(upload_segment(&store, &segment, 3).await, Ok(3));
        let keys: Vec<String> = store
            .list("raw/")
            .await
            .expect("list")
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(
            keys,
            [
                "raw/blog/2026-11-20/00/c9-0000000000000007.hpc",
                "raw/shop/2026-11-20/00/c9-0000000000000007.hpc",
                "raw/shop/2026-11-20/01/c9-0000000000000007.hpc",
            ]
        );
        assert_eq!(
            decode_chunk(&store.get(&keys[1]).await.expect("get")).expect("decode"),
            a
        );
        assert!(!path.exists(), "the segment is deleted once stored");
    }
}
