//! Scroll maps: every row of the page coloured by the share of page views that reached it,
//! with the average fold drawn as a line.

use heatpipe_core::agg::{SCROLL_BUCKET_PX, ScrollDepth};
use rayon::prelude::*;
use serde::Serialize;

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

/// Palette index of the average fold line in a scroll map.
const FOLD_INDEX: u8 = 255;
/// The fold line's colour.
pub const FOLD_COLOUR: [u8; 4] = [20, 20, 20, 230];

/// Renders the scroll map: index 0 where nobody reached, 1..=254 by share, the fold line 255.
pub fn render_scroll_map(
    scroll: &ScrollDepth,
    width_px: u32,
    height_px: u32,
    palette: Palette,
    opacity: f32,
) -> IndexedImage {
    let shares = reach_by_row(scroll, height_px);
    let fold = scroll.average_fold_px() as usize;
    let alpha = (opacity * 0.75 * 255.0).round() as u8;
    let colours: Vec<[u8; 4]> = std::iter::once([0, 0, 0, 0])
        .chain((1..=254u32).map(|index| {
            let [r, g, b] = palette.colour((index - 1) as f32 / 253.0);
            [r, g, b, alpha]
        }))
        .chain(std::iter::once(FOLD_COLOUR))
        .collect();
    let mut pixels = vec![0u8; width_px as usize * height_px as usize];
    pixels
        .par_chunks_mut(width_px as usize)
        .enumerate()
        .for_each(|(y, row)| {
            let index = if scroll.views > 0 && y.abs_diff(fold) <= 1 {
                FOLD_INDEX
            } else if shares[y] > 0.0 {
                1 + (shares[y] * 253.0).round() as u8
            } else {
                0
            };
            row.fill(index);
        });
    IndexedImage {
        width_px,
        height_px,
        palette: colours,
        pixels,
    }
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
        let image = render_scroll_map(&scroll, 10, 3000, Palette::Classic, 1.0);
        let at = |y: u32| image.rgba_at(5, y);
        assert_eq!(at(100)[..3], Palette::Classic.colour(1.0));
        // Shares are drawn in 253 steps: half the views is within one step of the ramp's middle.
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
        assert_eq!(at(800), FOLD_COLOUR, "the average fold is marked");
        let report = scroll_depth_report(&scroll);
        assert_eq!((report.views, report.average_fold_px), (2, 800));
        assert_eq!(report.reached_percent[50].share, 0.5);
    }
}
