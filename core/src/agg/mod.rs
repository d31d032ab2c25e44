//! The `.hpa` aggregate formats: per page and segment, click and move grids, a scroll-depth
//! histogram, an attention map and counts; plus the day's page index. Everything merges by
//! addition, so a date range is the sum of its days and a shard's partial result merges the
//! same way.
//!
//! # Layout
//! - [`grid`] — click and move density grids, and the packed cell a point falls in.
//! - [`scroll_depth`] — how deep page views reached, in pixels and in percent of the page, and
//!   the fold's percentiles.
//! - [`attention`] — how long each band of page rows was in visitors' viewports.
//! - [`elements`] — clicks per element and where inside its box they landed.
//! - [`page`] — a page's aggregates per segment, and their `.hpa` encoding.
//! - [`page_index`] — the day's page index and its `.hpa` encoding.

pub mod attention;
pub mod elements;
pub mod grid;
pub mod page;
pub mod page_index;
pub mod scroll_depth;

pub use attention::{
    ATTENTION_BAND_PX, Attention, AttentionSums, MAX_ATTENTION_HEIGHT_PX, ViewportStay,
    attention_limit_px,
};
pub use elements::{ElementAgg, INSIDE_BINS, MAX_ELEMENTS_PER_SEGMENT, keep_top_elements};
pub use grid::{Cell, GRID_CELL_PX, Grid, MAX_GRID_HEIGHT_PX, MAX_GRID_WIDTH_PX};
pub use page::{PageAgg, SegmentAgg};
pub use page_index::{PageIndex, PageSummary};
pub use scroll_depth::{FOLD_BUCKET_PX, MAX_FOLD_PX, SCROLL_BUCKET_PX, ScrollDepth};
