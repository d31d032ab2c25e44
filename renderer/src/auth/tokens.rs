//! API tokens as the store keeps them: one object per token at `auth/tokens/{name}.json` holding
//! its name, scope, creation time and the SHA-256 of the secret — never the secret itself — so
//! every replica reading the store sees the same list. `heatpipe token` writes them; the read
//! side's [`TokenCache`](super::cache::TokenCache) reads them.
//!
//! A secret is `hp_` followed by 32 random bytes from the operating system, base64url without
//! padding (46 characters). SHA-256 is enough for a 256-bit random secret: nothing can be
//! guessed, so a slow password hash would only cost time on every request.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use heatpipe_io::store::ObjectStore;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{RenderError, RenderResult};

/// Where the token records live in the store.
pub const TOKENS_PREFIX: &str = "auth/tokens/";
/// What every secret starts with, so a leaked one is easy to recognize (and to scan for).
pub const SECRET_PREFIX: &str = "hp_";
/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;

/// What a token may do. `Admin` may do everything `Read` may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every read route and share links.
    Read,
    /// Read, plus the admin routes (token listing, erasure).
    Admin,
}

impl Scope {
    /// Parses `read` or `admin`.
    pub fn parse(value: &str) -> RenderResult<Scope> {
        match value {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(RenderError::BadRequest(format!(
                "a token's scope is read or admin, not {other:?}"
            ))),
        }
    }

    /// Returns `read` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// Whether a token of this scope may do what needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's secret, as shown once when it is created. Its `Debug` prints no part of it.
pub struct Secret(String);

impl Secret {
    /// Draws a new secret from the operating system's random source.
    pub fn generate() -> RenderResult<Secret> {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|err| RenderError::Internal(format!("no randomness for a token: {err}")))?;
        Ok(Secret(format!(
            "{SECRET_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// Reads a secret made elsewhere (kept in a Kubernetes Secret, say): `hp_` and 43 base64url
    /// characters of 32 bytes, like the ones [`Secret::generate`] draws, so none is weak.
    pub fn parse(text: &str) -> RenderResult<Secret> {
        let text = text.trim();
        let random = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|rest| URL_SAFE_NO_PAD.decode(rest).ok());
        match random {
            Some(bytes) if bytes.len() == SECRET_BYTES => Ok(Secret(text.to_owned())),
            _ => Err(RenderError::BadRequest(format!(
                "a token is {SECRET_PREFIX} followed by {SECRET_BYTES} random bytes in base64url \
                 without padding (43 characters), as `heatpipe token create` prints"
            ))),
        }
    }

    /// Returns the secret, to print it once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Returns the SHA-256 of a presented secret, the form in which tokens are compared.
pub fn digest_of(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// What the store keeps of one token. Its `Debug` leaves the hash out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    /// The SHA-256 of the secret, 64 lowercase hex digits.
    pub sha256: String,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("sha256", &"<redacted>")
            .finish()
    }
}

impl TokenRecord {
    /// Returns the hash as bytes; `None` if the record's hash is not 64 hex digits.
    pub fn digest(&self) -> Option<[u8; 32]> {
        let text = self.sha256.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
            let hex = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(digest)
    }
}

/// Checks a token's name: 1–64 characters of `[a-z0-9_-]`, starting with a letter or digit.
pub fn validate_name(name: &str) -> RenderResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(RenderError::BadRequest(format!(
            "a token's name is 1-64 characters of a-z, 0-9, _ and -, starting with a letter or digit; not {name:?}"
        )))
    }
}

/// Returns the store key of token `name`.
pub fn token_key(name: &str) -> String {
    format!("{TOKENS_PREFIX}{name}.json")
}

/// Creates token `name` with `scope`: stores its record and returns it with the secret, which
/// is not kept anywhere. A token of that name must not exist (revoke it first).
pub async fn create_token(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    scope: Scope,
    now: DateTime<Utc>,
) -> RenderResult<(TokenRecord, Secret)> {
    validate_name(name)?;
    let key = token_key(name);
    match store.get(&key).await {
        Ok(_) => {
            return Err(RenderError::Conflict(format!(
                "a token named {name:?} exists; revoke it first or choose another name"
            )));
        }
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(err.into()),
    }
    let secret = Secret::generate()?;
    let record = put_record(store, name, scope, &secret, now).await?;
    Ok((record, secret))
}

/// What [`install_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// No token had that name.
    Created,
    /// A token of that name had another secret or scope; it is replaced.
    Replaced,
    /// The token was already there, as given.
    Unchanged,
}

/// Makes token `name` the given `secret` with `scope`, whatever was there: the idempotent
/// form of [`create_token`] for a secret kept outside the store (a Kubernetes Secret), which
/// an init container can run at every start, and which rotates the token when the secret
/// changes.
pub async fn install_token(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    scope: Scope,
    secret: &Secret,
    now: DateTime<Utc>,
) -> RenderResult<Installed> {
    validate_name(name)?;
    let existing = match store.get(&token_key(name)).await {
        Ok(bytes) => serde_json::from_slice::<TokenRecord>(&bytes).ok(),
        Err(err) if err.is_not_found() => None,
        Err(err) => return Err(err.into()),
    };
    let digest = digest_of(secret.expose());
    match existing {
        Some(record) if record.digest() == Some(digest) && record.scope == scope => {
            Ok(Installed::Unchanged)
        }
        Some(_) => {
            put_record(store, name, scope, secret, now).await?;
            Ok(Installed::Replaced)
        }
        None => {
            put_record(store, name, scope, secret, now).await?;
            Ok(Installed::Created)
        }
    }
}

