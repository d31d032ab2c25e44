//! Who may read: API tokens (`read` or `admin`) kept as hashes in the store, the read side's
//! cached view of them, and signed, expiring share links. Nothing here knows HTTP; the routes
//! turn its answers into 401 and 403 (`routes::auth`).
//!
//! # Layout
//! - [`tokens`] — the secret's format, its hash, and the records under `auth/tokens/`.
//! - [`cache`] — the token list as a replica holds it, and the decision for one request.
//! - [`share`] — share links, their HMAC, and the key at `auth/share-key`.

pub mod cache;
pub mod share;
pub mod tokens;

pub use cache::{Caller, TokenCache};
pub use share::{ShareKeyCache, ShareKind, ShareLink};
pub use tokens::{
    Installed, Scope, Secret, TokenRecord, create_token, install_token, list_tokens, revoke_token,
};
