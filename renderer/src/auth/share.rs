//! Share links: a URL that shows one heatmap or one replay, read-only and without a token, until
//! it expires. A link names its site, its kind (`heatmap` or `session`), the parameters of what
//! it shows and its expiry (Unix seconds), and carries an HMAC-SHA256 of all of them under a key
//! kept in the store at `auth/share-key`, so that changing any of them, or using the link past
//! its expiry, is refused (403).
//!
//! ```text
//! /share/{site}/heatmap?page=…&kind=click&from=…&to=…&expires=1795000000&sig=…
//! /share/{site}/session?session=…&date=…&expires=1795000000&sig=…
//! ```
//!
//! The key is created on the first share: the store has no create-only write, so it is written
//! and then read back, and what is stored is used. Replicas reload it with the token list, and
//! again (at most once a second) when a link does not verify under the key they hold, so they
//! converge on the stored key. Deleting `auth/share-key` invalidates every link at once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use heatpipe_io::store::ObjectStore;
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRngCore;
use sha2::Sha256;
use tokio::time::Instant;

use super::cache::MISS_RELOAD_INTERVAL;
use crate::error::{RenderError, RenderResult};

/// Where the signing key lives in the store.
pub const SHARE_KEY: &str = "auth/share-key";
/// The longest a link may be valid: 30 days.
pub const MAX_SHARE_S: u64 = 30 * 86_400;
/// Bytes of the signing key.
const KEY_BYTES: usize = 32;
/// The query parameters a link adds to what it shows.
pub const EXPIRES_PARAM: &str = "expires";
pub const SIGNATURE_PARAM: &str = "sig";

/// What a link shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    /// One heatmap: its PNG and the viewer's view of it.
    Heatmap,
    /// One session's replay timeline.
    Session,
}

impl ShareKind {
    /// Returns `heatmap` or `session`, as in the link's path.
    pub fn as_str(self) -> &'static str {
        match self {
            ShareKind::Heatmap => "heatmap",
            ShareKind::Session => "session",
        }
    }
}

/// A share link's signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub site: String,
    pub kind: ShareKind,
    /// The query parameters of what is shown, by name.
    pub params: BTreeMap<String, String>,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
}

impl ShareLink {
    /// Returns the bytes signed: every field, each prefixed by its length, so no two links
    /// share them.
    fn message(&self) -> Vec<u8> {
        let mut message = Vec::new();
        let mut field = |bytes: &[u8]| {
            message.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            message.extend_from_slice(bytes);
        };
        field(b"heatpipe-share-v1");
        field(self.site.as_bytes());
        field(self.kind.as_str().as_bytes());
        field(self.expires.to_string().as_bytes());
        field(&(self.params.len() as u64).to_be_bytes());
        for (name, value) in &self.params {
            field(name.as_bytes());
            field(value.as_bytes());
        }
        message
    }

    /// Returns the link's signature under `key`, base64url.
    pub fn sign(&self, key: &ShareKey) -> String {
        URL_SAFE_NO_PAD.encode(key.mac(&self.message()).finalize().into_bytes())
    }

    /// Whether `signature` is this link's under `key`, compared in constant time.
    pub fn verifies(&self, key: &ShareKey, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(bytes) => key.mac(&self.message()).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// Returns the link's path and query, signed with `signature`.
    pub fn path(&self, signature: &str) -> RenderResult<String> {
        let mut pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let expires = self.expires.to_string();
        pairs.push((EXPIRES_PARAM, &expires));
        pairs.push((SIGNATURE_PARAM, signature));
        let query = serde_urlencoded::to_string(&pairs)
            .map_err(|err| RenderError::Internal(format!("cannot encode a share link: {err}")))?;
        Ok(format!(
            "/share/{}/{}?{query}",
            self.site,
            self.kind.as_str()
        ))
    }

    /// Reads a link from the path's `site` and `kind` and its raw query string; returns it with
    /// its signature. A link without an expiry or signature, or naming a parameter twice, is
    /// refused as a bad link.
    pub fn from_query(
        site: &str,
        kind: ShareKind,
        query: &str,
    ) -> RenderResult<(ShareLink, String)> {
        let refused = || {
            RenderError::Forbidden(
                "this share link is not valid: it lacks its expiry or signature, or repeats a parameter"
                    .into(),
            )
        };
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| refused())?;
        let mut params = BTreeMap::new();
        let (mut expires, mut signature) = (None, None);
        for (name, value) in pairs {
            let slot = match name.as_str() {
                EXPIRES_PARAM => &mut expires,
                SIGNATURE_PARAM => &mut signature,
                _ => {
                    if params.insert(name, value).is_some() {
                        return Err(refused());
                    }
                    continue;
                }
            };
            if slot.replace(value).is_some() {
                return Err(refused());
            }
        }
        let expires = expires
            .and_then(|value| value.parse::<i64>().ok())
            .ok_or_else(refused)?;
        let signature = signature.ok_or_else(refused)?;
        Ok((
            ShareLink {
                site: site.to_owned(),
                kind,
                params,
                expires,
            },
            signature,
        ))
    }
}

