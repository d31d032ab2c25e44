//! The crate's error: why processing a day (or merging shards) failed as a whole. What is only
//! one bad chunk or block is skipped and reported in the run's summary instead.

use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::StoreError;

/// Why processing a day failed as a whole (a bad chunk only skips that chunk).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode output: {0}")]
    Format(#[from] FormatError),
    #[error("shard partial {key} is unreadable: {source}")]
    Partial { key: String, source: FormatError },
    #[error("cannot spill finished sessions: {0}")]
    Spill(String),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}
