//! Scroll depth: how far down each page view reached, as histograms in pixels and in percent of
//! the page, with the curves of views that reached at least each depth; and where the fold
//! lies, as a histogram of viewport heights at load with its percentiles.

use serde::{Deserialize, Serialize};

use super::grid::MAX_GRID_HEIGHT_PX;

/// Height of one scroll-depth histogram bucket in CSS pixels.
pub const SCROLL_BUCKET_PX: u32 = 10;
/// Width of one bucket of the viewport-height (fold) histogram in CSS pixels.
pub const FOLD_BUCKET_PX: u32 = 8;
/// Viewports taller than this are counted in the fold histogram's last bucket.
pub const MAX_FOLD_PX: u32 = 8_192;

/// How deep page views reached: histograms of each view's deepest point.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrollDepth {
    /// Views whose deepest point (bottom of the viewport) fell in bucket `i` of `SCROLL_BUCKET_PX`.
    pub deepest_px: Vec<u64>,
    /// Views of known document height whose deepest point was `i` percent of the page (0..=100).
    pub deepest_percent: Vec<u64>,
    pub views: u64,
    pub views_with_height: u64,
    /// Sum of the viewport heights at load, for the average fold.
    pub fold_px_sum: u64,
    /// Views whose viewport height at load fell in bucket `i` of `FOLD_BUCKET_PX` (the last
    /// bucket holds every height from `MAX_FOLD_PX` on), for the fold's percentiles.
    pub fold_histogram: Vec<u64>,
}

impl ScrollDepth {
    /// Records one page view that reached `depth_px`, on a document `document_height_px` tall
    /// (0 if unknown) seen through a viewport `fold_px` tall.
    pub fn add_view(&mut self, depth_px: u32, document_height_px: u32, fold_px: u32) {
        let depth_px = depth_px.min(MAX_GRID_HEIGHT_PX);
        let bucket = (depth_px / SCROLL_BUCKET_PX) as usize;
        if self.deepest_px.len() <= bucket {
            self.deepest_px.resize(bucket + 1, 0);
        }
        self.deepest_px[bucket] += 1;
        self.views += 1;
        self.fold_px_sum += u64::from(fold_px);
        let fold_bucket = (fold_px.min(MAX_FOLD_PX) / FOLD_BUCKET_PX) as usize;
        if self.fold_histogram.len() <= fold_bucket {
            self.fold_histogram.resize(fold_bucket + 1, 0);
        }
        self.fold_histogram[fold_bucket] += 1;
        if document_height_px > 0 {
            let percent =
                (u64::from(depth_px) * 100 / u64::from(document_height_px)).min(100) as usize;
            if self.deepest_percent.len() < 101 {
                self.deepest_percent.resize(101, 0);
            }
            self.deepest_percent[percent] += 1;
            self.views_with_height += 1;
        }
    }

    /// Adds `other`'s views into this one.
    pub fn merge(&mut self, other: &ScrollDepth) {
        add_vectors(&mut self.deepest_px, &other.deepest_px);
        add_vectors(&mut self.deepest_percent, &other.deepest_percent);
        self.views += other.views;
        self.views_with_height += other.views_with_height;
        self.fold_px_sum += other.fold_px_sum;
        add_vectors(&mut self.fold_histogram, &other.fold_histogram);
    }

    /// Returns, for each bucket start in pixels, how many views reached at least that deep.
    pub fn reached_px(&self) -> Vec<(u32, u64)> {
        suffix_sums(&self.deepest_px)
            .into_iter()
            .enumerate()
            .map(|(bucket, reached)| (bucket as u32 * SCROLL_BUCKET_PX, reached))
            .collect()
    }

    /// Returns, for each percent 0..=100, how many views of known height reached at least that.
    pub fn reached_percent(&self) -> Vec<(u32, u64)> {
        if self.views_with_height == 0 {
            return Vec::new();
        }
        let mut histogram = self.deepest_percent.clone();
        histogram.resize(101, 0);
        suffix_sums(&histogram)
            .into_iter()
            .enumerate()
            .map(|(p, n)| (p as u32, n))
            .collect()
    }

    /// Returns the average viewport height at load, in pixels.
    pub fn average_fold_px(&self) -> u32 {
        self.fold_px_sum.checked_div(self.views).unwrap_or(0) as u32
    }

