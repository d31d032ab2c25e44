//! The raw lane's part of an erasure: finding the sessions of a visitor in the chunks, and
//! rewriting every chunk (`.hpc`) and rrweb batch object (`.hpr`) that holds a session to be
//! erased without it, under the same key (the store's `put` replaces atomically), or deleting it
//! when nothing else is left in it. The chunk is encoded again with the chunk writer, so that it
//! is the chunk a collector would have written had the session never come.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_core::chunk::{DEFAULT_ZSTD_LEVEL, decode_chunk, decode_header, encode_chunk};
use heatpipe_core::error::FormatError;
use heatpipe_core::rrweb::{decode_lane, encode_lane};
use heatpipe_io::on_blocking;
use heatpipe_io::store::ObjectStore;

use super::EraseError;

/// A site's raw objects, by the date in their key.
pub type RawDays = BTreeMap<NaiveDate, Vec<String>>;

/// What erasing sessions from one raw object does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// The object holds none of them.
    Untouched,
    /// The object is written again without them.
    Rewritten { removed: u64, bytes: Vec<u8> },
    /// The object held nothing else and is deleted.
    Deleted { removed: u64 },
}

/// What the raw lane gave up, or would in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RawErasure {
    /// Chunk streams removed.
    pub num_streams: u64,
    /// rrweb batches removed.
    pub num_rrweb_batches: u64,
    /// Objects written again without the sessions, sorted.
    pub rewritten: Vec<String>,
    /// Objects deleted because nothing else was in them, sorted.
    pub deleted: Vec<String>,
    /// Objects that could not be decoded, left as they are (and reported).
    pub unreadable: Vec<String>,
}

impl RawErasure {
    /// Returns the dates whose raw objects changed.
    pub fn changed_dates(&self) -> BTreeSet<NaiveDate> {
        self.rewritten
            .iter()
            .chain(&self.deleted)
            .filter_map(|key| date_of(key))
            .collect()
    }

    /// Returns the dates of `.hpr` objects of hour 00 that changed: the day before reads them
    /// too (a page view continuing past midnight), so it is reprocessed as well.
    pub fn changed_midnight_lanes(&self) -> BTreeSet<NaiveDate> {
        self.rewritten
            .iter()
            .chain(&self.deleted)
            .filter(|key| key.ends_with(".hpr") && key.split('/').nth(3) == Some("00"))
            .filter_map(|key| date_of(key))
            .collect()
    }
}

/// Returns the date of `raw/{site}/{date}/…` (or of any lane's key laid out the same way).
pub fn date_of(key: &str) -> Option<NaiveDate> {
    heatpipe_core::keys::parse_date(key.split('/').nth(2)?).ok()
}

/// Lists `raw/{site}/` and groups the chunks and rrweb batch objects by date.
pub async fn list_raw_days(store: &dyn ObjectStore, site: &str) -> Result<RawDays, EraseError> {
    let mut days = RawDays::new();
    for meta in store.list(&format!("raw/{site}/")).await? {
        if !(meta.key.ends_with(".hpc") || meta.key.ends_with(".hpr")) {
            continue;
        }
        if let Some(date) = date_of(&meta.key) {
            days.entry(date).or_default().push(meta.key);
        }
    }
    for keys in days.values_mut() {
        keys.sort();
    }
    Ok(days)
}

