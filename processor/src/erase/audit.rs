//! The erasure audit: one JSON record per erasure under
//! `audit/{site}/{YYYY-MM-DD}/{unix_ms}-{kind}-{hash prefix}.json`, saying when it ran, what kind
//! of subject it erased and how much — the subject itself only as HMAC-SHA256 under the key at
//! `auth/audit-key`, so that a later request for the same subject can be matched to it by whoever
//! holds the store, and no one reads an identifier from it.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use heatpipe_io::secret::{AUDIT_KEY, load_or_create_secret};
use heatpipe_io::store::ObjectStore;
use serde::Serialize;

use super::{EraseError, ErasureReport};

/// One audit record, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord<'a> {
    /// When the erasure ran (RFC 3339, UTC).
    pub at: String,
    pub site: &'a str,
    /// `session` or `visitor`.
    pub kind: &'a str,
    /// HMAC-SHA256 of the session id or visitor key, in hex.
    pub subject_hmac: String,
    pub num_sessions: u64,
    pub num_streams: u64,
    pub num_rrweb_batches: u64,
    /// DOM recording blocks removed from the replay lane.
    pub num_replay_blocks: u64,
    pub num_chunks: u64,
    /// Every date whose data changed.
    pub days: Vec<String>,
}

/// Hashes `subject` with the audit key (created on first use).
pub async fn subject_hmac(store: &dyn ObjectStore, subject: &str) -> Result<String, EraseError> {
    Ok(load_or_create_secret(store, AUDIT_KEY)
        .await?
        .keyed_hash(subject.as_bytes()))
}

/// Stores the record of `report`, made at `now`; returns its key.
pub async fn write_record(
    store: &dyn ObjectStore,
    report: &ErasureReport,
    now: DateTime<Utc>,
) -> Result<String, EraseError> {
    let record = AuditRecord {
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        site: &report.site,
        kind: report.kind,
        subject_hmac: report.subject_hmac.clone(),
        num_sessions: report.num_sessions,
        num_streams: report.raw.num_streams,
        num_rrweb_batches: report.raw.num_rrweb_batches,
        num_replay_blocks: report.replay.num_blocks,
        num_chunks: (report.raw.rewritten.len() + report.raw.deleted.len()) as u64,
        days: report.days.iter().map(|day| day.date.to_string()).collect(),
    };
    let key = format!(
        "audit/{}/{}/{:013}-{}-{}.json",
        report.site,
        now.date_naive(),
        now.timestamp_millis(),
        report.kind,
        &report.subject_hmac[..16]
    );
    let json =
        serde_json::to_vec_pretty(&record).map_err(|err| EraseError::Audit(err.to_string()))?;
    store.put(&key, Bytes::from(json)).await?;
    Ok(key)
}
