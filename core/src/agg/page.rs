//! One page's aggregates per segment of its visitors ([`SegmentAgg`], [`PageAgg`]), and their
//! `.hpa` file (`agg/{site}/{date}/page/{page_key}.hpa`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::attention::Attention;
use super::elements::{ElementAgg, keep_top_elements};
use super::grid::{GRID_CELL_PX, Grid};
use super::scroll_depth::ScrollDepth;
use crate::error::FormatError;
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};

const PAGE_AGG_KIND: FrameKind = FrameKind {
    magic: *b"HPAP",
    version: 3,
    // Version 2 changed the stored fields, and version 3 added the attention map and the fold
    // histogram: an older file is refused as outdated (process the day again), not misread as
    // corrupt.
    oldest_version: 3,
    name: "page aggregate",
    zstd_level: FRAME_ZSTD_LEVEL,
};
/// Everything known of one page for one segment of its visitors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentAgg {
    pub views: u64,
    pub sessions: u64,
    pub clicks: u64,
    pub moves: u64,
    pub scrolls: u64,
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    pub max_document_width_px: u32,
    pub max_document_height_px: u32,
    pub click_grid: Grid,
    pub move_grid: Grid,
    pub scroll: ScrollDepth,
    /// The most clicked elements, by selector.
    pub elements: BTreeMap<String, ElementAgg>,
    /// How long each band of rows was in view.
    pub attention: Attention,
}

impl SegmentAgg {
    /// Adds `other` into this segment.
    pub fn merge(&mut self, other: &SegmentAgg) {
        self.views += other.views;
        self.sessions += other.sessions;
        self.clicks += other.clicks;
        self.moves += other.moves;
        self.scrolls += other.scrolls;
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        self.max_document_width_px = self.max_document_width_px.max(other.max_document_width_px);
        self.max_document_height_px = self
            .max_document_height_px
            .max(other.max_document_height_px);
        self.click_grid.merge(&other.click_grid);
        self.move_grid.merge(&other.move_grid);
        self.scroll.merge(&other.scroll);
        for (selector, element) in &other.elements {
            self.elements
                .entry(selector.clone())
                .or_default()
                .merge(element);
        }
        keep_top_elements(&mut self.elements);
        self.attention.merge(&other.attention);
    }
}

/// One page's aggregates for one day (or a merged range), by segment key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageAgg {
    pub url: String,
    pub key: String,
    /// Grid cell side in CSS pixels.
    pub cell_px: u32,
    pub segments: BTreeMap<String, SegmentAgg>,
}

impl PageAgg {
    pub fn new(url: String, key: String) -> Self {
        PageAgg {
            url,
            key,
            cell_px: GRID_CELL_PX,
            segments: BTreeMap::new(),
        }
    }

    /// Adds every segment of `other` into this page.
    pub fn merge(&mut self, other: &PageAgg) {
        for (segment, agg) in &other.segments {
            self.segments.entry(segment.clone()).or_default().merge(agg);
        }
    }

    /// Returns the sum of the segments whose keys `select` accepts (see
    /// [`crate::segment::SegmentFilter`]).
    pub fn combined(&self, select: impl Fn(&str) -> bool) -> SegmentAgg {
        let mut total = SegmentAgg::default();
        for (segment, agg) in &self.segments {
            if select(segment) {
                total.merge(agg);
            }
        }
        total
    }

    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        encode_frame(PAGE_AGG_KIND, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let agg: PageAgg = decode_frame(PAGE_AGG_KIND, bytes)?;
        let grids = agg
            .segments
            .values()
            .flat_map(|s| [&s.click_grid, &s.move_grid]);
        if agg.cell_px != GRID_CELL_PX || !grids.into_iter().all(Grid::is_consistent) {
            return Err(FormatError::Header(
                "grid dimensions do not match its cells".into(),
            ));
        }
        Ok(agg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_aggregates_round_trip_and_reject_inconsistent_grids() {
        let mut page = PageAgg::new("https://a.example/".into(), "k".into());
        let segment = page
            .segments
            .entry("device=desktop&width=1280".into())
            .or_default();
        segment.click_grid.add(100, 200);
        segment.scroll.add_view(900, 0, 900);
        segment.attention.band_ms = vec![1_000, 0, 250];
        segment.attention.views = 1;
        let bytes = page.encode().expect("encode");
        assert_eq!(PageAgg::decode(&bytes).expect("decode"), page);

        let mut broken = page.clone();
        if let Some(segment) = broken.segments.values_mut().next() {
            segment.click_grid.cols += 1;
        }
        assert!(PageAgg::decode(&broken.encode().expect("encode")).is_err());
    }

    #[test]
    fn older_page_aggregates_are_outdated_not_corrupt() {
        let page = PageAgg::new("https://a.example/".into(), "k".into());
        for version in [1, 2] {
            let older = FrameKind {
                version,
                ..PAGE_AGG_KIND
            };
            let bytes = encode_frame(older, &page).expect("encode");
            assert!(
                matches!(
                    PageAgg::decode(&bytes),
                    Err(FormatError::Outdated { version: v, .. }) if v == version
                ),
                "version {version}"
            );
        }
    }
}
