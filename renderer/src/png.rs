//! Heatmap overlays: kernel density over a grid, robust normalization, a colour ramp whose alpha
//! rises with density, encoded as a transparent RGBA PNG.
//!
//! Cell counts are first capped at the 99th percentile of the non-zero cells, so a single cell
//! hammered by one visitor (or a bot) cannot wash out the rest. Density is then computed at
//! grid-cell resolution (a separable Gaussian, cut off at the radius, so nothing bleeds further
//! than the radius), normalized to its own 99th percentile, and sampled bilinearly at every
//! pixel; anything under 1% of the peak is fully transparent.

use heatpipe_core::agg::{GRID_CELL_PX, Grid};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;

use crate::error::{RenderError, RenderResult};

/// Largest image side accepted, in pixels.
pub const MAX_SIDE_PX: u32 = 32_768;
/// Largest image accepted, in pixels.
pub const MAX_PIXELS: u64 = 64 << 20;

/// A colour ramp: stops from low to high density.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// Blue → cyan → green → yellow → red, the classic heatmap.
    Classic,
    /// Viridis: perceptually uniform and readable with colour-blindness.
    Viridis,
}

impl Palette {
    pub fn parse(name: Option<&str>) -> RenderResult<Self> {
        match name {
            None | Some("" | "classic") => Ok(Palette::Classic),
            Some("viridis") => Ok(Palette::Viridis),
            Some(other) => Err(RenderError::BadRequest(format!(
                "palette must be classic or viridis, not {other:?}"
            ))),
        }
    }

    fn stops(self) -> &'static [[f32; 3]] {
        match self {
            Palette::Classic => &[
                [0.0, 0.0, 255.0],
                [0.0, 255.0, 255.0],
                [0.0, 255.0, 0.0],
                [255.0, 255.0, 0.0],
                [255.0, 0.0, 0.0],
            ],
            Palette::Viridis => &[
                [68.0, 1.0, 84.0],
                [59.0, 82.0, 139.0],
                [33.0, 145.0, 140.0],
                [94.0, 201.0, 98.0],
                [253.0, 231.0, 37.0],
            ],
        }
    }

    /// Returns the colour at `level` in 0..=1.
    pub fn colour(self, level: f32) -> [u8; 3] {
        let stops = self.stops();
        let scaled = level.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
        let low = (scaled.floor() as usize).min(stops.len() - 2);
        let fraction = scaled - low as f32;
        let mix = |i: usize| {
            (stops[low][i] + (stops[low + 1][i] - stops[low][i]) * fraction).round() as u8
        };
        [mix(0), mix(1), mix(2)]
    }
}

/// How to draw a heatmap.
#[derive(Debug, Clone, Copy)]
pub struct HeatmapStyle {
    pub width_px: u32,
    pub height_px: u32,
    /// Kernel radius in CSS pixels: density reaches no further than this from an event.
    pub radius_px: u32,
    pub palette: Palette,
    /// Largest alpha, 0..=1.
    pub opacity: f32,
}

/// Checks an image size against the limits.
pub fn check_size(width_px: u32, height_px: u32) -> RenderResult<()> {
    if width_px == 0
        || height_px == 0
        || width_px > MAX_SIDE_PX
        || height_px > MAX_SIDE_PX
        || u64::from(width_px) * u64::from(height_px) > MAX_PIXELS
    {
        return Err(RenderError::BadRequest(format!(
            "image of {width_px}×{height_px} px is outside the limits (1..={MAX_SIDE_PX} per side, {MAX_PIXELS} pixels)"
        )));
    }
    Ok(())
}

fn gaussian_kernel(radius_cells: f32) -> Vec<f32> {
    let reach = radius_cells.floor().max(0.0) as i32;
    let sigma = (radius_cells / 2.5).max(0.35);
    (-reach..=reach)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect()
}

/// Blurs a `cols` × `rows` field with `kernel` along rows, then along columns.
fn blur(field: &[f32], cols: usize, rows: usize, kernel: &[f32]) -> Vec<f32> {
    let reach = kernel.len() / 2;
    let mut horizontal = vec![0f32; field.len()];
    horizontal
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(row, out)| {
            let source = &field[row * cols..(row + 1) * cols];
            for (col, &value) in source.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                let start = col.saturating_sub(reach);
                for target in start..(col + reach + 1).min(cols) {
                    out[target] += value * kernel[target + reach - col];
                }
            }
        });
    let mut vertical = vec![0f32; field.len()];
    vertical
        .par_chunks_mut(cols)
        .enumerate()
        .for_each(|(row, out)| {
            let start = row.saturating_sub(reach);
            for source_row in start..(row + reach + 1).min(rows) {
                let weight = kernel[source_row + reach - row];
                for (target, &value) in out
                    .iter_mut()
                    .zip(&horizontal[source_row * cols..(source_row + 1) * cols])
                {
                    *target += value * weight;
                }
            }
        });
    vertical
}

/// Returns the value at the 99th percentile of the non-zero entries (0 if all are zero).
fn robust_peak(field: &[f32]) -> f32 {
    let mut nonzero: Vec<f32> = field.iter().copied().filter(|v| *v > 0.0).collect();
    if nonzero.is_empty() {
        return 0.0;
    }
    let index = ((nonzero.len() - 1) as f32 * 0.99).round() as usize;
    let (_, peak, _) = nonzero.select_nth_unstable_by(index, f32::total_cmp);
    *peak
}

