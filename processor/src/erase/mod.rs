//! Erasure (`heatpipe forget`, `DELETE /api/sites/{site}/sessions/{id}`): removes a session, or
//! every session of an identified visitor, from every lane of a site.
//!
//! 1. The sessions: the one named, or those whose chunk streams or session summaries carry the
//!    visitor's key, on any day.
//! 2. [`tombstones`]: one per erased session (and visitor) under `audit/{site}/erased/`, so that
//!    collectors leave out what their logs still hold of them when they upload it.
//! 3. [`raw`]: every chunk and rrweb batch object of the site that holds them is rewritten without
//!    them under the same key, or deleted when nothing else is left in it.
//! 4. [`replay`]: every DOM recording object holding them is rewritten without their blocks (or
//!    deleted), and each changed day's replay index written again.
//! 5. [`days`]: every day whose raw objects changed or whose session index lists them is
//!    processed again (session index, page aggregates, page index), its orphaned page aggregates
//!    and its shard partials deleted. Timelines and replays are read from the index and the
//!    chunks, so they are gone with them.
//! 6. [`audit`]: a record under `audit/{site}/…` with the subject only as a keyed hash.
//!
//! Erasure is idempotent: a second run finds nothing, changes nothing, and says so (its audit
//! record counts zero). A dry run reports the same and writes nothing, not even the audit record.

pub mod audit;
pub mod days;
pub mod raw;
pub mod replay;
pub mod tombstones;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::{ObjectStore, StoreError};
use serde::Serialize;

use crate::{ProcessError, ProcessorConfig};
pub use days::DayErasure;
pub use raw::RawErasure;
pub use replay::ReplayErasure;

/// Who is erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One session, by its id.
    Session(String),
    /// Every session of an identified visitor, by its visitor key (the keyed hash of the id the
    /// site passed to `identify`, as the collector stores it).
    Visitor(String),
}

impl Subject {
    /// Returns `session` or `visitor`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Session(_) => "session",
            Subject::Visitor(_) => "visitor",
        }
    }

    fn value(&self) -> &str {
        match self {
            Subject::Session(value) | Subject::Visitor(value) => value,
        }
    }
}

/// Returns the subject of a visitor the site identified as `id`: its visitor key under the
/// site's secret (`auth/visitor-keys/{site}`), as the collector stores it; None when the site has
/// no secret yet, so that no visitor of it was ever identified.
pub async fn visitor_subject(
    store: &dyn ObjectStore,
    site: &str,
    id: &str,
) -> Result<Option<Subject>, EraseError> {
    let key = heatpipe_io::secret::visitor_secret_key(site);
    Ok(heatpipe_io::secret::load_secret(store, &key)
        .await?
        .map(|secret| Subject::Visitor(heatpipe_io::secret::visitor_key(&secret, id))))
}

/// Why an erasure failed. What it already rewrote stays rewritten; running it again finishes it.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{key} is unreadable: {source}")]
    Format { key: String, source: FormatError },
    #[error("cannot encode: {0}")]
    Encode(#[from] FormatError),
    #[error("reprocessing: {0}")]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("cannot write the audit record: {0}")]
    Audit(String),
}

/// What an erasure removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    pub site: String,
    /// `session` or `visitor`.
    pub kind: &'static str,
    /// The subject as the audit record names it: HMAC-SHA256 under `auth/audit-key`.
    pub subject_hmac: String,
    pub dry_run: bool,
    /// Sessions found (one for a session that exists, zero once it is erased).
    pub num_sessions: u64,
    pub raw: RawErasure,
    pub replay: ReplayErasure,
    /// Every day whose data changed, in date order.
    pub days: Vec<DayErasure>,
    /// The audit record written (none in a dry run).
    pub audit_key: Option<String>,
}

impl ErasureReport {
    /// Returns whether anything was (or would be) removed.
    pub fn removed_anything(&self) -> bool {
        self.num_sessions > 0
            || !self.raw.rewritten.is_empty()
            || !self.raw.deleted.is_empty()
            || self.replay.changed_anything()
            || self.days.iter().any(|day| day.num_indexed_sessions > 0)
    }
}

