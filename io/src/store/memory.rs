//! An in-memory store for unit tests of the code above the store.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::{ObjectMeta, ObjectStore, StoreError, StoreErrorKind, StoreResult, validate_key};

/// Numbers the memory stores of a process, each its own [`ObjectStore::identity`].
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Objects in a sorted map behind a mutex.
#[derive(Debug)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Bytes>>,
    id: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            objects: Mutex::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Bytes>> {
        // A panic while holding the lock cannot leave the map half-written, so recover it.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        validate_key("put", key)?;
        self.objects().insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Bytes> {
        validate_key("get", key)?;
        self.objects()
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::new(StoreErrorKind::NotFound, "get", key, "no such object"))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Bytes> {
        let bytes = self.get(key).await?;
        let len = bytes.len() as u64;
        let (start, end) = (
            range.start.min(len),
            range.end.min(len).max(range.start.min(len)),
        );
        Ok(bytes.slice(start as usize..end as usize))
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        Ok(self
            .objects()
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, bytes)| ObjectMeta {
                key: key.clone(),
                size_bytes: bytes.len() as u64,
            })
            .collect())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        validate_key("delete", key)?;
        self.objects().remove(key);
        Ok(())
    }

    fn identity(&self) -> String {
        format!("memory:{}", self.id)
    }
}
