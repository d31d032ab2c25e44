//! Kernel density at grid-cell resolution, and painting it into palette-indexed pixels.
//!
//! A [`Field`] holds one value per grid cell (`GRID_CELL_PX` square). Blurring is a separable
//! Gaussian cut off at the radius, so nothing bleeds further than the radius. Painting samples
//! the field bilinearly at every pixel centre and maps each value to a palette index; the column
//! weights are the same on every row, so they are computed once per image, and a row whose
//! neighbouring cells are all zero is skipped (most of a tall page).

use heatpipe_core::agg::{GRID_CELL_PX, Grid};
use rayon::prelude::*;

/// One value per grid cell, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub cols: usize,
    pub rows: usize,
    pub values: Vec<f32>,
}

impl Field {
    /// The cells covering a `width_px` × `height_px` image, all zero.
    pub fn for_image(width_px: u32, height_px: u32) -> Field {
        let cell = GRID_CELL_PX as usize;
        let cols = (width_px as usize).div_ceil(cell);
        let rows = (height_px as usize).div_ceil(cell);
        Field {
            cols,
            rows,
            values: vec![0.0; cols * rows],
        }
    }

    /// The counts of `grid` times `scale`, over a `width_px` × `height_px` image (cells outside
    /// the grid are zero; grid cells outside the image are dropped).
    pub fn from_grid(grid: &Grid, width_px: u32, height_px: u32, scale: f32) -> Field {
        let mut field = Field::for_image(width_px, height_px);
        let (cols, rows) = (field.cols, field.rows);
        for (row, out) in field
            .values
            .chunks_exact_mut(cols)
            .enumerate()
            .take(rows.min(grid.rows as usize))
        {
            for (col, value) in out.iter_mut().enumerate().take(grid.cols as usize) {
                *value = grid.get(col as u32, row as u32) as f32 * scale;
            }
        }
        field
    }

    /// Caps every value at `cap`.
    pub fn cap(&mut self, cap: f32) {
        self.values.iter_mut().for_each(|v| *v = v.min(cap));
    }

    /// Returns the 99th percentile of the non-zero magnitudes (0 if all are zero): the value
    /// scaled to full colour, so that one hot cell cannot wash out the rest.
    pub fn robust_peak(&self) -> f32 {
        let mut nonzero: Vec<f32> = self
            .values
            .iter()
            .map(|v| v.abs())
            .filter(|v| *v > 0.0)
            .collect();
        if nonzero.is_empty() {
            return 0.0;
        }
        let index = ((nonzero.len() - 1) as f32 * 0.99).round() as usize;
        let (_, peak, _) = nonzero.select_nth_unstable_by(index, f32::total_cmp);
        *peak
    }