/// The signing key. Its `Debug` prints no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareKey([u8; KEY_BYTES]);

impl fmt::Debug for ShareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareKey(<redacted>)")
    }
}

impl ShareKey {
    /// Draws a new key from the operating system's random source.
    pub fn generate() -> RenderResult<ShareKey> {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|err| {
                RenderError::Internal(format!("no randomness for a share key: {err}"))
            })?;
        Ok(ShareKey(bytes))
    }

    /// Reads a stored key; a stored object of another length is corrupt.
    fn from_stored(bytes: &[u8]) -> RenderResult<ShareKey> {
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| {
            RenderError::Internal(format!(
                "{SHARE_KEY} holds {} bytes, not {KEY_BYTES}; delete it to make a new one (every share link stops working)",
                bytes.len()
            ))
        })?;
        Ok(ShareKey(key))
    }

    fn mac(&self, message: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(message);
        mac
    }
}

/// The signing key as this replica holds it.
#[derive(Debug, Default)]
pub struct ShareKeyCache {
    key: RwLock<Option<ShareKey>>,
    /// When the last reload caused by a link that did not verify started.
    miss_reload: tokio::sync::Mutex<Option<Instant>>,
}

impl ShareKeyCache {
    fn held(&self) -> Option<ShareKey> {
        self.key.read().ok().and_then(|key| key.clone())
    }

    fn hold(&self, key: Option<ShareKey>) {
        if let Ok(mut held) = self.key.write() {
            *held = key;
        }
    }

    /// Reads the key from the store (none if it does not exist yet) and holds it.
    pub async fn reload(&self, store: &Arc<dyn ObjectStore>) -> RenderResult<Option<ShareKey>> {
        let key = match store.get(SHARE_KEY).await {
            Ok(bytes) => Some(ShareKey::from_stored(&bytes)?),
            Err(err) if err.is_not_found() => None,
            Err(err) => return Err(err.into()),
        };
        self.hold(key.clone());
        Ok(key)
    }

    /// Returns the key to sign with, creating it in the store on the first share: written, then
    /// read back, so that of two replicas creating it at once both use the one that stayed.
    pub async fn signing_key(&self, store: &Arc<dyn ObjectStore>) -> RenderResult<ShareKey> {
        if let Some(key) = self.held() {
            return Ok(key);
        }
        if let Some(key) = self.reload(store).await? {
            return Ok(key);
        }
        let fresh = ShareKey::generate()?;
        store
            .put(SHARE_KEY, Bytes::copy_from_slice(&fresh.0))
            .await?;
        self.reload(store)
            .await?
            .ok_or_else(|| RenderError::Internal(format!("{SHARE_KEY} vanished as it was made")))
    }