/// Renders `grid` as RGBA pixels (row-major, 4 bytes each).
pub fn render_density(grid: &Grid, style: &HeatmapStyle) -> Vec<u8> {
    let cell = GRID_CELL_PX as usize;
    let (width, height) = (style.width_px as usize, style.height_px as usize);
    let cols = width.div_ceil(cell);
    let rows = height.div_ceil(cell);
    let mut field = vec![0f32; cols * rows];
    for row in 0..rows.min(grid.rows as usize) {
        for col in 0..cols.min(grid.cols as usize) {
            field[row * cols + col] = grid.get(col as u32, row as u32) as f32;
        }
    }
    let cap = robust_peak(&field);
    field.iter_mut().for_each(|count| *count = count.min(cap));
    let density = blur(
        &field,
        cols,
        rows,
        &gaussian_kernel(style.radius_px as f32 / cell as f32),
    );
    let peak = robust_peak(&density);
    let mut pixels = vec![0u8; width * height * 4];
    if peak <= 0.0 {
        return pixels;
    }
    let sample = |x: f32, y: f32| -> f32 {
        let (fx, fy) = (
            (x / cell as f32 - 0.5).max(0.0),
            (y / cell as f32 - 0.5).max(0.0),
        );
        let (c0, r0) = ((fx as usize).min(cols - 1), (fy as usize).min(rows - 1));
        let (c1, r1) = ((c0 + 1).min(cols - 1), (r0 + 1).min(rows - 1));
        let (tx, ty) = ((fx - c0 as f32).min(1.0), (fy - r0 as f32).min(1.0));
        let top = density[r0 * cols + c0] * (1.0 - tx) + density[r0 * cols + c1] * tx;
        let bottom = density[r1 * cols + c0] * (1.0 - tx) + density[r1 * cols + c1] * tx;
        top * (1.0 - ty) + bottom * ty
    };
    pixels
        .par_chunks_mut(width * 4)
        .enumerate()
        .for_each(|(y, row)| {
            // Skip rows whose cells and neighbours are all empty: most of a tall page.
            let r0 = (y / cell).saturating_sub(1);
            if density[r0 * cols..((y / cell + 2).min(rows)) * cols]
                .iter()
                .all(|v| *v == 0.0)
            {
                return;
            }
            for (x, pixel) in row.chunks_exact_mut(4).enumerate() {
                let level = (sample(x as f32 + 0.5, y as f32 + 0.5) / peak).min(1.0);
                if level < 0.01 {
                    continue;
                }
                let [r, g, b] = style.palette.colour(level);
                let alpha = (level.sqrt() * style.opacity * 255.0).round() as u8;
                pixel.copy_from_slice(&[r, g, b, alpha]);
            }
        });
    pixels
}

/// Encodes RGBA pixels as a PNG with fast deflate.
pub fn encode_png(pixels: &[u8], width_px: u32, height_px: u32) -> RenderResult<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
        .write_image(pixels, width_px, height_px, ExtendedColorType::Rgba8)
        .map_err(|err| RenderError::Image(err.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(width_px: u32, height_px: u32) -> HeatmapStyle {
        HeatmapStyle {
            width_px,
            height_px,
            radius_px: 32,
            palette: Palette::Classic,
            opacity: 0.85,
        }
    }

    fn alpha_at(pixels: &[u8], width: u32, x: u32, y: u32) -> u8 {
        pixels[((y * width + x) * 4 + 3) as usize]
    }

    #[test]
    fn hot_spots_are_coloured_and_far_pixels_transparent() {
        let mut grid = Grid::default();
        for _ in 0..10 {
            grid.add(400, 300);
        }
        grid.add(100, 900);
        let pixels = render_density(&grid, &style(800, 1200));
        let hot = &pixels[((300 * 800 + 400) * 4) as usize..((300 * 800 + 400) * 4 + 4) as usize];
        assert!(
            hot[3] > 180 && hot[0] > 200 && hot[2] < 60,
            "hot spot is strong red: {hot:?}"
        );
        let single = alpha_at(&pixels, 800, 100, 900);
        assert!(
            single > 40 && single < hot[3],
            "a single click elsewhere shows, fainter: {single}"
        );
        assert_eq!(
            alpha_at(&pixels, 800, 400, 600),
            0,
            "300 px away is fully transparent"
        );
        assert_eq!(
            alpha_at(&pixels, 800, 400 + 60, 300),
            0,
            "beyond the radius is fully transparent"
        );
    }

    #[test]
    fn one_outlier_does_not_wash_out_the_rest() {
        let mut grid = Grid::default();
        for _ in 0..100_000 {
            grid.add(40, 40);
        }
        for i in 0..200 {
            grid.add(200 + (i % 20) * 8, 400 + (i / 20) * 8);
        }
        let pixels = render_density(&grid, &style(600, 600));
        assert!(
            alpha_at(&pixels, 600, 270, 430) > 150,
            "the broad cluster stays visible"
        );
    }

    #[test]
    fn empty_grids_render_transparent_and_pngs_decode() {
        let pixels = render_density(&Grid::default(), &style(64, 64));
        assert!(pixels.iter().all(|&b| b == 0));
        let png = encode_png(&pixels, 64, 64).expect("encode");
        let decoded = image::load_from_memory(&png).expect("decode").to_rgba8();
        assert_eq!(decoded.dimensions(), (64, 64));
        assert!(
            check_size(0, 10).is_err()
                && check_size(40_000, 10).is_err()
                && check_size(1280, 6000).is_ok()
        );
    }

    #[test]
    fn palettes_run_from_first_to_last_stop() {
        assert_eq!(Palette::Classic.colour(0.0), [0, 0, 255]);
        assert_eq!(Palette::Classic.colour(1.0), [255, 0, 0]);
        assert_eq!(Palette::Viridis.colour(1.0), [253, 231, 37]);
        assert!(Palette::parse(Some("rainbow")).is_err());
    }
}