    /// Returns the field blurred by a Gaussian of `radius_px`, cut off at the radius.
    pub fn blurred(&self, radius_px: u32) -> Field {
        let kernel = gaussian_kernel(radius_px as f32 / GRID_CELL_PX as f32);
        let (cols, rows) = (self.cols, self.rows);
        let reach = kernel.len() / 2;
        let mut horizontal = vec![0f32; self.values.len()];
        horizontal
            .par_chunks_mut(cols.max(1))
            .zip(self.values.par_chunks(cols.max(1)))
            .for_each(|(out, source)| {
                for (col, &value) in source.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                    let start = col.saturating_sub(reach);
                    for target in start..(col + reach + 1).min(cols) {
                        out[target] += value * kernel[target + reach - col];
                    }
                }
            });
        let mut vertical = vec![0f32; self.values.len()];
        vertical
            .par_chunks_mut(cols.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                let start = row.saturating_sub(reach);
                for source_row in start..(row + reach + 1).min(rows) {
                    let weight = kernel[source_row + reach - row];
                    let source = &horizontal[source_row * cols..(source_row + 1) * cols];
                    for (target, &value) in out.iter_mut().zip(source) {
                        *target += value * weight;
                    }
                }
            });
        Field {
            cols,
            rows,
            values: vertical,
        }
    }

    /// Paints the field into `width_px` × `height_px` palette indexes: `index_of` maps the value
    /// sampled at each pixel centre. A row whose cells are all zero stays index 0.
    pub fn paint(
        &self,
        width_px: u32,
        height_px: u32,
        index_of: impl Fn(f32) -> u8 + Sync,
    ) -> Vec<u8> {
        let (width, height) = (width_px as usize, height_px as usize);
        let mut pixels = vec![0u8; width * height];
        if self.cols == 0 || self.rows == 0 {
            return pixels;
        }
        let columns: Vec<(usize, usize, f32)> =
            (0..width).map(|x| self.neighbours(x, self.cols)).collect();
        let cols = self.cols;
        pixels.par_chunks_mut(width).enumerate().for_each_init(
            || vec![0f32; cols],
            |blend, (y, out)| {
                let (r0, r1, ty) = self.neighbours(y, self.rows);
                let top = &self.values[r0 * cols..(r0 + 1) * cols];
                let bottom = &self.values[r1 * cols..(r1 + 1) * cols];
                let mut any = false;
                for ((value, &a), &b) in blend.iter_mut().zip(top).zip(bottom) {
                    *value = a + (b - a) * ty;
                    any |= *value != 0.0;
                }
                if !any {
                    return;
                }
                for (pixel, &(c0, c1, tx)) in out.iter_mut().zip(&columns) {
                    let (a, b) = (blend[c0], blend[c1]);
                    let value = a + (b - a) * tx;
                    if value != 0.0 {
                        *pixel = index_of(value);
                    }
                }
            },
        );
        pixels
    }

    /// The two cells around pixel `p`'s centre along an axis of `cells`, and the weight of the
    /// second.
    fn neighbours(&self, p: usize, cells: usize) -> (usize, usize, f32) {
        let position = ((p as f32 + 0.5) / GRID_CELL_PX as f32 - 0.5).max(0.0);
        let low = (position as usize).min(cells - 1);
        let high = (low + 1).min(cells - 1);
        (low, high, (position - low as f32).min(1.0))
    }
}

/// Weights of a Gaussian reaching `radius_cells` either side.
fn gaussian_kernel(radius_cells: f32) -> Vec<f32> {
    let reach = radius_cells.floor().max(0.0) as i32;
    let sigma = (radius_cells / 2.5).max(0.35);
    (-reach..=reach)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect()
}

/// The density of `grid` over an image, with counts capped at their own robust peak first.
pub fn density(grid: &Grid, width_px: u32, height_px: u32, radius_px: u32) -> Field {
    let mut field = Field::from_grid(grid, width_px, height_px, 1.0);
    let cap = field.robust_peak();
    field.cap(cap);
    field.blurred(radius_px)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_spreads_within_the_radius_only_and_keeps_the_centre_highest() {
        let mut grid = Grid::default();
        grid.add(80, 80);
        let field = density(&grid, 160, 160, 32);
        let at = |col: usize, row: usize| field.values[row * field.cols + col];
        assert!(at(10, 10) > at(11, 10) && at(11, 10) > at(13, 10));
        assert!(at(14, 10) > 0.0, "4 cells (32 px) away still has density");
        assert_eq!(at(15, 10), 0.0, "5 cells away has none");
        assert_eq!(at(10, 15), 0.0);
    }

    #[test]
    fn painting_samples_every_pixel_and_leaves_empty_rows_at_zero() {
        let mut field = Field::for_image(32, 32);
        field.values[field.cols + 1] = 1.0;
        let pixels = field.paint(32, 32, |v| if v > 0.5 { 2 } else { 1 });
        assert_eq!(
            pixels[12 * 32 + 12],
            2,
            "the cell's centre is its own value"
        );
        assert_eq!(pixels[31 * 32 + 31], 0, "rows far away are untouched");
        assert_eq!(
            pixels[12 * 32 + 18],
            1,
            "bilinear falloff toward the next cell"
        );
    }
}
