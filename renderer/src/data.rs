//! Loads a date range of stored aggregates and indexes and merges them. A missing day is empty;
//! a corrupt file is logged and skipped, never fatal. Decoding and merging run off the async
//! runtime's threads.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::NaiveDate;
use futures::future::join_all;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::error::FormatError;
use heatpipe_core::frame::{MAX_FRAME_RAW_BYTES, declared_raw_len};
use heatpipe_core::keys::{page_agg_key, pages_key, session_index_key};
use heatpipe_core::session::{SessionIndex, SessionSummary};
use heatpipe_core::session_reader::SessionIndexReader;
use heatpipe_io::store::ObjectStore;
use heatpipe_io::{on_blocking, on_rayon};
use xxhash_rust::xxh3::Xxh3;

use crate::error::RenderResult;

/// Reads each key, in order; `None` where the object does not exist.
async fn read_all(
    store: &Arc<dyn ObjectStore>,
    keys: Vec<String>,
) -> RenderResult<Vec<(String, Option<Bytes>)>> {
    let reads = keys.into_iter().map(|key| async move {
        match store.get(&key).await {
            Ok(bytes) => Ok((key, Some(bytes))),
            Err(err) if err.is_not_found() => Ok((key, None)),
            Err(err) => Err(err),
        }
    });
    join_all(reads)
        .await
        .into_iter()
        .map(|r| r.map_err(Into::into))
        .collect()
}

/// A page's aggregates over a range, and a fingerprint of the stored bytes they came from.
#[derive(Debug, Clone)]
pub struct PageOverRange {
    pub agg: PageAgg,
    pub fingerprint: u64,
}

/// Loads and merges page `key` over `days`; `None` if no day has it. Decoding and merging run
/// on the rayon pool: a range of days holds megabytes of grids.
pub async fn load_page(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    days: &[NaiveDate],
    key: &str,
) -> RenderResult<Option<PageOverRange>> {
    let keys = days
        .iter()
        .map(|day| page_agg_key(site, *day, key))
        .collect();
    let stored = read_all(store, keys).await?;
    Ok(on_rayon(move || merge_pages(stored)).await?)
}

/// Decodes and adds up a page's stored days, skipping (and logging) corrupt ones.
fn merge_pages(stored: Vec<(String, Option<Bytes>)>) -> Option<PageOverRange> {
    let mut merged: Option<PageAgg> = None;
    let mut hasher = Xxh3::new();
    for (object_key, bytes) in stored {
        let Some(bytes) = bytes else { continue };
        match PageAgg::decode(&bytes) {
            Ok(agg) => {
                hasher.update(object_key.as_bytes());
                hasher.update(&bytes);
                match merged.as_mut() {
                    Some(total) => total.merge(&agg),
                    None => merged = Some(agg),
                }
            }
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt page aggregate")
            }
        }
    }
    merged.map(|agg| PageOverRange {
        agg,
        fingerprint: hasher.digest(),
    })
}

/// Loads and merges the page index over `days` (decoded on the rayon pool).
pub async fn load_index(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    days: &[NaiveDate],
) -> RenderResult<PageIndex> {
    let keys = days.iter().map(|day| pages_key(site, *day)).collect();
    let stored = read_all(store, keys).await?;
    Ok(on_rayon(move || merge_indexes(stored)).await?)
}

/// Decodes and adds up the stored page indexes, skipping (and logging) corrupt ones.
fn merge_indexes(stored: Vec<(String, Option<Bytes>)>) -> PageIndex {
    let mut merged = PageIndex::default();
    for (object_key, bytes) in stored {
        let Some(bytes) = bytes else { continue };
        match PageIndex::decode(&bytes) {
            Ok(index) => merged.merge(&index),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt page index")
            }
        }
    }
    merged
}

/// A day's session index as a request reads it: decoded whole (and cached) when its body fits
/// the cache's budget, otherwise kept compressed and read one session at a time, so that a day of
/// millions of sessions is listed and replayed in bounded memory rather than refused.
#[derive(Debug, Clone)]
pub enum DaySessions {
    Decoded(Arc<SessionIndex>),
    Streamed(Bytes),
}

