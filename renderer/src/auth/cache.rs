//! The read side's view of the token list: kept in memory, reloaded from the store every
//! `token_refresh_ms` (so a `heatpipe token revoke` on another host takes effect within
//! seconds) and at once when a request shows a token the list does not hold (so a new token
//! works on its first request), at most once a second however many such requests come.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use heatpipe_io::store::ObjectStore;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::tokens::{Scope, digest_of, list_tokens};
use crate::error::{RenderError, RenderResult};

/// Shortest time between two reloads caused by unknown tokens.
pub const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Who made a request that was let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A token, by name (the secret is not kept).
    Token { name: String, scope: Scope },
    /// Nobody in particular: no token exists and the read side listens on loopback only.
    Loopback,
}

/// One token as compared: its name, scope and hash.
#[derive(Clone)]
struct KnownToken {
    name: String,
    scope: Scope,
    digest: [u8; 32],
}

/// The cached token list and the rule for letting requests through.
pub struct TokenCache {
    /// The list as last read; `None` until it has been read once.
    tokens: RwLock<Option<Arc<Vec<KnownToken>>>>,
    /// When the last reload caused by an unknown token started; held while one runs.
    miss_reload: tokio::sync::Mutex<Option<Instant>>,
    /// Whether requests pass without a token while none exists (only on a loopback listener).
    open_without_tokens: AtomicBool,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self
            .tokens
            .read()
            .ok()
            .and_then(|tokens| tokens.as_ref().map(|t| t.len()));
        f.debug_struct("TokenCache")
            .field("tokens", &count)
            .field(
                "open_without_tokens",
                &self.open_without_tokens.load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new()
    }
}

impl TokenCache {
    /// Returns an empty cache that lets nothing through without a token: the list is read on
    /// the first request.
    pub fn new() -> Self {
        TokenCache {
            tokens: RwLock::new(None),
            miss_reload: tokio::sync::Mutex::new(None),
            open_without_tokens: AtomicBool::new(false),
        }
    }

    /// Sets whether requests pass without a token while no token exists. Servers set it from
    /// the read listener's address: true only on loopback.
    pub fn set_open_without_tokens(&self, open: bool) {
        self.open_without_tokens.store(open, Ordering::Relaxed);
    }

    /// Reads the token list from the store and keeps it; returns how many tokens it holds. On
    /// failure the list held before stays.
    pub async fn reload(&self, store: &Arc<dyn ObjectStore>) -> RenderResult<usize> {
        let records = list_tokens(store).await?;
        let tokens: Vec<KnownToken> = records
            .into_iter()
            .filter_map(|record| {
                Some(KnownToken {
                    digest: record.digest()?,
                    name: record.name,
                    scope: record.scope,
                })
            })
            .collect();
        let count = tokens.len();
        if let Ok(mut held) = self.tokens.write() {
            *held = Some(Arc::new(tokens));
        }
        Ok(count)
    }

    fn held(&self) -> Option<Arc<Vec<KnownToken>>> {
        self.tokens.read().ok().and_then(|tokens| tokens.clone())
    }

    /// Returns the held list, reading it first if it never was.
    async fn current(&self, store: &Arc<dyn ObjectStore>) -> RenderResult<Arc<Vec<KnownToken>>> {
        if let Some(tokens) = self.held() {
            return Ok(tokens);
        }
        self.reload(store).await?;
        self.held()
            .ok_or_else(|| RenderError::Internal("the token list was not kept".into()))
    }

    /// Reloads the list because a request arriving at `arrived` found it wanting; returns the
    /// list after it. Reloads run at most once per [`MISS_RELOAD_INTERVAL`]: a request waits
    /// for the next allowed one unless a reload started after it arrived, whose list it uses.
    async fn reload_after_miss(
        &self,
        store: &Arc<dyn ObjectStore>,
        arrived: Instant,
    ) -> RenderResult<Arc<Vec<KnownToken>>> {
        let mut last = self.miss_reload.lock().await;
        match *last {
            Some(started) if started >= arrived => return self.current(store).await,
            Some(started) => tokio::time::sleep_until(started + MISS_RELOAD_INTERVAL).await,
            None => {}
        }
        *last = Some(Instant::now());
        self.reload(store).await?;
        drop(last);
        self.current(store).await
    }