/// Stores the record of token `name`: its scope, `now` and the hash of `secret`.
async fn put_record(
    store: &Arc<dyn ObjectStore>,
    name: &str,
    scope: Scope,
    secret: &Secret,
    now: DateTime<Utc>,
) -> RenderResult<TokenRecord> {
    let record = TokenRecord {
        name: name.to_owned(),
        scope,
        created_at: now,
        sha256: hex(&digest_of(secret.expose())),
    };
    let body = serde_json::to_vec(&record)
        .map_err(|err| RenderError::Internal(format!("cannot encode a token record: {err}")))?;
    store.put(&token_key(name), Bytes::from(body)).await?;
    Ok(record)
}

/// Lists every token's record, by name. A record that cannot be read as one is skipped with a
/// warning, so one bad object does not lock everybody out.
pub async fn list_tokens(store: &Arc<dyn ObjectStore>) -> RenderResult<Vec<TokenRecord>> {
    let mut records = Vec::new();
    for object in store.list(TOKENS_PREFIX).await? {
        let bytes = match store.get(&object.key).await {
            Ok(bytes) => bytes,
            // Revoked between the listing and the read.
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err.into()),
        };
        match serde_json::from_slice::<TokenRecord>(&bytes) {
            Ok(record) if record.digest().is_some() && token_key(&record.name) == object.key => {
                records.push(record)
            }
            Ok(_) => {
                tracing::warn!(key = %object.key, "skipping a token record with a bad name or hash")
            }
            Err(err) => {
                tracing::warn!(key = %object.key, error = %err, "skipping an unreadable token record")
            }
        }
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(records)
}

/// Revokes token `name` by deleting its record; `NotFound` if there is none.
pub async fn revoke_token(store: &Arc<dyn ObjectStore>, name: &str) -> RenderResult<()> {
    validate_name(name)?;
    let key = token_key(name);
    match store.get(&key).await {
        Ok(_) => Ok(store.delete(&key).await?),
        Err(err) if err.is_not_found() => {
            Err(RenderError::NotFound(format!("no token named {name:?}")))
        }
        Err(err) => Err(err.into()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use heatpipe_io::store::MemoryStore;

    fn memory() -> Arc<dyn ObjectStore> {
        Arc::new(MemoryStore::new())
    }

    #[test]
    fn secrets_are_prefixed_random_and_never_shown_by_debug() {
        let a = Secret::generate().expect("secret");
        let b = Secret::generate().expect("secret");
        assert!(a.expose().starts_with("hp_"));
        assert_eq!(a.expose().len(), 3 + 43);
        assert_ne!(a.expose(), b.expose());
        assert!(!format!("{a:?}").contains(&a.expose()[3..]));
    }

    #[test]
    fn names_are_checked() {
        for good in ["ci", "alice-laptop", "a_1", &"x".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "A", "a/b", "a.json", "é", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn create_list_revoke_keeps_only_the_hash() {
        let store = memory();
        let now = Utc::now();
        let (record, secret) = create_token(&store, "ci", Scope::Read, now)
            .await
            .expect("create");
        assert_eq!(record.digest(), Some(digest_of(secret.expose())));
        let stored = store.get(&token_key("ci")).await.expect("stored");
        let text = String::from_utf8_lossy(&stored);
        assert!(
            !text.contains(secret.expose()),
            "the secret is not stored: {text}"
        );
        assert!(!format!("{record:?}").contains(&record.sha256));
        assert!(matches!(
            create_token(&store, "ci", Scope::Admin, now).await,
            Err(RenderError::Conflict(_))
        ));
        create_token(&store, "ops", Scope::Admin, now)
            .await
            .expect("create");
        store
            .put("auth/tokens/junk.json", Bytes::from_static(b"{"))
            .await
            .expect("put");
        let names: Vec<(String, Scope)> = list_tokens(&store)
            .await
            .expect("list")
            .into_iter()
            .map(|r| (r.name, r.scope))
            .collect();
        assert_eq!(
            names,
            [
                ("ci".to_owned(), Scope::Read),
                ("ops".to_owned(), Scope::Admin)
            ]
        );
        revoke_token(&store, "ci").await.expect("revoke");
        assert!(matches!(
            revoke_token(&store, "ci").await,
            Err(RenderError::NotFound(_))
        ));
        assert_eq!(list_tokens(&store).await.expect("list").len(), 1);
    }

    #[tokio::test]
    async fn a_secret_from_outside_installs_idempotently_and_rotates() {
        let store = memory();
        let now = Utc::now();
        for weak in [
            "hp_short",
            "password",
            "hp_",
            &format!("xx_{}", &Secret::generate().expect("secret").expose()[3..]),
        ] {
            assert!(Secret::parse(weak).is_err(), "{weak}");
        }
        let first = Secret::parse(Secret::generate().expect("secret").expose()).expect("parse");
        let install = |secret: &Secret, scope| {
            let (store, secret) = (store.clone(), Secret(secret.expose().to_owned()));
            async move {
                install_token(&store, "cluster", scope, &secret, now)
                    .await
                    .expect("install")
            }
        };
        assert_eq!(install(&first, Scope::Admin).await, Installed::Created);
        assert_eq!(install(&first, Scope::Admin).await, Installed::Unchanged);
        assert_eq!(install(&first, Scope::Read).await, Installed::Replaced);
        let second = Secret::generate().expect("secret");
        assert_eq!(install(&second, Scope::Read).await, Installed::Replaced);
        let records = list_tokens(&store).await.expect("list");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].digest(), Some(digest_of(second.expose())));
    }

    #[test]
    fn admin_allows_read_and_read_does_not_allow_admin() {
        assert!(Scope::Admin.allows(Scope::Read));
        assert!(Scope::Admin.allows(Scope::Admin));
        assert!(Scope::Read.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Admin));
    }
}
