//! The write-ahead log: a batch is acknowledged only once it is appended to the current segment
//! file and fsynced. One writer thread owns the segment; requests queue their records and the
//! writer appends everything queued, syncs once, and acknowledges them all (group commit), so
//! concurrent requests share one fsync. A segment is sealed by size, by age, or on shutdown, and
//! handed to the uploader, which deletes it only once its chunks are stored.
//!
//! ```text
//! {dir}/{collector_id}/{segment:016}.log      records: len u32 LE | crc32 u32 LE | bincode (site, stream)
//! ```
//! A crash can leave a torn record at the end of the last segment: it was never acknowledged,
//! and reading stops there.
//!
//! # Layout
//! - `mod.rs` (here) — what the log speaks of: [`WalRecord`], [`SealedSegment`],
//!   [`WalSettings`], [`WalError`].
//! - `segment` — segment file names and the record framing: [`encode_record`],
//!   [`read_segment`].
//! - `recovery` — the segments an earlier run left ([`existing_segments`]) and where numbering
//!   goes on.
//! - `writer` — the writer thread: group commit, sealing by size and age.
//! - `handle` — [`Wal`], the handle requests append through.

mod handle;
mod recovery;
mod segment;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

use heatpipe_core::event::Stream;
use serde::{Deserialize, Serialize};

pub use handle::Wal;
pub use recovery::existing_segments;
pub use segment::{encode_record, read_segment};

/// Why a batch could not be made durable.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error(
        "the collector's log holds {pending_bytes} bytes not yet stored (limit {limit_bytes}); retry later"
    )]
    Full {
        pending_bytes: u64,
        limit_bytes: u64,
    },
    #[error("write-ahead log: {0}")]
    Io(String),
    #[error("the write-ahead log is closed")]
    Closed,
}

/// One logged batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalRecord {
    pub site: String,
    pub stream: Stream,
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
        WalRecord {
            site: "shop".into(),
            stream,
        }
    }
}
