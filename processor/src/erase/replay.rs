//! The replay lane's part of an erasure: every `.hpd` object of the site whose header names an
//! erased session is written again without its blocks (the others copied as they are), or
//! deleted when nothing else is left in it; each changed day's replay index is written again.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_core::replay::erase::{Without, without_sessions};
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;

use super::EraseError;
use super::raw::date_of;
use crate::pipeline::replay::index_replay_day;
use crate::pipeline::report::ProcessSummary;

/// What the replay lane gave up, or would in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayErasure {
    /// Session blocks removed.
    pub num_blocks: u64,
    /// Objects written again without the sessions, sorted.
    pub rewritten: Vec<String>,
    /// Objects deleted because nothing else was in them, sorted.
    pub deleted: Vec<String>,
    /// Objects that could not be decoded, left as they are (and reported).
    pub unreadable: Vec<String>,
}

impl ReplayErasure {
    /// Returns whether any object changed.
    pub fn changed_anything(&self) -> bool {
        !self.rewritten.is_empty() || !self.deleted.is_empty()
    }
}

/// Removes `sessions` from every replay lane object of `site` and indexes each changed day
/// again (writing nothing when `dry_run`).
pub async fn erase_replay(
    store: &dyn ObjectStore,
    site: &str,
    sessions: &Arc<BTreeSet<String>>,
    dry_run: bool,
    concurrency: usize,
) -> Result<ReplayErasure, EraseError> {
    let keys: Vec<String> = store
        .list(&format!("replay/{site}/"))
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .filter(|key| key.ends_with(".hpd"))
        .collect();
    let outcomes: Vec<(String, Result<Without, String>)> = stream::iter(keys)
        .map(|key| async move {
            let bytes = store.get(&key).await?;
            let sessions = sessions.clone();
            let outcome = on_blocking(move || without_sessions(&bytes, &sessions))
                .await?
                .map_err(|err| err.to_string());
            if !dry_run {
                match &outcome {
                    Ok(Without::Rewritten { bytes, .. }) => {
                        store.put(&key, Bytes::from(bytes.clone())).await?
                    }
                    Ok(Without::Emptied { .. }) => store.delete(&key).await?,
                    Ok(Without::Untouched) | Err(_) => {}
                }
            }
            Ok::<_, EraseError>((key, outcome))
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut erasure = ReplayErasure::default();
    for (key, outcome) in outcomes {
        match outcome {
            Ok(Without::Untouched) => {}
            Ok(Without::Rewritten { removed, .. }) => {
                erasure.num_blocks += removed;
                erasure.rewritten.push(key);
            }
            Ok(Without::Emptied { removed }) => {
                erasure.num_blocks += removed;
                erasure.deleted.push(key);
            }
            Err(reason) => {
                tracing::warn!(object = %key, error = %reason, "cannot read replay object to erase from it; left as it is");
                erasure.unreadable.push(key);
            }
        }
    }
    erasure.rewritten.sort();
    erasure.deleted.sort();
    erasure.unreadable.sort();
    if !dry_run {
        let days: BTreeSet<NaiveDate> = erasure
            .rewritten
            .iter()
            .chain(&erasure.deleted)
            .filter_map(|key| date_of(key))
            .collect();
        for date in days {
            let mut summary = ProcessSummary::default();
            index_replay_day(store, site, date, false, concurrency, &mut summary).await?;
        }
    }
    Ok(erasure)
}
