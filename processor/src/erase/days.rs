//! The processed lanes' part of an erasure, day by day: the session index names the sessions,
//! and each affected day is processed again from its rewritten raw objects (the existing
//! [`process_day`]), which rewrites its session index and aggregates as if the sessions had
//! never come. A page that only they viewed loses its aggregate object too, and the day's shard
//! partials, which hold sessions, are deleted. A day whose raw objects retention has already
//! deleted cannot be processed again: its session index is rewritten without the sessions, and
//! its aggregates, which hold counts and grids but no session id, stay.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use heatpipe_core::agg::PageIndex;
use heatpipe_core::keys::{pages_key, partial_day_prefix, session_index_key};
use heatpipe_core::session::SessionIndex;
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;
use serde::Serialize;

use super::EraseError;
use crate::{ProcessorConfig, process_day};

/// What an erasure did to one day's processed data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayErasure {
    pub date: NaiveDate,
    /// Sessions the day's session index listed among those erased.
    pub num_indexed_sessions: u64,
    /// Whether the day was processed again (false: its index was rewritten alone, or, in a dry
    /// run, nothing was written).
    pub reprocessed: bool,
    /// Page aggregates deleted because no page view is left on their page.
    pub num_pages_deleted: u64,
    /// Shard partials deleted.
    pub num_partials_deleted: u64,
}

/// Returns the dates of `site` that have a session index.
pub async fn indexed_dates(
    store: &dyn ObjectStore,
    site: &str,
) -> Result<BTreeSet<NaiveDate>, EraseError> {
    Ok(store
        .list(&format!("sessions/{site}/"))
        .await?
        .into_iter()
        .filter(|meta| meta.key.ends_with("/index.hps"))
        .filter_map(|meta| heatpipe_core::keys::parse_date(meta.key.split('/').nth(2)?).ok())
        .collect())
}

/// Reads `date`'s session index, if there is one.
pub async fn read_index(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
) -> Result<Option<SessionIndex>, EraseError> {
    let key = session_index_key(site, date);
    let bytes = match store.get(&key).await {
        Ok(bytes) => bytes,
        Err(err) if err.is_not_found() => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let index = on_blocking(move || SessionIndex::decode(&bytes))
        .await?
        .map_err(|source| EraseError::Format { key, source })?;
    Ok(Some(index))
}

/// Returns how many of `sessions` `index` lists.
pub fn count_indexed(index: &SessionIndex, sessions: &BTreeSet<String>) -> u64 {
    index
        .sessions
        .iter()
        .filter(|session| sessions.contains(&session.id))
        .count() as u64
}

/// Brings `date`'s processed data in line with its rewritten raw objects: processes it again
/// when `has_raw`, else rewrites its index without `sessions`; then deletes its orphaned page
/// aggregates and its shard partials.
pub async fn settle_day(
    store: &Arc<dyn ObjectStore>,
    config: &ProcessorConfig,
    site: &str,
    date: NaiveDate,
    has_raw: bool,
    sessions: &BTreeSet<String>,
    mut day: DayErasure,
) -> Result<DayErasure, EraseError> {
    if has_raw {
        process_day(store.clone(), &config.options(site, date)).await?;
        day.reprocessed = true;
        day.num_pages_deleted = delete_orphaned_pages(store.as_ref(), site, date).await?;
    } else if day.num_indexed_sessions > 0
        && let Some(mut index) = read_index(store.as_ref(), site, date).await?
    {
        index
            .sessions
            .retain(|session| !sessions.contains(&session.id));
        let bytes = on_blocking(move || index.encode()).await??;
        store
            .put(&session_index_key(site, date), Bytes::from(bytes))
            .await?;
    }
    let partials = store.list(&partial_day_prefix(site, date)).await?;
    for partial in &partials {
        store.delete(&partial.key).await?;
    }
    day.num_partials_deleted = partials.len() as u64;
    Ok(day)
}

/// Deletes the page aggregates of `date` that its page index no longer lists.
async fn delete_orphaned_pages(
    store: &dyn ObjectStore,
    site: &str,
    date: NaiveDate,
) -> Result<u64, EraseError> {
    let key = pages_key(site, date);
    let listed: BTreeSet<String> = match store.get(&key).await {
        Ok(bytes) => on_blocking(move || PageIndex::decode(&bytes))
            .await?
            .map_err(|source| EraseError::Format { key, source })?
            .pages
            .into_iter()
            .map(|page| format!("agg/{site}/{date}/page/{}.hpa", page.key))
            .collect(),
        Err(err) if err.is_not_found() => BTreeSet::new(),
        Err(err) => return Err(err.into()),
    };
    let mut deleted = 0;
    for meta in store.list(&format!("agg/{site}/{date}/page/")).await? {
        if !listed.contains(&meta.key) {
            store.delete(&meta.key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