    /// Decides a request carrying `authorization` (the header's value, if any) that needs
    /// `needed`: the caller, or 401 (no, unknown or revoked token) or 403 (too small a scope).
    /// The secret is hashed and compared with every token in constant time; it is never logged.
    pub async fn authorize(
        &self,
        store: &Arc<dyn ObjectStore>,
        authorization: Option<&str>,
        needed: Scope,
    ) -> RenderResult<Caller> {
        let arrived = Instant::now();
        let open = self.open_without_tokens.load(Ordering::Relaxed);
        let mut tokens = self.current(store).await?;
        if tokens.is_empty() && open {
            // Whatever a browser sends (a token kept from elsewhere), nothing is needed here.
            return Ok(Caller::Loopback);
        }
        let Some(value) = authorization else {
            return Err(missing_token(&tokens));
        };
        let digest = digest_of(bearer_secret(value)?);
        let mut found = find(&tokens, &digest);
        if found.is_none() {
            tokens = self.reload_after_miss(store, arrived).await?;
            found = find(&tokens, &digest);
            if tokens.is_empty() && open {
                return Ok(Caller::Loopback);
            }
        }
        let token = found.ok_or_else(|| {
            RenderError::Unauthorized(if tokens.is_empty() {
                no_token_exists()
            } else {
                "this token is not valid: it is unknown or has been revoked".to_owned()
            })
        })?;
        if !token.scope.allows(needed) {
            return Err(RenderError::Forbidden(format!(
                "token {:?} has scope {}; this endpoint needs scope {}",
                token.name, token.scope, needed
            )));
        }
        Ok(Caller::Token {
            name: token.name.clone(),
            scope: token.scope,
        })
    }
}

/// Returns the secret of `Bearer SECRET` (the scheme in any case).
fn bearer_secret(value: &str) -> RenderResult<&str> {
    let value = value.trim();
    let secret = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
        .filter(|secret| !secret.is_empty());
    secret.ok_or_else(|| {
        RenderError::Unauthorized(
            "the Authorization header must be `Bearer TOKEN` with an API token".into(),
        )
    })
}

/// Returns the token whose hash is `digest`, comparing with every token in constant time.
fn find<'t>(tokens: &'t [KnownToken], digest: &[u8; 32]) -> Option<&'t KnownToken> {
    let mut found = None;
    for token in tokens {
        if bool::from(token.digest.ct_eq(digest)) {
            found = Some(token);
        }
    }
    found
}

fn missing_token(tokens: &[KnownToken]) -> RenderError {
    RenderError::Unauthorized(if tokens.is_empty() {
        no_token_exists()
    } else {
        "this endpoint needs an API token: send `Authorization: Bearer TOKEN`".to_owned()
    })
}

