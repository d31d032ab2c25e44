//! The pure aggregation core: streams in, page aggregates and session summaries out, with no
//! I/O, no runtime and no store. Everything here adds up (partials merge by addition, sessions
//! are finished one at a time) and is tested alone, on rayon at most.

pub mod accumulate;
mod attention;
pub mod finalize;
mod grids;
pub(crate) mod pending;
pub(crate) mod segments;
pub mod summary;
pub mod view;
