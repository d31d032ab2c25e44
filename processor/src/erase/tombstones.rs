//! Tombstones: what an erasure leaves for the collectors. A batch of an erased session may still
//! sit in a collector's write-ahead log when `forget` runs; the collector's uploader lists
//! `audit/{site}/erased/` before it stores a segment and leaves out every batch of an erased
//! session or visitor (see `heatpipe_core::keys::erasure_tombstone_key`). They are written before
//! the raw lanes are rewritten, so an upload that starts afterwards sees them.

use std::collections::BTreeSet;

use bytes::Bytes;
use heatpipe_core::keys::erasure_tombstone_key;
use heatpipe_io::store::ObjectStore;

use super::{EraseError, Subject, audit};

/// Writes the tombstones of `subject` and of every session found for it; returns how many.
pub async fn write_tombstones(
    store: &dyn ObjectStore,
    site: &str,
    subject: &Subject,
    sessions: &BTreeSet<String>,
) -> Result<usize, EraseError> {
    let mut keys = BTreeSet::new();
    if let Subject::Session(id) = subject {
        keys.insert(erasure_tombstone_key(
            site,
            "session",
            &audit::subject_hmac(store, id).await?,
        ));
    }
    if let Subject::Visitor(visitor_key) = subject {
        keys.insert(erasure_tombstone_key(
            site,
            "visitor",
            &audit::subject_hmac(store, visitor_key).await?,
        ));
    }
    for session in sessions {
        keys.insert(erasure_tombstone_key(
            site,
            "session",
            &audit::subject_hmac(store, session).await?,
        ));
    }
    for key in &keys {
        store.put(key, Bytes::new()).await?;
    }
    Ok(keys.len())
}
