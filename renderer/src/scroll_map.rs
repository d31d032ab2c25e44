//! Scroll maps: every row of the page coloured by the share of page views that reached it,
//! with the fold's percentiles drawn as lines (drawn by [`crate::band_map`]), and the
//! scroll-depth report.

use heatpipe_core::agg::{SCROLL_BUCKET_PX, ScrollDepth, SegmentAgg};
use serde::Serialize;

use crate::attention_map::{AttentionReport, attention_report};
use crate::band_map::{BandLine, render_band_map};
use crate::png::{IndexedImage, Palette};

/// Returns, for each pixel row of a page `height_px` tall, the share of views that reached it.
pub fn reach_by_row(scroll: &ScrollDepth, height_px: u32) -> Vec<f32> {
    if scroll.views == 0 {
        return vec![0.0; height_px as usize];
    }
    let reached = scroll.reached_px();
    (0..height_px)
        .map(|y| {
            let bucket = (y / SCROLL_BUCKET_PX) as usize;
            reached
                .get(bucket)
                .map_or(0.0, |(_, views)| *views as f32 / scroll.views as f32)
        })
        .collect()
}

/// Returns the fold's lines: its 25th and 75th percentiles dashed, its median solid (none
/// without views).
pub fn fold_lines(scroll: &ScrollDepth) -> Vec<BandLine> {
    [(25, false), (75, false), (50, true)]
        .into_iter()
        .filter_map(|(percent, solid)| {
            let y_px = scroll.fold_percentile_px(percent)?;
            Some(BandLine { y_px, solid })
        })
        .collect()
}

/// Renders the scroll map: each row by the share of views that reached it, with the fold's
/// median (solid) and quartiles (dashed) marked.
pub fn render_scroll_map(
    scroll: &ScrollDepth,
    width_px: u32,
    height_px: u32,
    palette: Palette,
    opacity: f32,
) -> IndexedImage {
    let shares = reach_by_row(scroll, height_px);
    render_band_map(&shares, width_px, palette, opacity, &fold_lines(scroll))
}

/// One point of the reach curve.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReachPoint {
    /// Depth in pixels (`depth_px`) or in percent of the page (`percent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_px: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// Page views that reached at least this deep.
    pub views: u64,
    /// `views` over all page views of the curve.
    pub share: f64,
}

/// The fold's percentiles (nearest rank of the viewport heights at load, to 8 px); null
/// without views.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FoldPercentiles {
    pub p25: Option<u32>,
    pub p50: Option<u32>,
    pub p75: Option<u32>,
}

/// The `scroll-depth` answer.
#[derive(Debug, Clone, Serialize)]
pub struct ScrollDepthReport {
    pub views: u64,
    pub views_with_height: u64,
    pub average_fold_px: u32,
    pub fold_px: FoldPercentiles,
    /// Reach every `SCROLL_BUCKET_PX`, down to the deepest view.
    pub reached_px: Vec<ReachPoint>,
    /// Reach per percent of the page, for views whose document height is known.
    pub reached_percent: Vec<ReachPoint>,
    /// The attention map's numbers, for its legend.
    pub attention: AttentionReport,
}

