//! `heatpipe('identify', ID)`: the id a site gives for a known visitor becomes the stream's
//! `visitor_key`, the first 128 bits of HMAC-SHA256 of the id under the site's secret at
//! `auth/visitor-keys/{site}` in the store (made on first use; see `heatpipe_io::secret`), in
//! hex. The id itself goes no further than this: it is neither logged, nor written to the log,
//! nor stored. Every collector and `heatpipe forget --visitor` reading the store hash alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use heatpipe_io::secret::{StoredSecret, load_or_create_secret, visitor_key, visitor_secret_key};
use heatpipe_io::store::{ObjectStore, StoreError};

/// Longest id accepted, in bytes.
pub const MAX_IDENTIFY_BYTES: usize = 256;

/// The sites' visitor-key secrets, read from the store once per site and kept.
#[derive(Debug)]
pub struct VisitorKeys {
    store: Arc<dyn ObjectStore>,
    secrets: Mutex<HashMap<String, StoredSecret>>,
}

impl VisitorKeys {
    /// Returns visitor keys made with the secrets of `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(VisitorKeys {
            store,
            secrets: Mutex::new(HashMap::new()),
        })
    }

    /// Returns the visitor key of `id` on `site`, reading (or making) the site's secret the
    /// first time.
    pub async fn key_of(&self, site: &str, id: &str) -> Result<String, StoreError> {
        let cached = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(site)
            .cloned();
        let secret = match cached {
            Some(secret) => secret,
            None => {
                let secret =
                    load_or_create_secret(self.store.as_ref(), &visitor_secret_key(site)).await?;
                self.secrets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(site.to_owned(), secret.clone());
                secret
            }
        };
        Ok(visitor_key(&secret, id))
    }
}

/// Checks an `identify` id: 1 to [`MAX_IDENTIFY_BYTES`] bytes, no control characters.
pub fn validate_identify(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_IDENTIFY_BYTES || id.chars().any(char::is_control) {
        return Err(format!(
            "page.identify must be 1 to {MAX_IDENTIFY_BYTES} bytes without control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_io::store::MemoryStore;

    #[tokio::test]
    async fn sites_hash_the_same_id_apart_and_each_always_alike() {
        let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
        let keys = VisitorKeys::new(store.clone());
        let shop = keys.key_of("shop", "crm-42").await.expect("key");
        assert_eq!(shop.len(), 32);
        assert!(heatpipe_core::event::validate_visitor_key(&shop));
        assert_ne!(shop, keys.key_of("blog", "crm-42").await.expect("key"));
        let other_replica = VisitorKeys::new(store);
        assert_eq!(
            other_replica.key_of("shop", "crm-42").await.expect("key"),
            shop
        );
        assert!(validate_identify("").is_err());
        assert!(validate_identify(&"x".repeat(257)).is_err());
        assert!(validate_identify("a\nb").is_err());
        assert!(validate_identify("user@example.com").is_ok());
    }
}
