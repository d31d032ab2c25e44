//! Loads a date range of stored aggregates and indexes and merges them. A missing day is empty;
//! a corrupt file is logged and skipped, never fatal.

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

/// Loads and merges page `key` over `days`; `None` if no day has it.
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
    let mut merged: Option<PageAgg> = None;
    let mut hasher = Xxh3::new();
    for (object_key, bytes) in read_all(store, keys).await? {
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
    Ok(merged.map(|agg| PageOverRange {
        agg,
        fingerprint: hasher.digest(),
    }))
}

/// Loads and merges the page index over `days`.
pub async fn load_index(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    days: &[NaiveDate],
) -> RenderResult<PageIndex> {
    let keys = days.iter().map(|day| pages_key(site, *day)).collect();
    let mut merged = PageIndex::default();
    for (object_key, bytes) in read_all(store, keys).await? {
        let Some(bytes) = bytes else { continue };
        match PageIndex::decode(&bytes) {
            Ok(index) => merged.merge(&index),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt page index")
            }
        }
    }
    Ok(merged)
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

    /// Returns the index of `bytes` read from `key`: the cached decoded index, a newly decoded
    /// one, or the bytes to stream when the index is larger than the budget.
    fn open(&self, key: &str, bytes: Bytes) -> Result<DaySessions, FormatError> {
        let raw_bytes = declared_raw_len(&bytes).unwrap_or(0) as u64;
        if raw_bytes > self.budget_bytes || raw_bytes > MAX_FRAME_RAW_BYTES as u64 {
            // Checked now, so that a damaged index is reported before any session is listed.
            SessionIndexReader::open(&bytes)?;
            return Ok(DaySessions::Streamed(bytes));
        }
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        let lock = || self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = lock().iter().find(|c| c.key == key && c.hash == hash) {
            return Ok(DaySessions::Decoded(cached.index.clone()));
        }
        let index = Arc::new(SessionIndex::decode(&bytes)?);
        let mut entries = lock();
        entries.retain(|c| c.key != key);
        entries.push_back(CachedIndex {
            key: key.to_owned(),
            hash,
            raw_bytes,
            index: index.clone(),
        });
        while entries.len() > SESSION_INDEXES_CACHED
            || entries.iter().map(|c| c.raw_bytes).sum::<u64>() > self.budget_bytes
        {
            entries.pop_front();
        }
        Ok(DaySessions::Decoded(index))
    }
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
        match cache.open(&object_key, bytes) {
            Ok(index) => indexes.push((*day, index)),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt session index")
            }
        }
    }
    Ok(indexes)
}
