//! Attention: for each band of page rows, how long it was inside visitors' viewports, summed
//! over page views (Ptengine's attention map, Hotjar's "average time" view).
//!
//! A page view's active time (see [`crate::activity`]: inactive gaps of 3 s or more left out)
//! is cut into *viewport stays*: stretches during which the viewport stood at one scroll
//! offset with one height. A stay of `ms` at offset `y` with height `h` adds `ms` to every band
//! of [`ATTENTION_BAND_PX`] rows that rows `y..y + h` touch. [`AttentionSums`] adds stays in
//! O(1) each into a difference array, and one prefix sum turns it into an [`Attention`], which
//! is what the page aggregate stores and merges by addition.

use serde::{Deserialize, Serialize};

use super::grid::MAX_GRID_HEIGHT_PX;

/// Height of one attention band in CSS pixels.
pub const ATTENTION_BAND_PX: u32 = 10;
/// No band starts below this, whatever a hostile scroll offset or document height says.
pub const MAX_ATTENTION_HEIGHT_PX: u32 = MAX_GRID_HEIGHT_PX;

/// Milliseconds per band summed over page views, and the page views counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    /// Band `i` covers page rows `i * ATTENTION_BAND_PX ..` `(i + 1) * ATTENTION_BAND_PX`.
    pub band_ms: Vec<u64>,
    pub views: u64,
}

impl Attention {
    /// Adds `other`'s views into this one.
    pub fn merge(&mut self, other: &Attention) {
        if self.band_ms.len() < other.band_ms.len() {
            self.band_ms.resize(other.band_ms.len(), 0);
        }
        for (target, ms) in self.band_ms.iter_mut().zip(&other.band_ms) {
            *target += ms;
        }
        self.views += other.views;
    }

    /// Returns the seconds band `band` was in view, per page view (0 without views).
    pub fn seconds_per_view(&self, band: usize) -> f64 {
        match (self.band_ms.get(band), self.views) {
            (Some(&ms), views) if views > 0 => ms as f64 / 1000.0 / views as f64,
            _ => 0.0,
        }
    }

    /// Returns the highest seconds per view of any band.
    pub fn peak_seconds_per_view(&self) -> f64 {
        let peak = self.band_ms.iter().copied().max().unwrap_or(0);
        if self.views == 0 {
            0.0
        } else {
            peak as f64 / 1000.0 / self.views as f64
        }
    }
}

/// A stretch of active time during which the viewport stood at scroll offset `y_px` with height
/// `height_px`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewportStay {
    pub y_px: i32,
    pub height_px: u32,
    pub ms: u32,
}

/// How far down a view's stays count: its document height when known (the deepest point its
/// viewport reached otherwise), at most [`MAX_ATTENTION_HEIGHT_PX`].
pub fn attention_limit_px(document_height_px: u32, deepest_px: u32) -> u32 {
    let page = if document_height_px > 0 {
        document_height_px
    } else {
        deepest_px
    };
    page.min(MAX_ATTENTION_HEIGHT_PX)
}

/// Stays being added up: a difference array over the bands (`diff[i]` is band `i`'s sum less
/// band `i - 1`'s, in wrapping arithmetic; every prefix sum is a real, non-negative sum).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttentionSums {
    diff: Vec<u64>,
    views: u64,
}

impl AttentionSums {
    /// Counts one page view (its stays are added with [`AttentionSums::add_stay`]).
    pub fn add_view(&mut self) {
        self.views += 1;
    }

    /// Adds `stay` to the bands its rows touch above `limit_px` (see [`attention_limit_px`]).
    /// A negative offset (an overscroll) counts as the top, as scroll depth counts it.
    pub fn add_stay(&mut self, stay: ViewportStay, limit_px: u32) {
        let limit_px = limit_px.min(MAX_ATTENTION_HEIGHT_PX);
        let top = u32::try_from(stay.y_px).unwrap_or(0);
        let bottom = top.saturating_add(stay.height_px).min(limit_px);
        if stay.ms == 0 || bottom <= top {
            return;
        }
        let first = (top / ATTENTION_BAND_PX) as usize;
        let end = bottom.div_ceil(ATTENTION_BAND_PX) as usize;
        if self.diff.len() <= end {
            self.diff.resize(end + 1, 0);
        }
        let ms = u64::from(stay.ms);
        self.diff[first] = self.diff[first].wrapping_add(ms);
        self.diff[end] = self.diff[end].wrapping_sub(ms);
    }

    /// Adds `other`'s stays and views into these.
    pub fn merge(&mut self, other: &AttentionSums) {
        if self.diff.len() < other.diff.len() {
            self.diff.resize(other.diff.len(), 0);
        }
        for (target, d) in self.diff.iter_mut().zip(&other.diff) {
            *target = target.wrapping_add(*d);
        }
        self.views += other.views;
    }