/// Returns the ids of the sessions with a chunk stream carrying `visitor_key`, over `days`.
pub async fn sessions_of_visitor(
    store: &dyn ObjectStore,
    days: &RawDays,
    visitor_key: &str,
    concurrency: usize,
) -> Result<(BTreeSet<String>, Vec<String>), EraseError> {
    let keys: Vec<String> = days
        .values()
        .flatten()
        .filter(|key| key.ends_with(".hpc"))
        .cloned()
        .collect();
    let visitor_key: Arc<str> = visitor_key.into();
    let found: Vec<(String, Result<Vec<String>, FormatError>)> = stream::iter(keys)
        .map(|key| {
            let visitor_key = visitor_key.clone();
            async move {
                let bytes = store.get(&key).await?;
                let ids = on_blocking(move || {
                    decode_chunk(&bytes).map(|streams| {
                        streams
                            .into_iter()
                            .filter(|s| s.page.visitor_key.as_deref() == Some(&*visitor_key))
                            .map(|s| s.session_id)
                            .collect()
                    })
                })
                .await?;
                Ok::<_, EraseError>((key, ids))
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut sessions = BTreeSet::new();
    let mut unreadable = Vec::new();
    for (key, ids) in found {
        match ids {
            Ok(ids) => sessions.extend(ids),
            Err(err) => {
                tracing::warn!(chunk = %key, error = %err, "cannot read chunk to find a visitor");
                unreadable.push(key);
            }
        }
    }
    Ok((sessions, unreadable))
}

/// Removes `sessions` from every object of `days` (writing nothing when `dry_run`).
pub async fn erase_raw(
    store: &dyn ObjectStore,
    days: &RawDays,
    sessions: &Arc<BTreeSet<String>>,
    dry_run: bool,
    concurrency: usize,
) -> Result<RawErasure, EraseError> {
    let keys: Vec<String> = days.values().flatten().cloned().collect();
    let outcomes: Vec<(String, Result<Rewrite, FormatError>)> = stream::iter(keys)
        .map(|key| async move {
            let bytes = store.get(&key).await?;
            let sessions = sessions.clone();
            let is_lane = key.ends_with(".hpr");
            let rewrite = on_blocking(move || {
                if is_lane {
                    rewrite_lane(&bytes, &sessions)
                } else {
                    rewrite_chunk(&bytes, &sessions)
                }
            })
            .await?;
            if let Ok(done) = &rewrite
                && !dry_run
            {
                apply(store, &key, done).await?;
            }
            Ok::<_, EraseError>((key, rewrite))
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut erasure = RawErasure::default();
    for (key, outcome) in outcomes {
        let is_lane = key.ends_with(".hpr");
        let removed = match outcome {
            Ok(Rewrite::Untouched) => continue,
            Ok(Rewrite::Rewritten { removed, .. }) => {
                erasure.rewritten.push(key);
                removed
            }
            Ok(Rewrite::Deleted { removed }) => {
                erasure.deleted.push(key);
                removed
            }
            Err(err) => {
                tracing::warn!(object = %key, error = %err, "cannot read raw object to erase from it; left as it is");
                erasure.unreadable.push(key);
                continue;
            }
        };
        if is_lane {
            erasure.num_rrweb_batches += removed;
        } else {
            erasure.num_streams += removed;
        }
    }
    Ok(erasure)
}

async fn apply(store: &dyn ObjectStore, key: &str, rewrite: &Rewrite) -> Result<(), EraseError> {
    match rewrite {
        Rewrite::Untouched => Ok(()),
        Rewrite::Rewritten { bytes, .. } => Ok(store.put(key, Bytes::from(bytes.clone())).await?),
        Rewrite::Deleted { .. } => Ok(store.delete(key).await?),
    }
}

/// Returns `bytes`, a chunk, without the streams of `sessions`. Reads only the header when it
/// names none of them.
pub fn rewrite_chunk(bytes: &[u8], sessions: &BTreeSet<String>) -> Result<Rewrite, FormatError> {
    let index = decode_header(bytes)?;
    let named = index
        .header
        .blocks
        .iter()
        .flat_map(|block| &block.sessions)
        .any(|entry| sessions.contains(&entry.session_id));
    if !named {
        return Ok(Rewrite::Untouched);
    }
    let streams = decode_chunk(bytes)?;
    let before = streams.len();
    let kept: Vec<_> = streams
        .into_iter()
        .filter(|stream| !sessions.contains(&stream.session_id))
        .collect();
    let removed = (before - kept.len()) as u64;
    if kept.is_empty() {
        return Ok(Rewrite::Deleted { removed });
    }
    Ok(Rewrite::Rewritten {
        removed,
        bytes: encode_chunk(&kept, DEFAULT_ZSTD_LEVEL)?,
    })
}

/// Returns `bytes`, an rrweb batch object, without the batches of `sessions`.
pub fn rewrite_lane(bytes: &[u8], sessions: &BTreeSet<String>) -> Result<Rewrite, FormatError> {
    let batches = decode_lane(bytes)?;
    let before = batches.len();
    let kept: Vec<_> = batches
        .into_iter()
        .filter(|batch| !sessions.contains(&batch.session_id))
        .collect();
    let removed = (before - kept.len()) as u64;
    if removed == 0 {
        Ok(Rewrite::Untouched)
    } else if kept.is_empty() {
        Ok(Rewrite::Deleted { removed })
    } else {
        Ok(Rewrite::Rewritten {
            removed,
            bytes: encode_lane(&kept)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_fixtures::SessionBuilder;

    #[test]
    fn a_chunk_loses_only_the_erased_session_and_equals_one_written_without_it() {
        let mut streams = SessionBuilder::new("keep", "https://shop.example/", 1_000)
            .click(10, 5, 5, "#a")
            .build();
        let gone = SessionBuilder::new("gone", "https://shop.example/", 2_000)
            .click(10, 6, 6, "#b")
            .click(20, 7, 7, "#b")
            .build();
        let without = encode_chunk(&streams, DEFAULT_ZSTD_LEVEL).expect("encode");
        streams.extend(gone);
        let with = encode_chunk(&streams, DEFAULT_ZSTD_LEVEL).expect("encode");
        let erase: BTreeSet<String> = ["gone".to_owned()].into();
        match rewrite_chunk(&with, &erase).expect("rewrite") {
            Rewrite::Rewritten { removed, bytes } => {
                assert_eq!(removed, 1);
                assert_eq!(bytes, without, "the chunk a collector would have written");
            }
            other => panic!("expected a rewrite, got {other:?}"),
        }
        assert_eq!(
            rewrite_chunk(&without, &erase).expect("rewrite"),
            Rewrite::Untouched
        );
        let all: BTreeSet<String> = ["gone".to_owned(), "keep".to_owned()].into();
        assert_eq!(
            rewrite_chunk(&with, &all).expect("rewrite"),
            Rewrite::Deleted { removed: 2 }
        );
    }
}