/// Erases `subject` from every lane of `site` (see the module docs), processing affected days
/// again with `config`; `now` dates the audit record.
pub async fn forget(
    store: Arc<dyn ObjectStore>,
    config: &ProcessorConfig,
    site: &str,
    subject: &Subject,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<ErasureReport, EraseError> {
    let concurrency = config.fetch_concurrency.max(1);
    let raw_days = raw::list_raw_days(store.as_ref(), site).await?;
    let indexed = days::indexed_dates(store.as_ref(), site).await?;
    let (sessions, mut unreadable) = find_sessions(
        store.as_ref(),
        site,
        subject,
        &raw_days,
        &indexed,
        concurrency,
    )
    .await?;
    if !dry_run {
        tombstones::write_tombstones(store.as_ref(), site, subject, &sessions).await?;
    }
    let sessions = Arc::new(sessions);
    let mut raw =
        raw::erase_raw(store.as_ref(), &raw_days, &sessions, dry_run, concurrency).await?;
    raw.unreadable.append(&mut unreadable);
    raw.unreadable.sort();
    raw.unreadable.dedup();
    let replay =
        replay::erase_replay(store.as_ref(), site, &sessions, dry_run, concurrency).await?;

    let (affected, in_index) =
        affected_days(store.as_ref(), site, &raw, &indexed, &sessions).await?;
    let mut report_days = Vec::new();
    for date in affected {
        let day = DayErasure {
            date,
            num_indexed_sessions: in_index.get(&date).copied().unwrap_or(0),
            reprocessed: false,
            num_pages_deleted: 0,
            num_partials_deleted: 0,
        };
        // A day never processed is left to its first run, which reads the rewritten chunks.
        if dry_run || !indexed.contains(&date) {
            report_days.push(day);
            continue;
        }
        let has_raw = raw_days.contains_key(&date);
        let settled = days::settle_day(&store, config, site, date, has_raw, &sessions, day).await?;
        report_days.push(settled);
    }

    let num_sessions = found_sessions(subject, &sessions, &raw, &in_index);
    let mut report = ErasureReport {
        site: site.to_owned(),
        kind: subject.kind(),
        subject_hmac: audit::subject_hmac(store.as_ref(), subject.value()).await?,
        dry_run,
        num_sessions,
        raw,
        replay,
        days: report_days,
        audit_key: None,
    };
    if !dry_run {
        report.audit_key = Some(audit::write_record(store.as_ref(), &report, now).await?);
    }
    Ok(report)
}

/// Returns the days to settle (raw objects changed, or the index lists one of `sessions`), and
/// how many of `sessions` each day's index lists.
async fn affected_days(
    store: &dyn ObjectStore,
    site: &str,
    raw: &RawErasure,
    indexed: &BTreeSet<NaiveDate>,
    sessions: &BTreeSet<String>,
) -> Result<(BTreeSet<NaiveDate>, BTreeMap<NaiveDate, u64>), EraseError> {
    let mut affected = raw.changed_dates();
    for date in raw.changed_midnight_lanes() {
        if let Some(before) = date.pred_opt()
            && indexed.contains(&before)
        {
            affected.insert(before);
        }
    }
    let mut in_index = BTreeMap::new();
    for date in indexed {
        if let Some(index) = days::read_index(store, site, *date).await? {
            let count = days::count_indexed(&index, sessions);
            if count > 0 {
                in_index.insert(*date, count);
                affected.insert(*date);
            }
        }
    }
    Ok((affected, in_index))
}

/// Returns how many sessions were found: a visitor's all, a named session one if any raw
/// object or index held it.
fn found_sessions(
    subject: &Subject,
    sessions: &BTreeSet<String>,
    raw: &RawErasure,
    in_index: &BTreeMap<NaiveDate, u64>,
) -> u64 {
    match subject {
        Subject::Visitor(_) => sessions.len() as u64,
        Subject::Session(_) => {
            let held = raw.num_streams + raw.num_rrweb_batches > 0 || !in_index.is_empty();
            u64::from(held)
        }
    }
}

/// Returns the sessions `subject` names: the one session, or every session carrying the
/// visitor's key in a chunk stream or a session summary; and the chunks that could not be read
/// to find them.
async fn find_sessions(
    store: &dyn ObjectStore,
    site: &str,
    subject: &Subject,
    raw_days: &raw::RawDays,
    indexed: &BTreeSet<NaiveDate>,
    concurrency: usize,
) -> Result<(BTreeSet<String>, Vec<String>), EraseError> {
    match subject {
        Subject::Session(id) => Ok(([id.clone()].into(), Vec::new())),
        Subject::Visitor(key) => {
            let (mut sessions, unreadable) =
                raw::sessions_of_visitor(store, raw_days, key, concurrency).await?;
            for date in indexed {
                if let Some(index) = days::read_index(store, site, *date).await? {
                    sessions.extend(
                        index
                            .sessions
                            .into_iter()
                            .filter(|s| s.visitor_key.as_deref() == Some(key.as_str()))
                            .map(|s| s.id),
                    );
                }
            }
            Ok((sessions, unreadable))
        }
    }
}