    /// Returns the `percent` percentile (nearest rank, 0..=100) of the viewport heights at
    /// load, rounded down to its `FOLD_BUCKET_PX` bucket; None without views. At least
    /// `percent` % of the views had a viewport this tall or shorter (to the bucket).
    pub fn fold_percentile_px(&self, percent: u32) -> Option<u32> {
        let total: u64 = self.fold_histogram.iter().sum();
        if total == 0 {
            return None;
        }
        // Nearest rank: the smallest height with at least ⌈p/100 · n⌉ views at or below it.
        let rank = (u64::from(percent.min(100)) * total).div_ceil(100).max(1);
        let mut seen = 0;
        self.fold_histogram
            .iter()
            .enumerate()
            .find_map(|(bucket, &count)| {
                seen += count;
                (seen >= rank).then_some(bucket as u32 * FOLD_BUCKET_PX)
            })
    }
}

fn add_vectors(target: &mut Vec<u64>, source: &[u64]) {
    if target.len() < source.len() {
        target.resize(source.len(), 0);
    }
    for (t, s) in target.iter_mut().zip(source) {
        *t += s;
    }
}

fn suffix_sums(histogram: &[u64]) -> Vec<u64> {
    let mut sums = vec![0u64; histogram.len()];
    let mut running = 0;
    for (index, &count) in histogram.iter().enumerate().rev() {
        running += count;
        sums[index] = running;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scroll_reach_counts_views_at_least_that_deep() {
        let mut depth = ScrollDepth::default();
        depth.add_view(800, 4000, 800);
        depth.add_view(2000, 4000, 800);
        depth.add_view(4000, 4000, 800);
        let reached = depth.reached_px();
        assert_eq!(reached[0], (0, 3));
        assert_eq!(reached[80], (800, 3));
        assert_eq!(reached[81], (810, 2));
        assert_eq!(reached[200], (2000, 2));
        assert_eq!(reached[201], (2010, 1));
        let percent = depth.reached_percent();
        assert_eq!(percent[20], (20, 3));
        assert_eq!(percent[21], (21, 2));
        assert_eq!(percent[51], (51, 1));
        assert_eq!(percent[100], (100, 1));
        assert_eq!(depth.average_fold_px(), 800);
    }

    fn with_folds(folds: &[u32]) -> ScrollDepth {
        let mut depth = ScrollDepth::default();
        for &fold in folds {
            depth.add_view(fold, 0, fold);
        }
        depth
    }

    #[test]
    fn fold_percentiles_are_nearest_ranks_of_the_viewport_heights() {
        // Ten views: 4 phones at 640, 3 laptops at 800, 2 desktops at 1000, one 1200 tall.
        let depth = with_folds(&[800, 640, 1000, 640, 800, 1200, 640, 800, 640, 1000]);
        let p = |percent| depth.fold_percentile_px(percent);
        // Ranks ⌈2.5⌉ = 3 (a phone), 5 (a laptop), ⌈7.5⌉ = 8 (a desktop).
        assert_eq!((p(25), p(50), p(75)), (Some(640), Some(800), Some(1000)));
        assert_eq!(
            (p(0), p(40), p(41), p(100)),
            (Some(640), Some(640), Some(800), Some(1200))
        );
        // Heights are rounded down to their 8 px bucket; beyond the cap into the last one.
        let odd = with_folds(&[803, 20_000]);
        assert_eq!(odd.fold_percentile_px(50), Some(800));
        assert_eq!(odd.fold_percentile_px(100), Some(MAX_FOLD_PX));
        assert_eq!(ScrollDepth::default().fold_percentile_px(50), None);
    }

    #[test]
    fn merged_fold_percentiles_are_the_percentiles_of_the_union() {
        let a: Vec<u32> = (0..37).map(|i| 560 + i * 53 % 700).collect();
        let b: Vec<u32> = (0..23).map(|i| 300 + i * 97 % 1500).collect();
        let mut merged = with_folds(&a);
        merged.merge(&with_folds(&b));
        let union = with_folds(&[a.clone(), b.clone()].concat());
        assert_eq!(merged, union);
        // Reference: sort every height (to its bucket) and take the nearest rank.
        let mut heights: Vec<u32> = a.iter().chain(&b).map(|h| h / 8 * 8).collect();
        heights.sort_unstable();
        for percent in [1, 25, 50, 75, 99, 100] {
            let rank = (percent as usize * heights.len()).div_ceil(100);
            assert_eq!(
                merged.fold_percentile_px(percent),
                Some(heights[rank - 1]),
                "p{percent}"
            );
        }
    }
}
