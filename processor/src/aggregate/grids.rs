//! What one stream adds to its page segment: its click, move and scroll counts, grids sized for
//! the largest page seen, and its clicks and moves in the grids. [`accumulate`] adds a stream at
//! once; [`PendingGrids`] queues the same additions and applies them a segment at a time.
//!
//! [`accumulate`]: crate::aggregate::accumulate::accumulate
//! [`PendingGrids`]: crate::aggregate::pending::PendingGrids

use heatpipe_core::agg::{PageAgg, SegmentAgg};
use heatpipe_core::stream_ref::StreamRef;

use crate::types::FastMap;

/// Returns segment `segment_name` of page `key` (whose URL is `url`), made if new.
pub(crate) fn segment_of<'p>(
    pages: &'p mut FastMap<String, PageAgg>,
    url: &str,
    key: &str,
    segment_name: &str,
) -> Option<&'p mut SegmentAgg> {
    if !pages.contains_key(key) {
        pages.insert(key.to_owned(), PageAgg::new(url.to_owned(), key.to_owned()));
    }
    let agg = pages.get_mut(key)?;
    if !agg.segments.contains_key(segment_name) {
        agg.segments
            .insert(segment_name.to_owned(), SegmentAgg::default());
    }
    agg.segments.get_mut(segment_name)
}

/// What streams add to their segment's counts, and the largest page they were seen on.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SegmentCounts {
    clicks: u64,
    moves: u64,
    scrolls: u64,
    max_document_width_px: u32,
    max_document_height_px: u32,
}

impl SegmentCounts {
    pub(crate) fn of(stream: &StreamRef<'_>) -> Self {
        let mut counts = SegmentCounts::default();
        counts.add(stream);
        counts
    }

    pub(crate) fn add(&mut self, stream: &StreamRef<'_>) {
        let page = &stream.page;
        self.clicks += stream.clicks.len() as u64;
        self.moves += stream.moves.len() as u64;
        self.scrolls += stream.scrolls.len() as u64;
        self.max_document_width_px = self.max_document_width_px.max(page.document_width_px);
        self.max_document_height_px = self.max_document_height_px.max(page.document_height_px);
    }

    /// Adds the counts to `segment` and sizes its grids for the largest page counted.
    pub(crate) fn add_to(&self, segment: &mut SegmentAgg) {
        let (width, height) = (self.max_document_width_px, self.max_document_height_px);
        // Grids cover the largest document seen (whatever order streams come in, so partials
        // merge to the same shape), sized once instead of regrowing as events arrive.
        segment.click_grid.reserve_page(width, height);
        segment.move_grid.reserve_page(width, height);
        segment.clicks += self.clicks;
        segment.moves += self.moves;
        segment.scrolls += self.scrolls;
        segment.max_document_width_px = segment.max_document_width_px.max(width);
        segment.max_document_height_px = segment.max_document_height_px.max(height);
    }
}

/// Adds a stream's clicks and moves to its segment's grids; returns how many fall outside them.
pub(crate) fn add_to_grids(segment: &mut SegmentAgg, stream: &StreamRef<'_>) -> u64 {
    let mut outside = 0;
    for click in stream.clicks {
        outside += u64::from(!segment.click_grid.add(click.x, click.y));
    }
    for point in stream.moves {
        outside += u64::from(!segment.move_grid.add(point.x, point.y));
    }
    outside
}
