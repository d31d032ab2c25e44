//! Heatmap images: palettes, and palette-indexed PNG encoding.
//!
//! A heatmap is drawn as one palette index per pixel ([`IndexedImage`]): index 0 is fully
//! transparent and the other 255 entries are colour-ramp steps whose alpha rises with density.
//! A 1280 × 6000 overlay is then 7.7 MB to compress instead of 30 MB of RGBA, and long runs of
//! transparent pixels deflate to almost nothing.
//!
//! Cell counts are first capped at the 99th percentile of the non-zero cells, so a single cell
//! hammered by one visitor (or a bot) cannot wash out the rest; density ([`crate::density`]) is
//! then normalized to its own 99th percentile; anything under 1% of that peak is transparent.

use heatpipe_core::agg::Grid;

use crate::density::density;
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

/// An image of palette indexes, one byte per pixel, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedImage {
    pub width_px: u32,
    pub height_px: u32,
    /// Colour and alpha of each index; at most 256 entries.
    pub palette: Vec<[u8; 4]>,
    pub pixels: Vec<u8>,
}

impl IndexedImage {
    /// Returns the RGBA colour of the pixel at (x, y).
    pub fn rgba_at(&self, x: u32, y: u32) -> [u8; 4] {
        let index = self.pixels[(y as usize) * self.width_px as usize + x as usize];
        self.palette
            .get(usize::from(index))
            .copied()
            .unwrap_or([0; 4])
    }

    /// Encodes the image as an 8-bit palette PNG with a transparency chunk and fast deflate.
    pub fn encode_png(&self) -> RenderResult<Vec<u8>> {
        let rgb: Vec<u8> = self
            .palette
            .iter()
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect();
        let alpha: Vec<u8> = self.palette.iter().map(|c| c[3]).collect();
        let mut out = Vec::with_capacity(64 * 1024);
        let mut encoder = png::Encoder::new(&mut out, self.width_px, self.height_px);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(rgb);
        encoder.set_trns(alpha);
        encoder.set_compression(png::Compression::Fast);
        encoder.set_filter(png::Filter::NoFilter);
        let image_error = |err: png::EncodingError| RenderError::Image(err.to_string());
        let mut writer = encoder.write_header().map_err(image_error)?;
        writer.write_image_data(&self.pixels).map_err(image_error)?;
        writer.finish().map_err(image_error)?;
        Ok(out)
    }
}

/// The heatmap ramp: index 0 transparent, then 255 steps from 1% to full density, alpha rising
/// with the square root of the level (faint areas stay visible, hot ones dominate).
pub fn heatmap_palette(palette: Palette, opacity: f32) -> Vec<[u8; 4]> {
    std::iter::once([0, 0, 0, 0])
        .chain((1..=255u32).map(|index| {
            let level = index as f32 / 255.0;
            let [r, g, b] = palette.colour(level);
            [r, g, b, (level.sqrt() * opacity * 255.0).round() as u8]
        }))
        .collect()
}

/// Renders `grid` as a heatmap of palette indexes.
pub fn render_density(grid: &Grid, style: &HeatmapStyle) -> IndexedImage {
    let field = density(grid, style.width_px, style.height_px, style.radius_px);
    let peak = field.robust_peak();
    let pixels = if peak <= 0.0 {
        vec![0u8; style.width_px as usize * style.height_px as usize]
    } else {
        let scale = 255.0 / peak;
        field.paint(style.width_px, style.height_px, |value| {
            let level = value * scale;
            if level < 2.55 {
                0
            } else {
                level.round().min(255.0) as u8
            }
        })
    };
    IndexedImage {
        width_px: style.width_px,
        height_px: style.height_px,
        palette: heatmap_palette(style.palette, style.opacity),
        pixels,
    }
}

/// Encodes RGB pixels (3 bytes each) as a PNG with fast deflate.
pub fn encode_rgb_png(pixels: &[u8], width_px: u32, height_px: u32) -> RenderResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width_px, height_px);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Sub);
    let image_error = |err: png::EncodingError| RenderError::Image(err.to_string());
    let mut writer = encoder.write_header().map_err(image_error)?;
    writer.write_image_data(pixels).map_err(image_error)?;
    writer.finish().map_err(image_error)?;
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

    fn alpha_at(image: &IndexedImage, x: u32, y: u32) -> u8 {
        image.rgba_at(x, y)[3]
    }

    #[test]
    fn hot_spots_are_coloured_and_far_pixels_transparent() {
        let mut grid = Grid::default();
        for _ in 0..10 {
            grid.add(400, 300);
        }
        grid.add(100, 900);
        let image = render_density(&grid, &style(800, 1200));
        let hot = image.rgba_at(400, 300);
        assert!(
            hot[3] > 180 && hot[0] > 200 && hot[2] < 60,
            "hot spot is strong red: {hot:?}"
        );
        let single = alpha_at(&image, 100, 900);
        assert!(
            single > 40 && single < hot[3],
            "a single click elsewhere shows, fainter: {single}"
        );
        assert_eq!(
            alpha_at(&image, 400, 600),
            0,
            "300 px away is fully transparent"
        );
        assert_eq!(
            alpha_at(&image, 400 + 60, 300),
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
        let image = render_density(&grid, &style(600, 600));
        assert!(
            alpha_at(&image, 270, 430) > 150,
            "the broad cluster stays visible"
        );
    }

    #[test]
    fn empty_grids_render_transparent_and_pngs_decode() {
        let empty = render_density(&Grid::default(), &style(64, 64));
        assert!(empty.pixels.iter().all(|&b| b == 0));
        let png = empty.encode_png().expect("encode");
        let decoded = image::load_from_memory(&png).expect("decode").to_rgba8();
        assert_eq!(decoded.dimensions(), (64, 64));
        assert!(decoded.pixels().all(|p| p.0[3] == 0));
        let mut grid = Grid::default();
        grid.add(30, 30);
        let drawn = render_density(&grid, &style(64, 64));
        let decoded = image::load_from_memory(&drawn.encode_png().expect("encode"))
            .expect("decode")
            .to_rgba8();
        for (x, y) in [(30, 30), (20, 25), (63, 63)] {
            assert_eq!(
                decoded.get_pixel(x, y).0,
                drawn.rgba_at(x, y),
                "the PNG holds the palette colour at ({x}, {y})"
            );
        }
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
