//! The crate's error: why processing a day (or merging shards) failed as a whole. A store that
//! fails (after the retries of the store it is given) fails the run, whatever it was reading;
//! only data that is really corrupt, one bad chunk or block, is skipped and reported in the run's
//! summary instead.

use heatpipe_core::error::FormatError;
use heatpipe_io::TaskFailed;
use heatpipe_io::store::{StoreError, StoreErrorKind};

/// Why processing a day failed as a whole (a corrupt chunk only skips that chunk).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Listing the day, or writing its outputs, failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A chunk the day's listing named could not be read: it is gone (`NotFound`), or the store
    /// still failed after its retries. The day's outputs are not written, so that no day is
    /// stored without it.
    #[error("chunk {key} could not be read ({kind:?}), so the day was not written: {source}", kind = .source.kind)]
    Chunk { key: String, source: StoreError },
    #[error("cannot encode output: {0}")]
    Format(#[from] FormatError),
    #[error("shard partial {key} is unreadable: {source}")]
    Partial { key: String, source: FormatError },
    #[error("cannot spill finished sessions: {0}")]
    Spill(String),
    #[error(transparent)]
    Task(#[from] TaskFailed),
}

impl ProcessError {
    /// A chunk `key` the store failed to read.
    pub(crate) fn chunk(key: &str, source: StoreError) -> Self {
        ProcessError::Chunk {
            key: key.to_owned(),
            source,
        }
    }

    /// Returns the kind of the store's failure, when the store is why the run failed.
    pub fn store_kind(&self) -> Option<StoreErrorKind> {
        match self {
            ProcessError::Store(source) | ProcessError::Chunk { source, .. } => Some(source.kind),
            ProcessError::Format(_)
            | ProcessError::Partial { .. }
            | ProcessError::Spill(_)
            | ProcessError::Task(_) => None,
        }
    }
}
