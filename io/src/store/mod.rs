//! Where heatpipe keeps chunks, aggregates and session indexes: one trait, three backends.
//!
//! # Layout
//! - [`local`] — a folder on disk (the default); atomic writes.
//! - [`memory`] — a map in memory, for unit tests of code above the store.
//! - [`s3`]: any S3-compatible server through aws-sdk-s3, path-style addressing.
//! - [`retry`] — [`RetryStore`], around any of them: passing failures retried, with backoff,
//!   jitter and a per-attempt timeout; what [`open_store`] returns.
//! - `conformance` (feature `conformance`): the one suite every backend must pass.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod local;
pub mod memory;
pub mod retry;
pub mod s3;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

pub use local::LocalStore;
pub use memory::MemoryStore;
pub use retry::{RetrySettings, RetryStore};
pub use s3::{S3Settings, S3Store};

/// What went wrong in a store, independent of the backend. Each backend maps its own errors
/// onto these; [`StoreErrorKind::is_transient`] says which are worth trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// No object at that key.
    NotFound,
    /// The key is not one heatpipe would write (`..`, absolute, empty segment).
    InvalidKey,
    /// The store refused our credentials or our access.
    Unauthorized,
    /// The store did not answer in time.
    Timeout,
    /// The store could not be reached (connection refused, reset, cut short), or said it cannot
    /// answer now (HTTP 500, 502, 503, 504, 429, S3's `SlowDown`).
    Unavailable,
    /// Anything else the backend reported (a disk error, a request the store refused as
    /// malformed): trying again would not help.
    Io,
}

impl StoreErrorKind {
    /// Returns whether the same operation may succeed if tried again soon: the store timed out
    /// or could not answer. A missing object, a refused key or credentials, and any other error
    /// stay what they are.
    pub fn is_transient(self) -> bool {
        match self {
            StoreErrorKind::Timeout | StoreErrorKind::Unavailable => true,
            StoreErrorKind::NotFound
            | StoreErrorKind::InvalidKey
            | StoreErrorKind::Unauthorized
            | StoreErrorKind::Io => false,
        }
    }
}

/// A failed store operation: its kind, the key, and the backend's words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store {operation} {key:?}: {kind:?}: {message}")]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub operation: &'static str,
    pub key: String,
    pub message: String,
}

impl StoreError {
    pub fn new(
        kind: StoreErrorKind,
        operation: &'static str,
        key: &str,
        message: impl fmt::Display,
    ) -> Self {
        StoreError {
            kind,
            operation,
            key: key.to_owned(),
            message: message.to_string(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == StoreErrorKind::NotFound
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One object found by [`ObjectStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size_bytes: u64,
}

/// Where heatpipe keeps chunks, aggregates and session indexes.
#[async_trait]
pub trait ObjectStore: fmt::Debug + Send + Sync + 'static {
    /// Writes `bytes` at `key`, replacing any object there. Atomic: readers see old or new, never half.
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()>;
    /// Reads the whole object at `key`; `NotFound` if there is none.
    async fn get(&self, key: &str) -> StoreResult<Bytes>;
    /// Reads `range` of the object at `key`, cut at the object's end (a range starting at or
    /// past the end reads nothing); `NotFound` if there is none.
    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes>;
    /// Lists the objects whose keys start with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>>;
    /// Deletes `key`. Deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Names the data this store reaches (`file:///abs/folder`, `s3://bucket/prefix`), so that
    /// what was meant for one store (a collector's log) is never written into another.
    fn identity(&self) -> String;
}

/// Checks that `key` is relative, has no empty, `.` or `..` segments and no odd characters.
pub fn validate_key(operation: &'static str, key: &str) -> StoreResult<()> {
    let valid = !key.is_empty()
        && key.len() <= 1024
        && !key.contains(['\\', '\0'])
        && key
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if valid {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::InvalidKey,
            operation,
            key,
            "keys are relative paths of non-empty segments without . or ..",
        ))
    }
}

/// Where a store lives, parsed from `--store`: a folder, or `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Local { root: std::path::PathBuf },
    S3 { bucket: String, prefix: String },
}

impl StoreLocation {
    /// Parses `./data`, `/var/heatpipe` or `s3://bucket/optional/prefix`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!(
                        "no bucket in {value:?}; expected s3://bucket/prefix"
                    ));
                }
                Ok(StoreLocation::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                })
            }
            None if value.is_empty() => Err("store location is empty".into()),
            None => Ok(StoreLocation::Local { root: value.into() }),
        }
    }
}

/// Opens the store at `location`, wrapped in a [`RetryStore`] with the default
/// [`RetrySettings`]: every command opens its stores here, so every store operation is retried
/// the same way. S3 settings come from the standard AWS sources.
pub async fn open_store(location: &StoreLocation) -> StoreResult<Arc<dyn ObjectStore>> {
    let backend: Arc<dyn ObjectStore> = match location {
        StoreLocation::Local { root } => Arc::new(LocalStore::open(root)?),
        StoreLocation::S3 { bucket, prefix } => Arc::new(S3Store::from_env(bucket, prefix).await),
    };
    Ok(Arc::new(RetryStore::new(backend, RetrySettings::default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for good in ["a", "raw/site/2026-11-21/00/c-1.hpc", "a.b/c"] {
            assert!(validate_key("put", good).is_ok(), "{good}");
        }
        for bad in ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a\\b"] {
            assert!(validate_key("put", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_timeouts_and_unavailable_stores_are_transient() {
        use StoreErrorKind::*;
        let transient: Vec<_> = [NotFound, InvalidKey, Unauthorized, Timeout, Unavailable, Io]
            .into_iter()
            .filter(|kind| kind.is_transient())
            .collect();
        assert_eq!(transient, [Timeout, Unavailable]);
    }

    #[tokio::test]
    async fn opened_stores_retry() {
        let folder = tempfile::tempdir().expect("tempdir");
        let location = StoreLocation::Local {
            root: folder.path().to_path_buf(),
        };
        let store = open_store(&location).await.expect("open");
        assert!(format!("{store:?}").starts_with("RetryStore"), "{store:?}");
    }

    #[test]
    fn locations_parse() {
        assert_eq!(
            StoreLocation::parse("s3://bucket/some/prefix/"),
            Ok(StoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            })
        );
        assert_eq!(
            StoreLocation::parse("s3://bucket"),
            Ok(StoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            })
        );
        assert!(StoreLocation::parse("s3:///x").is_err());
        assert_eq!(
            StoreLocation::parse("./data"),
            Ok(StoreLocation::Local {
                root: "./data".into()
            })
        );
    }
}
