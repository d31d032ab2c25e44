//! heatpipe-io: how heatpipe's async parts meet the world — the object stores that hold every
//! chunk, aggregate and index; the hand-off of CPU work from the async runtime to a thread that
//! may block; and (feature `http`) the JSON error shape of the collector's and renderer's HTTP
//! servers. The formats those bytes are in live in `heatpipe-core`, which does no I/O.
//!
//! # Layout
//! - [`store`] — the `ObjectStore` trait with local, memory and S3 backends, the `RetryStore`
//!   wrapper that every opened store comes in, and the conformance suite they all pass (feature
//!   `conformance`).
//! - [`blocking`] — [`on_blocking`] and [`on_rayon`]: CPU work run off the async runtime's threads.
//! - [`secret`] — secrets kept under `auth/` and the keyed hashes (HMAC-SHA256) made with them.
//! - `http` (feature `http`) — JSON error replies and warp's rejections as JSON.

pub mod blocking;
#[cfg(feature = "http")]
pub mod http;
pub mod secret;
pub mod store;

pub use blocking::{TaskFailed, on_blocking, on_rayon};
pub use store::{
    ObjectMeta, ObjectStore, RetrySettings, RetryStore, StoreError, StoreErrorKind, StoreLocation,
    StoreResult, open_store,
};
