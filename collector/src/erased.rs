//! What `heatpipe forget` erased, as the uploader must know it: the tombstones under
//! `audit/{site}/erased/` (see `heatpipe_core::keys::erasure_tombstone_key`). A batch of an
//! erased session, or of an erased visitor, that was still in the log when the erasure ran is
//! left out when its segment is uploaded.

use std::collections::HashSet;

use heatpipe_core::keys::erasure_tombstone_prefix;
use heatpipe_io::StoreError;
use heatpipe_io::secret::{AUDIT_KEY, StoredSecret, load_secret};
use heatpipe_io::store::ObjectStore;

use crate::wal::{LoggedBatch, WalRecord};

/// The erased sessions and visitors of one site.
#[derive(Debug, Default)]
pub struct Erased {
    /// The key the tombstones' hashes are made with; None when nothing was ever erased.
    secret: Option<StoredSecret>,
    sessions: HashSet<String>,
    visitors: HashSet<String>,
}

impl Erased {
    /// Reads the tombstones of `site`. A store error is returned, not ignored: a segment is
    /// never uploaded without knowing what was erased.
    pub async fn load(store: &dyn ObjectStore, site: &str) -> Result<Erased, StoreError> {
        let prefix = erasure_tombstone_prefix(site);
        let listed = store.list(&prefix).await?;
        if listed.is_empty() {
            return Ok(Erased::default());
        }
        let mut erased = Erased {
            secret: load_secret(store, AUDIT_KEY).await?,
            ..Erased::default()
        };
        for meta in listed {
            let name = meta.key.strip_prefix(&prefix).unwrap_or_default();
            if let Some(hash) = name.strip_prefix("session-") {
                erased.sessions.insert(hash.to_owned());
            } else if let Some(hash) = name.strip_prefix("visitor-") {
                erased.visitors.insert(hash.to_owned());
            }
        }
        Ok(erased)
    }

    /// Returns whether `record` belongs to an erased session or visitor.
    pub fn covers(&self, record: &WalRecord) -> bool {
        let Some(secret) = &self.secret else {
            return false;
        };
        if self
            .sessions
            .contains(&secret.keyed_hash(record.session_id().as_bytes()))
        {
            return true;
        }
        match &record.batch {
            LoggedBatch::Stream(stream) => stream
                .page
                .visitor_key
                .as_ref()
                .is_some_and(|key| self.visitors.contains(&secret.keyed_hash(key.as_bytes()))),
            LoggedBatch::Rrweb(_) | LoggedBatch::Replay(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use heatpipe_core::keys::erasure_tombstone_key;
    use heatpipe_fixtures::SessionBuilder;
    use heatpipe_io::secret::load_or_create_secret;
    use heatpipe_io::store::MemoryStore;

    use super::*;

    fn identified(session: &str, visitor_key: Option<&str>) -> WalRecord {
        let mut stream = SessionBuilder::new(session, "https://a.example/", 1_800_000_000_000)
            .click(5, 1, 2, "#x")
            .build()
            .remove(0);
        stream.page.visitor_key = visitor_key.map(str::to_owned);
        WalRecord::stream("shop", stream)
    }

    #[tokio::test]
    async fn batches_of_erased_sessions_and_visitors_are_covered_and_no_others() {
        let store = MemoryStore::new();
        assert!(
            !Erased::load(&store, "shop")
                .await
                .expect("load")
                .covers(&identified("s1", None)),
            "nothing erased, nothing covered"
        );
        let secret = load_or_create_secret(&store, AUDIT_KEY).await.expect("key");
        for (kind, subject) in [("session", "s1"), ("visitor", "v-key")] {
            let key = erasure_tombstone_key("shop", kind, &secret.keyed_hash(subject.as_bytes()));
            store.put(&key, Bytes::new()).await.expect("tombstone");
        }
        let erased = Erased::load(&store, "shop").await.expect("load");
        assert!(erased.covers(&identified("s1", None)));
        assert!(erased.covers(&identified("s2", Some("v-key"))));
        assert!(!erased.covers(&identified("s2", Some("other-key"))));
        assert!(!erased.covers(&identified("s3", None)));
        let other_site = Erased::load(&store, "blog").await.expect("load");
        assert!(!other_site.covers(&identified("s1", None)));
    }
}
