//! Loads a date range of stored aggregates and indexes and merges them. A missing day is empty;
//! a corrupt file is logged and skipped, never fatal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::NaiveDate;
use futures::future::join_all;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::chunk::FormatError;
use heatpipe_core::keys::{page_agg_key, pages_key, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_core::store::ObjectStore;
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

/// Decoded session indexes by store key, each with a hash of the bytes it was decoded from: a
/// day's index is read on every `sessions` and `timeline` request but decoded only when it
/// changed. Bounded: the oldest entry goes first.
#[derive(Debug, Default)]
pub struct SessionIndexCache {
    entries: Mutex<VecDeque<(String, u64, Arc<SessionIndex>)>>,
}

/// Indexes kept decoded.
const SESSION_INDEXES_CACHED: usize = 32;

impl SessionIndexCache {
    /// Returns the decoded index of `bytes` read from `key`, decoding only if not cached.
    fn decode(&self, key: &str, bytes: &[u8]) -> Result<Arc<SessionIndex>, FormatError> {
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        let lock = || self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, index)) = lock().iter().find(|(k, h, _)| k == key && *h == hash) {
            return Ok(index.clone());
        }
        let index = Arc::new(SessionIndex::decode(bytes)?);
        let mut entries = lock();
        entries.retain(|(k, _, _)| k != key);
        entries.push_back((key.to_owned(), hash, index.clone()));
        while entries.len() > SESSION_INDEXES_CACHED {
            entries.pop_front();
        }
        Ok(index)
    }
}

/// Loads the session indexes of `days`, each with its day.
pub async fn load_session_indexes(
    store: &Arc<dyn ObjectStore>,
    cache: &SessionIndexCache,
    site: &str,
    days: &[NaiveDate],
) -> RenderResult<Vec<(NaiveDate, Arc<SessionIndex>)>> {
    let keys = days
        .iter()
        .map(|day| session_index_key(site, *day))
        .collect();
    let mut indexes = Vec::new();
    for ((object_key, bytes), day) in read_all(store, keys).await?.into_iter().zip(days) {
        let Some(bytes) = bytes else { continue };
        match cache.decode(&object_key, &bytes) {
            Ok(index) => indexes.push((*day, index)),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt session index")
            }
        }
    }
    Ok(indexes)
}
