//! Attention maps: every row of the page coloured by the seconds it was inside visitors'
//! viewports per page view (see [`heatpipe_core::agg::attention`]), from clear (never in view)
//! to the ramp's top at the most-seen band; drawn as the scroll map is drawn
//! ([`render_band_map`]). The legend's numbers come with the scroll-depth report.

use heatpipe_core::agg::{ATTENTION_BAND_PX, Attention};
use serde::Serialize;

use crate::band_map::render_band_map;
use crate::png::{IndexedImage, Palette};

/// Returns, for each pixel row of a page `height_px` tall, its seconds in view per page view
/// over the page's most seen band (0..=1).
pub fn attention_by_row(attention: &Attention, height_px: u32) -> Vec<f32> {
    let peak = attention.peak_seconds_per_view();
    (0..height_px)
        .map(|y| {
            let seconds = attention.seconds_per_view((y / ATTENTION_BAND_PX) as usize);
            if peak > 0.0 {
                (seconds / peak) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// Renders the attention map of a page `width_px` × `height_px`.
pub fn render_attention_map(
    attention: &Attention,
    width_px: u32,
    height_px: u32,
    palette: Palette,
    opacity: f32,
) -> IndexedImage {
    let levels = attention_by_row(attention, height_px);
    render_band_map(&levels, width_px, palette, opacity, &[])
}

/// The attention map's numbers: its legend runs from 0 to `peak_seconds_per_view`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttentionReport {
    pub views: u64,
    /// Rows per band.
    pub band_px: u32,
    /// The most seen band's seconds in view per page view: the ramp's top colour.
    pub peak_seconds_per_view: f64,
    /// Each band's seconds in view per page view, from the top of the page.
    pub seconds_per_view: Vec<f64>,
}

pub fn attention_report(attention: &Attention) -> AttentionReport {
    AttentionReport {
        views: attention.views,
        band_px: ATTENTION_BAND_PX,
        peak_seconds_per_view: attention.peak_seconds_per_view(),
        seconds_per_view: (0..attention.band_ms.len())
            .map(|band| attention.seconds_per_view(band))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_seen_longer_is_drawn_hotter() {
        // Two views; rows 0..100 seen 8 s in all, 100..200 for 4 s, 200..300 never.
        let mut band_ms = vec![8_000; 10];
        band_ms.extend([4_000; 10]);
        band_ms.extend([0; 10]);
        band_ms.extend([2_000; 5]);
        let attention = Attention { band_ms, views: 2 };
        let image = render_attention_map(&attention, 20, 400, Palette::Classic, 1.0);
        let at = |y: u32| image.rgba_at(10, y);
        assert_eq!(
            at(50)[..3],
            Palette::Classic.colour(1.0),
            "the most seen band"
        );
        // Half the peak's time: the ramp's middle (252 steps: 126 of them).
        assert_eq!(at(150)[..3], Palette::Classic.colour(126.0 / 252.0));
        assert_eq!(at(330)[..3], Palette::Classic.colour(63.0 / 252.0));
        assert_eq!(at(250)[3], 0, "never in view: clear");
        assert_eq!(at(380)[3], 0, "below the last band: clear");
        // Hotter is further along the ramp: the classic ramp ends in red.
        assert!(at(50)[0] > at(150)[0] || at(50)[1] < at(150)[1]);
        let report = attention_report(&attention);
        assert_eq!(report.peak_seconds_per_view, 4.0);
        assert_eq!(report.seconds_per_view[15], 2.0);
        assert_eq!(report.seconds_per_view.len(), 35);
        assert_eq!((report.views, report.band_px), (2, 10));
        let none = render_attention_map(&Attention::default(), 4, 30, Palette::Classic, 1.0);
        assert!(none.pixels.iter().all(|&index| index == 0));
    }
}
