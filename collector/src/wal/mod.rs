//! The write-ahead log: a batch is acknowledged only once it is appended to the current segment
//! file and fsynced. One writer thread owns the segment; requests queue their records and the
//! writer appends everything queued, syncs once, and acknowledges them all (group commit), so
//! concurrent requests share one fsync. A segment is sealed by size, by age, or on shutdown, and
//! handed to the uploader, which deletes it only once its chunks are stored.
//!
//! ```text
//! {dir}/LOCK                                  flock of the process that owns the log (its pid inside)
//! {dir}/STORE                                 the identity of the store the segments go to
//! {dir}/{collector_id}/{segment:016}.log      records: len u32 LE | crc32 u32 LE | bincode (site, batch)
//! ```
//! A crash can leave a torn record at the end of the last segment: it was never acknowledged,
//! and reading stops there. A failed write or fsync refuses its batch and cuts the segment back
//! to its last acknowledged record (see `writer`), so nothing is ever appended after a torn one.
//!
//! # Layout
//! - `mod.rs` (here) — what the log speaks of: [`WalRecord`], [`SealedSegment`],
//!   [`WalSettings`], [`WalError`].
//! - `segment` — segment file names and the record framing: [`encode_record`],
//!   [`read_segment`].
//! - `ownership` — the folder's lock and store record ([`WalOpenError`]).
//! - `recovery` — the segments an earlier run left ([`existing_segments`]) and where numbering
//!   goes on.
//! - `writer` — the writer thread: group commit, sealing by size and age.
//! - `handle` — [`Wal`], the handle requests append through.

mod handle;
mod ownership;
mod recovery;
mod segment;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

use heatpipe_core::event::Stream;
use heatpipe_core::replay::ReplayBatch;
use heatpipe_core::rrweb::RrwebBatch;

pub use handle::{OpenedWal, Wal};
pub use ownership::{LogLock, WalOpenError};
pub use recovery::existing_segments;
pub use segment::{encode_record, read_segment};

/// Why a batch could not be made durable. Every kind leaves the log as it was before the batch:
/// nothing of a refused batch is acknowledged, nothing acknowledged is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    #[error(
        "the collector's log holds {pending_bytes} bytes not yet stored (limit {limit_bytes}); retry later"
    )]
    Full {
        pending_bytes: u64,
        limit_bytes: u64,
    },
    #[error("the collector's log disk is full ({0}); retry later")]
    NoSpace(String),
    #[error("the collector's log could not be written ({0}); retry later")]
    Io(String),
    #[error("a record could not be encoded for the log: {0}")]
    Encode(String),
    #[error("the write-ahead log is closed")]
    Closed,
}

impl WalError {
    /// Classifies a failed write, sync or file creation of the log.
    pub(crate) fn from_io(err: &std::io::Error) -> WalError {
        match err.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                WalError::NoSpace(err.to_string())
            }
            _ => WalError::Io(err.to_string()),
        }
    }
}

/// One logged batch of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    pub site: String,
    pub batch: LoggedBatch,
}

/// What a logged batch holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedBatch {
    /// A native batch: one page view's events, already in page coordinates.
    Stream(Stream),
    /// An rrweb batch as recorded, in viewport terms; the processor converts a session's
    /// batches together.
    Rrweb(RrwebBatch),
    /// A batch of a DOM recording, masked, for the replay lane.
    Replay(ReplayBatch),
}

impl WalRecord {
    pub fn stream(site: impl Into<String>, stream: Stream) -> WalRecord {
        WalRecord {
            site: site.into(),
            batch: LoggedBatch::Stream(stream),
        }
    }

    pub fn rrweb(site: impl Into<String>, batch: RrwebBatch) -> WalRecord {
        WalRecord {
            site: site.into(),
            batch: LoggedBatch::Rrweb(batch),
        }
    }

    /// Returns the session the batch belongs to.
    pub fn session_id(&self) -> &str {
        match &self.batch {
            LoggedBatch::Stream(stream) => &stream.session_id,
            LoggedBatch::Rrweb(batch) => &batch.session_id,
            LoggedBatch::Replay(batch) => &batch.session_id,
        }
    }
}

/// A sealed segment waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSegment {
    pub collector_id: String,
    pub segment: u64,
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// How the log behaves.
#[derive(Debug, Clone)]
pub struct WalSettings {
    pub dir: PathBuf,
    /// The store the log's segments go to ([`ObjectStore::identity`]); a log holding segments
    /// of another store is refused.
    ///
    /// [`ObjectStore::identity`]: heatpipe_io::store::ObjectStore::identity
    pub store_identity: String,
    pub collector_id: String,
    pub segment_max_bytes: u64,
    pub segment_max_age: Duration,
    /// Appends are refused while this many bytes are logged but not yet stored.
    pub max_pending_bytes: u64,
}

/// Settings and records the log's tests share.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;
    use std::time::Duration;

    use heatpipe_fixtures::SessionBuilder;

    use crate::wal::{WalRecord, WalSettings};

    pub fn settings(dir: &Path) -> WalSettings {
        WalSettings {
            dir: dir.to_path_buf(),
            store_identity: "memory:test".into(),
            collector_id: "c1".into(),
            segment_max_bytes: 1 << 20,
            segment_max_age: Duration::from_secs(3600),
            max_pending_bytes: 1 << 30,
        }
    }

    pub fn record(session: &str) -> WalRecord {
        let stream = SessionBuilder::new(session, "https://a.example/", 1_800_000_000_000)
            .click(5, 1, 2, "#x")
            .build()
            .remove(0);
        WalRecord::stream("shop", stream)
    }
}