impl DaySessions {
    /// Calls `visit` with the index's chunk keys and each session, in index order, until it
    /// breaks. An index found damaged part way is an error after the sessions before the damage.
    /// A read session comes owned, a cached one borrowed.
    pub fn scan(
        &self,
        mut visit: impl FnMut(&[String], Cow<'_, SessionSummary>) -> ControlFlow<()>,
    ) -> Result<(), FormatError> {
        match self {
            DaySessions::Decoded(index) => {
                for session in &index.sessions {
                    if visit(&index.chunks, Cow::Borrowed(session)).is_break() {
                        break;
                    }
                }
            }
            DaySessions::Streamed(bytes) => {
                let mut reader = SessionIndexReader::open(bytes)?;
                while let Some(session) = reader.next() {
                    if visit(reader.chunks(), Cow::Owned(session?)).is_break() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Decoded session indexes by store key, each with a hash of the bytes it was decoded from: a
/// day's index is read on every `sessions` and `timeline` request but decoded only when it
/// changed. Bounded by the decompressed size of the indexes it holds: the oldest go first, and
/// an index larger than the whole budget is never decoded whole (see [`DaySessions`]).
#[derive(Debug)]
pub struct SessionIndexCache {
    budget_bytes: u64,
    entries: Mutex<VecDeque<CachedIndex>>,
}

/// Indexes kept decoded at most, whatever their size: each request looks its days up in a list.
const SESSION_INDEXES_CACHED: usize = 400;

#[derive(Debug)]
struct CachedIndex {
    key: String,
    hash: u64,
    raw_bytes: u64,
    index: Arc<SessionIndex>,
}

impl SessionIndexCache {
    /// A cache holding decoded indexes of at most `budget_bytes` of decompressed bodies.
    pub fn new(budget_bytes: u64) -> Self {
        SessionIndexCache {
            budget_bytes,
            entries: Mutex::default(),
        }
    }

    /// Looks up the index of `bytes` read from `key`: the cached decoded index, or what must be
    /// done with it (decoded, or streamed when it is larger than the budget). Only hashes the
    /// bytes: cheap enough for the async runtime.
    fn look_up(&self, key: &str, bytes: &Bytes) -> Lookup {
        let raw_bytes = declared_raw_len(bytes).unwrap_or(0) as u64;
        if raw_bytes > self.budget_bytes || raw_bytes > MAX_FRAME_RAW_BYTES as u64 {
            return Lookup::Stream;
        }
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        match self.lock().iter().find(|c| c.key == key && c.hash == hash) {
            Some(cached) => Lookup::Cached(cached.index.clone()),
            None => Lookup::Decode { hash, raw_bytes },
        }
    }

    /// Keeps a newly decoded index, evicting the oldest past the budget.
    fn keep(&self, key: &str, hash: u64, raw_bytes: u64, index: Arc<SessionIndex>) {
        let mut entries = self.lock();
        entries.retain(|c| c.key != key);
        entries.push_back(CachedIndex {
            key: key.to_owned(),
            hash,
            raw_bytes,
            index,
        });
        while entries.len() > SESSION_INDEXES_CACHED
            || entries.iter().map(|c| c.raw_bytes).sum::<u64>() > self.budget_bytes
        {
            entries.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<CachedIndex>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns the index of `bytes` read from `key`: the cached decoded index, a newly decoded
    /// one, or the bytes to stream when the index is larger than the budget. Decoding (and the
    /// check of an index to stream) runs on the blocking pool: a busy day's index takes tens of
    /// milliseconds.
    async fn open(
        &self,
        key: &str,
        bytes: Bytes,
    ) -> RenderResult<Result<DaySessions, FormatError>> {
        match self.look_up(key, &bytes) {
            Lookup::Cached(index) => Ok(Ok(DaySessions::Decoded(index))),
            Lookup::Stream => {
                // Checked now, so that a damaged index is reported before any session is listed.
                let checked = bytes.clone();
                let opened =
                    on_blocking(move || SessionIndexReader::open(&checked).map(|_| ())).await?;
                Ok(opened.map(|()| DaySessions::Streamed(bytes)))
            }
            Lookup::Decode { hash, raw_bytes } => {
                let decoded = on_blocking(move || SessionIndex::decode(&bytes)).await?;
                Ok(decoded.map(|index| {
                    let index = Arc::new(index);
                    self.keep(key, hash, raw_bytes, index.clone());
                    DaySessions::Decoded(index)
                }))
            }
        }
    }
}

/// What [`SessionIndexCache::look_up`] found.
enum Lookup {
    Cached(Arc<SessionIndex>),
    Decode { hash: u64, raw_bytes: u64 },
    Stream,
}

/// Loads the session indexes of `days`, each with its day.
pub async fn load_session_indexes(
    store: &Arc<dyn ObjectStore>,
    cache: &SessionIndexCache,
    site: &str,
    days: &[NaiveDate],
) -> RenderResult<Vec<(NaiveDate, DaySessions)>> {
    let keys = days
        .iter()
        .map(|day| session_index_key(site, *day))
        .collect();
    let mut indexes = Vec::new();
    for ((object_key, bytes), day) in read_all(store, keys).await?.into_iter().zip(days) {
        let Some(bytes) = bytes else { continue };
        match cache.open(&object_key, bytes).await? {
            Ok(index) => indexes.push((*day, index)),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt session index")
            }
        }
    }
    Ok(indexes)
}