    /// Checks `link` and its `signature` at `now_s` (Unix seconds): 403 if the signature is not
    /// the link's under the stored key, or if the link has expired.
    pub async fn verify(
        &self,
        store: &Arc<dyn ObjectStore>,
        link: &ShareLink,
        signature: &str,
        now_s: i64,
    ) -> RenderResult<()> {
        let arrived = Instant::now();
        let held = match self.held() {
            Some(key) => Some(key),
            None => self.reload(store).await?,
        };
        let mut valid = held
            .as_ref()
            .is_some_and(|key| link.verifies(key, signature));
        if !valid {
            // Another replica may have made or replaced the key since this one read it.
            let mut last = self.miss_reload.lock().await;
            let reloaded = match *last {
                Some(started) if started >= arrived => self.held(),
                Some(started) => {
                    tokio::time::sleep_until(started + MISS_RELOAD_INTERVAL).await;
                    *last = Some(Instant::now());
                    self.reload(store).await?
                }
                None => {
                    *last = Some(Instant::now());
                    self.reload(store).await?
                }
            };
            drop(last);
            valid = reloaded.is_some_and(|key| link.verifies(&key, signature));
        }
        if !valid {
            return Err(RenderError::Forbidden(
                "this share link is not valid: it was changed, or not made here".into(),
            ));
        }
        if now_s > link.expires {
            return Err(RenderError::Forbidden(format!(
                "this share link expired at {}",
                chrono::DateTime::from_timestamp(link.expires, 0)
                    .map_or_else(|| link.expires.to_string(), |at| at.to_rfc3339())
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_io::store::MemoryStore;

    fn link() -> ShareLink {
        ShareLink {
            site: "shop".into(),
            kind: ShareKind::Heatmap,
            params: [("page", "0123456789abcdef"), ("kind", "click")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires: 2_000_000_000,
        }
    }

    #[test]
    fn a_link_reads_back_from_its_own_path() {
        let key = ShareKey::generate().expect("key");
        let link = link();
        let signature = link.sign(&key);
        let path = link.path(&signature).expect("path");
        let (prefix, query) = path.split_once('?').expect("query");
        assert_eq!(prefix, "/share/shop/heatmap");
        let (read, read_signature) =
            ShareLink::from_query("shop", ShareKind::Heatmap, query).expect("parse");
        assert_eq!(read, link);
        assert!(read.verifies(&key, &read_signature));
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.0)));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let key = ShareKey::generate().expect("key");
        let link = link();
        let signature = link.sign(&key);
        let mut changed = Vec::new();
        changed.push(ShareLink {
            site: "other".into(),
            ..link.clone()
        });
        changed.push(ShareLink {
            kind: ShareKind::Session,
            ..link.clone()
        });
        changed.push(ShareLink {
            expires: link.expires + 1,
            ..link.clone()
        });
        for name in ["page", "kind"] {
            let mut other = link.clone();
            other.params.insert(name.into(), "x".into());
            changed.push(other);
        }
        let mut added = link.clone();
        added.params.insert("composite".into(), "1".into());
        changed.push(added);
        // Moving bytes between a name and its value must not give the same message.
        let mut shifted = link.clone();
        shifted.params.remove("kind");
        shifted.params.insert("kin".into(), "dclick".into());
        changed.push(shifted);
        for other in changed {
            assert!(!other.verifies(&key, &signature), "{other:?}");
        }
        assert!(!link.verifies(&ShareKey::generate().expect("key"), &signature));
        assert!(!link.verifies(&key, "not base64!"));
    }

    #[test]
    fn links_naming_a_parameter_twice_or_without_expiry_are_refused() {
        for query in [
            "page=a&page=b&expires=1&sig=x",
            "page=a&expires=1&expires=2&sig=x",
            "page=a&sig=x",
            "page=a&expires=soon&sig=x",
            "page=a&expires=1",
        ] {
            assert!(
                matches!(
                    ShareLink::from_query("shop", ShareKind::Heatmap, query),
                    Err(RenderError::Forbidden(_))
                ),
                "{query}"
            );
        }
    }

    #[tokio::test]
    async fn the_key_is_made_once_and_shared_through_the_store() {
        let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
        let (one, two) = (ShareKeyCache::default(), ShareKeyCache::default());
        let link = link();
        assert!(
            matches!(
                one.verify(&store, &link, "AAAA", 0).await,
                Err(RenderError::Forbidden(_))
            ),
            "no key yet: nothing verifies"
        );
        let key = one.signing_key(&store).await.expect("key");
        assert_eq!(two.signing_key(&store).await.expect("key"), key);
        let signature = link.sign(&key);
        two.verify(&store, &link, &signature, link.expires)
            .await
            .expect("valid until its expiry");
        assert!(matches!(
            two.verify(&store, &link, &signature, link.expires + 1).await,
            Err(RenderError::Forbidden(message)) if message.contains("expired")
        ));
        // Replaced in the store (by an operator or a racing replica): holders follow.
        store
            .put(SHARE_KEY, Bytes::copy_from_slice(&[7u8; 32]))
            .await
            .expect("put");
        let replaced = ShareKey([7u8; 32]);
        let signature = link.sign(&replaced);
        one.verify(&store, &link, &signature, 0)
            .await
            .expect("a miss reloads the key");
    }
}
