//! The I/O pipeline that drives the aggregation core: lists a day's chunks, fetches them a
//! window at a time, aggregates each window on the rayon pool, finishes sessions as they end,
//! spills what a day of several passes finishes, and writes the day's outputs (or a shard's
//! partial, which `merge` adds up).

pub(crate) mod ends;
pub mod fetch;
pub(crate) mod objects;
pub(crate) mod output;
pub mod partition;
pub(crate) mod pass;
pub mod replay;
pub mod report;
pub mod rrweb;
pub mod run;
pub mod shard;
pub(crate) mod spill;
pub(crate) mod windows;
