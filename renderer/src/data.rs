//! Loads a date range of stored aggregates and indexes and merges them. A missing day is empty;
//! a corrupt file is logged and skipped, never fatal.

use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use futures::future::join_all;
use heatpipe_core::agg::{PageAgg, PageIndex};
use heatpipe_core::keys::{page_agg_key, pages_key, session_index_key};
use heatpipe_core::session::{SessionIndex, SessionSummary};
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

/// Loads the session summaries of `days`, each with its day.
pub async fn load_sessions(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    days: &[NaiveDate],
) -> RenderResult<Vec<(NaiveDate, SessionSummary)>> {
    let keys = days
        .iter()
        .map(|day| session_index_key(site, *day))
        .collect();
    let mut sessions = Vec::new();
    for ((object_key, bytes), day) in read_all(store, keys).await?.into_iter().zip(days) {
        let Some(bytes) = bytes else { continue };
        match SessionIndex::decode(&bytes) {
            Ok(index) => sessions.extend(index.sessions.into_iter().map(|s| (*day, s))),
            Err(err) => {
                tracing::warn!(key = %object_key, error = %err, "skipping corrupt session index")
            }
        }
    }
    Ok(sessions)
}
