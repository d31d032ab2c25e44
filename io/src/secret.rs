//! Secrets kept in the store under `auth/`, and the keyed hashes made with them: the key the
//! erasure audit hashes session ids with (`auth/audit-key`), and each site's visitor-key secret
//! (`auth/visitor-keys/{site}`), so that every replica reading the store hashes alike.
//!
//! A secret is 32 random bytes, created on first use. The store has no create-only write, so a
//! new secret is written and then read back, and what is stored is used: two replicas racing to
//! create one end up with the same.

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRngCore;
use sha2::Sha256;

use crate::store::{ObjectStore, StoreError, StoreErrorKind};

/// Bytes of a stored secret.
pub const SECRET_BYTES: usize = 32;
/// Where the erasure audit's key lives.
pub const AUDIT_KEY: &str = "auth/audit-key";

/// Returns where `site`'s visitor-key secret lives: `auth/visitor-keys/{site}`.
pub fn visitor_secret_key(site: &str) -> String {
    format!("auth/visitor-keys/{site}")
}

/// A secret read from the store. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct StoredSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredSecret(redacted)")
    }
}

impl StoredSecret {
    /// Returns HMAC-SHA256 of `message` under this secret, in lowercase hex (64 digits).
    pub fn keyed_hash(&self, message: &[u8]) -> String {
        to_hex(&self.mac(message))
    }

    /// Returns the first `len_bytes` bytes of HMAC-SHA256 of `message`, in lowercase hex.
    pub fn keyed_hash_prefix(&self, message: &[u8], len_bytes: usize) -> String {
        let mac = self.mac(message);
        to_hex(&mac[..len_bytes.min(mac.len())])
    }

    fn mac(&self, message: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Returns the visitor key of `id` under `site`'s visitor secret: the first 128 bits of
/// HMAC-SHA256, as 32 lowercase hex digits (what a stream's `visitor_key` holds).
pub fn visitor_key(secret: &StoredSecret, id: &str) -> String {
    secret.keyed_hash_prefix(id.as_bytes(), 16)
}

/// Reads the secret at `key`, or None if there is none yet.
pub async fn load_secret(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<StoredSecret>, StoreError> {
    match store.get(key).await {
        Ok(bytes) => parse(key, &bytes).map(Some),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// Reads the secret at `key`, creating it first if there is none (see the module docs).
pub async fn load_or_create_secret(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<StoredSecret, StoreError> {
    if let Some(secret) = load_secret(store, key).await? {
        return Ok(secret);
    }
    let mut fresh = [0u8; SECRET_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut fresh)
        .map_err(|err| {
            StoreError::new(
                StoreErrorKind::Io,
                "put",
                key,
                format!("no randomness: {err}"),
            )
        })?;
    store.put(key, Bytes::copy_from_slice(&fresh)).await?;
    parse(key, &store.get(key).await?)
}

fn parse(key: &str, bytes: &[u8]) -> Result<StoredSecret, StoreError> {
    let secret: [u8; SECRET_BYTES] = bytes.try_into().map_err(|_| {
        StoreError::new(
            StoreErrorKind::Io,
            "get",
            key,
            format!("a secret is {SECRET_BYTES} bytes, found {}", bytes.len()),
        )
    })?;
    Ok(StoredSecret(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn a_secret_is_created_once_and_hashes_alike_after() {
        let store = MemoryStore::new();
        let first = load_or_create_secret(&store, AUDIT_KEY)
            .await
            .expect("create");
        let stored = store.get(AUDIT_KEY).await.expect("stored");
        assert_eq!(stored.len(), SECRET_BYTES);
        let again = load_or_create_secret(&store, AUDIT_KEY)
            .await
            .expect("load");
        assert_eq!(first.keyed_hash(b"s-1"), again.keyed_hash(b"s-1"));
        assert_eq!(first.keyed_hash(b"s-1").len(), 64);
        assert_ne!(first.keyed_hash(b"s-1"), first.keyed_hash(b"s-2"));
        assert_eq!(
            first.keyed_hash_prefix(b"s-1", 16),
            first.keyed_hash(b"s-1")[..32]
        );
        assert_eq!(format!("{first:?}"), "StoredSecret(redacted)");
        assert_eq!(visitor_key(&first, "crm-1").len(), 32);
        assert!(
            load_secret(&store, "auth/none")
                .await
                .expect("load")
                .is_none()
        );
        store
            .put("auth/bad", Bytes::from_static(b"short"))
            .await
            .expect("put");
        assert!(load_or_create_secret(&store, "auth/bad").await.is_err());
    }
}
