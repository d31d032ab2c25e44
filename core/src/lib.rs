//! heatpipe-core: what the collector, processor and renderer share — the event model, the chunk
//! (`.hpc`), aggregate (`.hpa`) and session index (`.hps`) formats, the object stores, storage
//! keys, and the JSON error shape of every HTTP surface. Nothing here knows about servers' routes
//! or about aggregation.
//!
//! # Layout
//! - [`event`] — page views and their move / click / scroll / resize events.
//! - [`stream_ref`] — streams borrowed from a decoded block, as the processor reads them.
//! - [`codec`] — varints, zig-zag and a bounds-checked reader.
//! - [`chunk`] — the `.hpc` chunk format.
//! - [`frame`] — the framed container of `.hpa` and `.hps`.
//! - [`agg`] — grids, scroll depth, page aggregates and the page index (`.hpa`).
//! - [`session`] — the session index (`.hps`).
//! - [`session_reader`] — a session index read one session at a time.
//! - [`page`] — URL normalization and page keys.
//! - [`keys`] — storage keys, site names, dates.
//! - [`store`] — the `ObjectStore` trait with local, memory and S3 backends.
//! - [`http`] — JSON error responses.
//! - [`wire`] — the native batch JSON and its validation.

pub mod agg;
pub mod chunk;
pub mod codec;
pub mod event;
pub mod frame;
pub mod http;
pub mod keys;
pub mod page;
pub mod segment;
pub mod session;
pub mod session_reader;
pub mod signals;
pub mod store;
pub mod stream_ref;
pub mod wire;
