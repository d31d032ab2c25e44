//! Retention: deletes every day of every site that is past its lane's limit, by date prefix.
//!
//! | lane | keys | limit |
//! |---|---|---|
//! | raw | `raw/{site}/{date}/…` | `raw_days` |
//! | replay | `replay/{site}/{date}/…` | `raw_days` |
//! | partial | `partial/{site}/{date}/…` | `raw_days` (shard partials hold sessions, and are only needed until `merge`) |
//! | sessions | `sessions/{site}/{date}/…` | `sessions_days` |
//! | agg | `agg/{site}/{date}/…` | `aggregates_days` |
//!
//! A day is past its limit when `date < today - N days` (UTC): with `raw_days = 30` on
//! 2026-12-04, 2026-11-03 is deleted and 2026-11-04 is kept. A day younger than its limit is
//! never listed for deletion, and a key whose second segment is not a site or whose third is not
//! a date is left alone. Deleting is idempotent: a second run finds nothing to delete.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use heatpipe_core::keys::{parse_date, validate_site};
use heatpipe_io::store::{ObjectStore, StoreError};

/// Objects deleted at once.
const DELETE_CONCURRENCY: usize = 16;

/// The `[retention]` part of the configuration: how many days each lane keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days of raw chunks (`raw/`), DOM recordings (`replay/`) and shard partials (`partial/`).
    pub raw_days: u32,
    /// Days of session indexes (`sessions/`): the session lists and replays.
    pub sessions_days: u32,
    /// Days of page aggregates and page indexes (`agg/`): heatmaps and dashboards.
    pub aggregates_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            raw_days: 30,
            sessions_days: 90,
            aggregates_days: 395,
        }
    }
}

/// A top-level folder of the store whose days retention ages out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    Raw,
    Replay,
    Partial,
    Sessions,
    Agg,
}

impl Lane {
    /// Every lane, in the order retention walks them.
    pub const ALL: [Lane; 5] = [
        Lane::Raw,
        Lane::Replay,
        Lane::Partial,
        Lane::Sessions,
        Lane::Agg,
    ];

    /// Returns the lane's folder name, as in its keys (`raw`, `replay`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Raw => "raw",
            Lane::Replay => "replay",
            Lane::Partial => "partial",
            Lane::Sessions => "sessions",
            Lane::Agg => "agg",
        }
    }

    /// Returns how many days `config` keeps this lane.
    pub fn keep_days(self, config: &RetentionConfig) -> u32 {
        match self {
            Lane::Raw | Lane::Replay | Lane::Partial => config.raw_days,
            Lane::Sessions => config.sessions_days,
            Lane::Agg => config.aggregates_days,
        }
    }
}

/// Why a retention run failed: the store could not list or delete.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("listing {prefix}: {source}")]
    List { prefix: String, source: StoreError },
    #[error("deleting {key}: {source}")]
    Delete { key: String, source: StoreError },
}

/// One lane's day of one site that was past its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredDay {
    pub lane: Lane,
    pub site: String,
    pub date: NaiveDate,
    /// Objects deleted (or, in a dry run, that would be).
    pub num_objects: u64,
}

/// What a retention run deleted, or would delete in a dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Sorted by lane, site and date.
    pub days: Vec<ExpiredDay>,
    pub dry_run: bool,
}

impl RetentionReport {
    /// Returns the number of objects deleted over every lane and day.
    pub fn num_objects(&self) -> u64 {
        self.days.iter().map(|day| day.num_objects).sum()
    }
}

/// Returns the newest date `keep_days` lets go on `today`: every date before
/// `today - keep_days` is past the limit.
pub fn first_kept_date(today: NaiveDate, keep_days: u32) -> NaiveDate {
    today
        .checked_sub_days(chrono::Days::new(u64::from(keep_days)))
        .unwrap_or(NaiveDate::MIN)
}

/// Deletes (unless `dry_run`) every object of every lane whose day is past its limit on `today`
/// (UTC), and reports them per lane, site and day.
pub async fn apply_retention(
    store: &dyn ObjectStore,
    config: &RetentionConfig,
    today: NaiveDate,
    dry_run: bool,
) -> Result<RetentionReport, RetentionError> {
    let mut report = RetentionReport {
        days: Vec::new(),
        dry_run,
    };
    for lane in Lane::ALL {
        let expired =
            expired_keys(store, lane, first_kept_date(today, lane.keep_days(config))).await?;
        for ((site, date), keys) in expired {
            if !dry_run {
                delete_all(store, &keys).await?;
            }
            report.days.push(ExpiredDay {
                lane,
                site,
                date,
                num_objects: keys.len() as u64,
            });
        }
    }
    Ok(report)
}

/// Lists `lane` and keeps the keys of days before `first_kept`, by site and date.
async fn expired_keys(
    store: &dyn ObjectStore,
    lane: Lane,
    first_kept: NaiveDate,
) -> Result<BTreeMap<(String, NaiveDate), Vec<String>>, RetentionError> {
    let prefix = format!("{}/", lane.as_str());
    let objects = store
        .list(&prefix)
        .await
        .map_err(|source| RetentionError::List {
            prefix: prefix.clone(),
            source,
        })?;
    let mut expired: BTreeMap<(String, NaiveDate), Vec<String>> = BTreeMap::new();
    for object in objects {
        let Some((site, date)) = site_and_date(&object.key) else {
            continue;
        };
        if date < first_kept {
            expired
                .entry((site.to_owned(), date))
                .or_default()
                .push(object.key);
        }
    }
    Ok(expired)
}

/// Returns the site and date of `{lane}/{site}/{YYYY-MM-DD}/…`, or None for any other key.
fn site_and_date(key: &str) -> Option<(&str, NaiveDate)> {
    let mut segments = key.splitn(4, '/');
    let _lane = segments.next()?;
    let site = segments.next()?;
    let date = segments.next()?;
    segments.next()?;
    validate_site(site).ok()?;
    Some((site, parse_date(date).ok()?))
}

async fn delete_all(store: &dyn ObjectStore, keys: &[String]) -> Result<(), RetentionError> {
    stream::iter(keys.iter().cloned())
        .map(|key| async move {
            store
                .delete(&key)
                .await
                .map_err(|source| RetentionError::Delete { key, source })
        })
        .buffer_unordered(DELETE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_past_its_limit_only_before_today_minus_the_limit() {
        let today = parse_date("2026-12-04").expect("date");
        let first_kept = first_kept_date(today, 30);
        assert_eq!(first_kept, parse_date("2026-11-04").expect("date"));
        assert_eq!(first_kept_date(today, 0), today);
    }

    #[test]
    fn only_lane_site_date_keys_are_considered() {
        let date = parse_date("2026-11-21").expect("date");
        assert_eq!(
            site_and_date("raw/shop/2026-11-21/05/c1-0.hpc"),
            Some(("shop", date))
        );
        for other in [
            "raw/shop/2026-11-21",
            "raw/Shop/2026-11-21/x",
            "raw/shop/latest/x",
            "agg/shop/2026-11-2/pages.hpa",
        ] {
            assert_eq!(site_and_date(other), None, "{other}");
        }
    }
}
