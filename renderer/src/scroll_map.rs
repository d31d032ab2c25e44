//! Scroll maps: every row of the page coloured by the share of page views that reached it,
//! with the average fold drawn as a line.

use heatpipe_core::agg::{SCROLL_BUCKET_PX, ScrollDepth};
use rayon::prelude::*;
use serde::Serialize;

use crate::png::Palette;

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

/// Renders the scroll map as RGBA pixels.
pub fn render_scroll_map(
    scroll: &ScrollDepth,
    width_px: u32,
    height_px: u32,
    palette: Palette,
    opacity: f32,
) -> Vec<u8> {
    let shares = reach_by_row(scroll, height_px);
    let fold = scroll.average_fold_px() as usize;
    let alpha = (opacity * 0.75 * 255.0).round() as u8;
    let mut pixels = vec![0u8; width_px as usize * height_px as usize * 4];
    pixels
        .par_chunks_mut(width_px as usize * 4)
        .enumerate()
        .for_each(|(y, row)| {
            let colour = if scroll.views > 0 && y.abs_diff(fold) <= 1 {
                [20, 20, 20, 230]
            } else if shares[y] > 0.0 {
                let [r, g, b] = palette.colour(shares[y]);
                [r, g, b, alpha]
            } else {
                [0, 0, 0, 0]
            };
            for pixel in row.chunks_exact_mut(4) {
                pixel.copy_from_slice(&colour);
            }
        });
    pixels
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

/// The `scroll-depth` answer.
#[derive(Debug, Clone, Serialize)]
pub struct ScrollDepthReport {
    pub views: u64,
    pub views_with_height: u64,
    pub average_fold_px: u32,
    /// Reach every `SCROLL_BUCKET_PX`, down to the deepest view.
    pub reached_px: Vec<ReachPoint>,
    /// Reach per percent of the page, for views whose document height is known.
    pub reached_percent: Vec<ReachPoint>,
}

/// Builds the scroll-depth report of `scroll`.
pub fn scroll_depth_report(scroll: &ScrollDepth) -> ScrollDepthReport {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_coloured_by_reach_and_the_fold_is_marked() {
        let mut scroll = ScrollDepth::default();
        scroll.add_view(800, 3000, 800);
        scroll.add_view(2000, 3000, 800);
        let pixels = render_scroll_map(&scroll, 10, 3000, Palette::Classic, 1.0);
        let at = |y: usize| &pixels[y * 40..y * 40 + 4];
        assert_eq!(at(100)[..3], Palette::Classic.colour(1.0));
        assert_eq!(at(1500)[..3], Palette::Classic.colour(0.5));
        assert_eq!(at(2500)[3], 0, "nobody reached 2500 px");
        assert_eq!(at(800), [20, 20, 20, 230], "the average fold is marked");
        let report = scroll_depth_report(&scroll);
        assert_eq!((report.views, report.average_fold_px), (2, 800));
        assert_eq!(report.reached_percent[50].share, 0.5);
    }
}
