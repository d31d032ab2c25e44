//! heatpipe-core: what the collector, processor and renderer share — the event model, the chunk
//! (`.hpc`), aggregate (`.hpa`) and session index (`.hps`) formats, storage keys and the native
//! batch's validation. It does no I/O (the stores are in `heatpipe-io`), so the formats build,
//! test and fuzz alone; nothing here knows about servers' routes or about aggregation.
//!
//! # Layout
//! - [`event`] — page views and their move / click / scroll / resize events.
//! - [`activity`] — active time: a view's span less its inactive gaps, batch by batch.
//! - [`stream_ref`] — streams borrowed from a decoded block, as the processor reads them.
//! - [`codec`] — varints, zig-zag and a bounds-checked reader.
//! - [`error`] — `FormatError`: why stored bytes of any format could not be read or written.
//! - [`chunk`] — the `.hpc` chunk format.
//! - [`frame`] — the framed container of `.hpa` and `.hps`.
//! - [`agg`] — grids, scroll depth, element counts, page aggregates and the page index (`.hpa`).
//! - [`segment`] — segment keys (device, width, visitor, tags) and the filters that sum them.
//! - [`signals`] — frustration signals: rage and dead clicks, excessive scrolling, quick backs.
//! - [`session`] — the session index (`.hps`).
//! - [`session_reader`] — a session index read one session at a time.
//! - [`page`] — URL normalization and page keys.
//! - [`rrweb`] — rrweb batches kept in viewport terms, and a session's conversion to streams.
//! - [`replay`] — DOM session replay: the collector's masking of rrweb recordings.
//! - [`keys`] — storage keys, site names, dates.
//! - [`wire`] — the native batch JSON and its validation.

pub mod activity;
pub mod agg;
pub mod chunk;
pub mod codec;
pub mod error;
pub mod event;
pub mod frame;
pub mod keys;
pub mod page;
pub mod replay;
pub mod rrweb;
pub mod segment;
pub mod session;
pub mod session_reader;
pub mod signals;
pub mod stream_ref;
pub mod wire;