fn no_token_exists() -> String {
    "no API token exists yet and this read side is not on loopback; create one with \
     `heatpipe token create --store STORE --name NAME --scope admin`"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::tokens::{create_token, revoke_token};
    use super::*;
    use heatpipe_io::store::MemoryStore;

    fn memory() -> Arc<dyn ObjectStore> {
        Arc::new(MemoryStore::new())
    }

    fn bearer(secret: &str) -> String {
        format!("Bearer {secret}")
    }

    #[tokio::test]
    async fn without_tokens_only_a_loopback_read_side_is_open() {
        let store = memory();
        let cache = TokenCache::new();
        assert!(matches!(
            cache.authorize(&store, None, Scope::Read).await,
            Err(RenderError::Unauthorized(message)) if message.contains("heatpipe token create")
        ));
        cache.set_open_without_tokens(true);
        assert_eq!(
            cache.authorize(&store, None, Scope::Admin).await.ok(),
            Some(Caller::Loopback)
        );
    }

    #[tokio::test]
    async fn tokens_pass_by_scope_and_unknown_ones_are_refused() {
        let store = memory();
        let cache = TokenCache::new();
        cache.set_open_without_tokens(true);
        let (_, read) = create_token(&store, "reader", Scope::Read, chrono::Utc::now())
            .await
            .expect("create");
        // Created after the cache's first read would be the same: a miss reloads.
        assert!(
            matches!(
                cache.authorize(&store, None, Scope::Read).await,
                Err(RenderError::Unauthorized(_))
            ),
            "once a token exists, loopback needs one too"
        );
        let caller = cache
            .authorize(&store, Some(&bearer(read.expose())), Scope::Read)
            .await
            .expect("read token reads");
        assert_eq!(
            caller,
            Caller::Token {
                name: "reader".into(),
                scope: Scope::Read
            }
        );
        assert!(matches!(
            cache
                .authorize(&store, Some(&bearer(read.expose())), Scope::Admin)
                .await,
            Err(RenderError::Forbidden(_))
        ));
        for bad in ["Basic abc", "Bearer", "Bearer hp_wrong", read.expose()] {
            assert!(
                matches!(
                    cache.authorize(&store, Some(bad), Scope::Read).await,
                    Err(RenderError::Unauthorized(_))
                ),
                "{bad:?} is refused"
            );
        }
    }

    #[tokio::test]
    async fn a_new_token_works_at_once_and_a_revoked_one_stops_after_a_reload() {
        let store = memory();
        let cache = TokenCache::new();
        let (_, first) = create_token(&store, "first", Scope::Read, chrono::Utc::now())
            .await
            .expect("create");
        assert_eq!(cache.reload(&store).await.expect("reload"), 1);
        // Another host creates a token: the first request with it reloads the list.
        let (_, second) = create_token(&store, "second", Scope::Admin, chrono::Utc::now())
            .await
            .expect("create");
        assert!(
            cache
                .authorize(&store, Some(&bearer(second.expose())), Scope::Admin)
                .await
                .is_ok()
        );
        // Another host revokes one: it still passes until the list is reloaded.
        revoke_token(&store, "first").await.expect("revoke");
        assert!(
            cache
                .authorize(&store, Some(&bearer(first.expose())), Scope::Read)
                .await
                .is_ok()
        );
        cache.reload(&store).await.expect("reload");
        assert!(matches!(
            cache
                .authorize(&store, Some(&bearer(first.expose())), Scope::Read)
                .await,
            Err(RenderError::Unauthorized(message)) if message.contains("not valid")
        ));
    }

    #[tokio::test]
    async fn unknown_tokens_reload_the_list_at_most_once_a_second() {
        let store: Arc<dyn ObjectStore> = Arc::new(CountingLists::default());
        let cache = Arc::new(TokenCache::new());
        create_token(&store, "only", Scope::Read, chrono::Utc::now())
            .await
            .expect("create");
        cache.reload(&store).await.expect("reload");
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (cache, store) = (cache.clone(), store.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .authorize(&store, Some("Bearer hp_unknown"), Scope::Read)
                    .await
                    .is_err()
            }));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for task in tasks {
            assert!(task.await.expect("join"));
        }
        let elapsed = started.elapsed();
        let lists = COUNTED_LISTS.load(Ordering::Relaxed);
        // The first reload, then one per second while misses come in for 1.2 s.
        assert!(
            (2..=4).contains(&lists),
            "{lists} listings in {elapsed:?} for 12 misses"
        );
    }

    static COUNTED_LISTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// A memory store counting its listings.
    #[derive(Debug, Default)]
    struct CountingLists(MemoryStore);

    #[async_trait::async_trait]
    impl ObjectStore for CountingLists {
        async fn put(&self, key: &str, bytes: bytes::Bytes) -> heatpipe_io::StoreResult<()> {
            self.0.put(key, bytes).await
        }
        async fn get(&self, key: &str) -> heatpipe_io::StoreResult<bytes::Bytes> {
            self.0.get(key).await
        }
        async fn get_range(
            &self,
            key: &str,
            range: std::ops::Range<u64>,
        ) -> heatpipe_io::StoreResult<bytes::Bytes> {
            self.0.get_range(key, range).await
        }
        async fn list(
            &self,
            prefix: &str,
        ) -> heatpipe_io::StoreResult<Vec<heatpipe_io::ObjectMeta>> {
            COUNTED_LISTS.fetch_add(1, Ordering::Relaxed);
            self.0.list(prefix).await
        }
        async fn delete(&self, key: &str) -> heatpipe_io::StoreResult<()> {
            self.0.delete(key).await
        }
        fn identity(&self) -> String {
            self.0.identity()
        }
    }
}