    /// Returns the sums per band: down to the lowest band a stay reached.
    pub fn finish(&self) -> Attention {
        let bands = self.diff.len().saturating_sub(1);
        let mut running = 0u64;
        let band_ms = self.diff[..bands]
            .iter()
            .map(|d| {
                running = running.wrapping_add(*d);
                running
            })
            .collect();
        Attention {
            band_ms,
            views: self.views,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stay(y_px: i32, height_px: u32, ms: u32) -> ViewportStay {
        ViewportStay {
            y_px,
            height_px,
            ms,
        }
    }

    #[test]
    fn stays_add_their_time_to_every_band_they_touch() {
        let mut sums = AttentionSums::default();
        sums.add_view();
        // Rows 0..30: bands 0, 1, 2 for 1 s.
        sums.add_stay(stay(0, 30, 1_000), 4_000);
        // Rows 25..45 touch bands 2, 3 and 4: 0.5 s.
        sums.add_stay(stay(25, 20, 500), 4_000);
        sums.add_view();
        // A negative offset (an overscroll) starts at the top; rows 0..15: bands 0 and 1.
        sums.add_stay(stay(-40, 15, 250), 4_000);
        let attention = sums.finish();
        assert_eq!(attention.band_ms, [1_250, 1_250, 1_500, 500, 500]);
        assert_eq!(attention.views, 2);
        assert_eq!(attention.seconds_per_view(2), 0.75);
        assert_eq!(attention.seconds_per_view(9), 0.0);
        assert_eq!(attention.peak_seconds_per_view(), 0.75);
    }

    #[test]
    fn the_page_height_bounds_the_bands_whatever_the_scroll_offset() {
        let mut sums = AttentionSums::default();
        // Below the page's 100 px: nothing; straddling it: up to row 100 only.
        sums.add_stay(stay(200, 800, 1_000), 100);
        sums.add_stay(stay(85, 800, 1_000), 100);
        // A hostile offset and height: no band past the bound.
        sums.add_stay(stay(i32::MAX, u32::MAX, 7), u32::MAX);
        sums.add_stay(stay(0, u32::MAX, 3), u32::MAX);
        let attention = sums.finish();
        let bands = (MAX_ATTENTION_HEIGHT_PX / ATTENTION_BAND_PX) as usize + 1;
        assert_eq!(attention.band_ms.len(), bands);
        assert_eq!(attention.band_ms[..8], [3; 8]);
        assert_eq!(attention.band_ms[8..10], [1_003, 1_003]);
        assert_eq!(attention.band_ms[bands - 1], 3);
        assert_eq!(attention_limit_px(0, 2_000), 2_000);
        assert_eq!(attention_limit_px(3_000, 2_000), 3_000);
        assert_eq!(attention_limit_px(u32::MAX, 0), MAX_ATTENTION_HEIGHT_PX);
    }

    #[test]
    fn sums_merged_in_any_grouping_finish_to_the_same_attention() {
        let stays: Vec<ViewportStay> = (0..60u32)
            .map(|i| {
                stay(
                    (i * 37 % 900) as i32 - 20,
                    300 + i * 13 % 500,
                    100 + i * 71 % 900,
                )
            })
            .collect();
        let sum_of = |part: &[ViewportStay]| {
            let mut sums = AttentionSums::default();
            for s in part {
                sums.add_view();
                sums.add_stay(*s, 1_500);
            }
            sums
        };
        let whole = sum_of(&stays).finish();
        for split in [0, 1, 25, 59, 60] {
            let (a, b) = stays.split_at(split);
            let mut merged = sum_of(b);
            merged.merge(&sum_of(a));
            assert_eq!(merged.finish(), whole, "split at {split}");
            // Finished first, then merged: the same.
            let mut finished = sum_of(a).finish();
            finished.merge(&sum_of(b).finish());
            assert_eq!(finished, whole, "split at {split}");
        }
        // Reference: a band's time is the sum over the stays that touch it.
        for (band, &ms) in whole.band_ms.iter().enumerate() {
            let (top, bottom) = (band as i64 * 10, band as i64 * 10 + 10);
            let expected: u64 = stays
                .iter()
                .filter(|s| {
                    let from = i64::from(s.y_px.max(0));
                    let to = (from + i64::from(s.height_px)).min(1_500);
                    from < bottom && to > top && to > from
                })
                .map(|s| u64::from(s.ms))
                .sum();
            assert_eq!(ms, expected, "band {band}");
        }
    }
}