/// Builds the scroll-depth report of `segment`: its scroll depth and its attention.
pub fn scroll_depth_report(segment: &SegmentAgg) -> ScrollDepthReport {
    let scroll = &segment.scroll;
    let share = |views: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            views as f64 / of as f64
        }
    };
    ScrollDepthReport {
        views: scroll.views,
        views_with_height: scroll.views_with_height,
        average_fold_px: scroll.average_fold_px(),
        fold_px: FoldPercentiles {
            p25: scroll.fold_percentile_px(25),
            p50: scroll.fold_percentile_px(50),
            p75: scroll.fold_percentile_px(75),
        },
        reached_px: scroll
            .reached_px()
            .into_iter()
            .map(|(depth_px, views)| ReachPoint {
                depth_px: Some(depth_px),
                percent: None,
                views,
                share: share(views, scroll.views),
            })
            .collect(),
        reached_percent: scroll
            .reached_percent()
            .into_iter()
            .map(|(percent, views)| ReachPoint {
                depth_px: None,
                percent: Some(percent),
                views,
                share: share(views, scroll.views_with_height),
            })
            .collect(),
        attention: attention_report(&segment.attention),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::band_map::{FOLD_COLOUR, FOLD_QUARTILE_COLOUR};

    #[test]
    fn rows_are_coloured_by_reach_and_the_fold_is_marked() {
        let mut scroll = ScrollDepth::default();
        scroll.add_view(800, 3000, 800);
        scroll.add_view(2000, 3000, 800);
        let image = render_scroll_map(&scroll, 10, 3000, Palette::Classic, 1.0);
        let at = |y: u32| image.rgba_at(5, y);
        assert_eq!(at(100)[..3], Palette::Classic.colour(1.0));
        // Shares are drawn in 252 steps: half the views is within one step of the ramp's middle.
        let half = Palette::Classic.colour(0.5);
        assert!(
            at(1500)[..3]
                .iter()
                .zip(half)
                .all(|(got, want)| got.abs_diff(want) <= 3),
            "{:?} is the middle of the ramp, {half:?}",
            at(1500)
        );
        assert_eq!(at(2500)[3], 0, "nobody reached 2500 px");
        assert_eq!(
            at(800),
            FOLD_COLOUR,
            "every percentile of the fold is at 800 px"
        );
        let report = scroll_depth_report(&SegmentAgg {
            scroll: scroll.clone(),
            ..SegmentAgg::default()
        });
        assert_eq!((report.views, report.average_fold_px), (2, 800));
        assert_eq!(report.reached_percent[50].share, 0.5);
    }

    #[test]
    fn the_fold_median_is_solid_and_its_quartiles_dashed() {
        // Viewports at load of 600, 600, 704, 896 and 896 px (multiples of the 8 px buckets): nearest ranks 2, 3 and 4 give
        // p25 600, p50 704 and p75 896.
        let mut scroll = ScrollDepth::default();
        for fold in [896, 600, 704, 896, 600] {
            scroll.add_view(2000, 3000, fold);
        }
        let image = render_scroll_map(&scroll, 40, 3000, Palette::Classic, 1.0);
        // p50 = 704: a solid line 3 px thick, across the whole width.
        for y in 703..=705 {
            assert!(
                (0..40).all(|x| image.rgba_at(x, y) == FOLD_COLOUR),
                "row {y}"
            );
        }
        assert_ne!(image.rgba_at(5, 706), FOLD_COLOUR);
        // p25 and p75: dashed (8 px dashes, 8 px gaps) and lighter.
        assert_eq!(image.rgba_at(0, 600), FOLD_QUARTILE_COLOUR);
        assert_eq!(
            image.rgba_at(12, 599)[..3],
            Palette::Classic.colour(1.0),
            "a gap"
        );
        assert_eq!(image.rgba_at(0, 896), FOLD_QUARTILE_COLOUR);
        assert_eq!(image.rgba_at(7, 896), FOLD_QUARTILE_COLOUR);
        assert_eq!(
            image.rgba_at(8, 896)[..3],
            Palette::Classic.colour(1.0),
            "a gap"
        );
        assert_eq!(image.rgba_at(16, 897), FOLD_QUARTILE_COLOUR);
        let report = scroll_depth_report(&SegmentAgg {
            scroll,
            ..SegmentAgg::default()
        });
        assert_eq!(
            report.fold_px,
            FoldPercentiles {
                p25: Some(600),
                p50: Some(704),
                p75: Some(896),
            }
        );
        assert_eq!(
            scroll_depth_report(&SegmentAgg::default()).fold_px,
            FoldPercentiles {
                p25: None,
                p50: None,
                p75: None,
            }
        );
    }
}
