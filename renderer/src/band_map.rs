//! Band maps: a picture of a page in which each pixel row has one colour, by a level per row,
//! with horizontal lines over it. The scroll map ([`crate::scroll_map`]) and the attention map
//! ([`crate::attention_map`]) are both drawn here.

use rayon::prelude::*;

use crate::png::{IndexedImage, Palette};

/// The highest palette index of a band map's colour ramp (1..=RAMP_TOP; 0 is clear).
const RAMP_TOP: u8 = 253;
/// Palette index of the fold's quartile lines (p25, p75), and of its median line (p50).
const FOLD_QUARTILE_INDEX: u8 = 254;
const FOLD_INDEX: u8 = 255;
/// The fold's median line colour, and its quartile lines' (lighter, and dashed).
pub const FOLD_COLOUR: [u8; 4] = [20, 20, 20, 230];
pub const FOLD_QUARTILE_COLOUR: [u8; 4] = [20, 20, 20, 130];
/// Length of a dash (and of the gap after it) of a dashed line.
const DASH_PX: usize = 8;

/// A horizontal line across a band map, 3 px thick, centred on `y_px`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandLine {
    pub y_px: u32,
    /// Solid (the fold's median), or dashed and lighter (its quartiles).
    pub solid: bool,
}

/// Draws a band map: pixel row `y` coloured by `levels[y]` (0..=1 of the ramp; 0 is clear),
/// `lines` over it (a solid line over a dashed one where they meet). Shared by the scroll map
/// and the attention map.
pub fn render_band_map(
    levels: &[f32],
    width_px: u32,
    palette: Palette,
    opacity: f32,
    lines: &[BandLine],
) -> IndexedImage {
    let height_px = levels.len() as u32;
    let alpha = (opacity * 0.75 * 255.0).round() as u8;
    let steps = f32::from(RAMP_TOP - 1);
    let colours: Vec<[u8; 4]> = std::iter::once([0, 0, 0, 0])
        .chain((1..=RAMP_TOP).map(|index| {
            let [r, g, b] = palette.colour(f32::from(index - 1) / steps);
            [r, g, b, alpha]
        }))
        .chain([FOLD_QUARTILE_COLOUR, FOLD_COLOUR])
        .collect();
    let on_line = |y: usize, solid: bool| {
        lines
            .iter()
            .any(|line| line.solid == solid && y.abs_diff(line.y_px as usize) <= 1)
    };
    let mut pixels = vec![0u8; width_px as usize * height_px as usize];
    pixels
        .par_chunks_mut(width_px.max(1) as usize)
        .enumerate()
        .for_each(|(y, row)| {
            let level = levels[y].clamp(0.0, 1.0);
            let band = if level > 0.0 {
                1 + (level * steps).round() as u8
            } else {
                0
            };
            if on_line(y, true) {
                row.fill(FOLD_INDEX);
            } else if on_line(y, false) {
                for (x, pixel) in row.iter_mut().enumerate() {
                    *pixel = if (x / DASH_PX).is_multiple_of(2) {
                        FOLD_QUARTILE_INDEX
                    } else {
                        band
                    };
                }
            } else {
                row.fill(band);
            }
        });
    IndexedImage {
        width_px,
        height_px,
        palette: colours,
        pixels,
    }
}
