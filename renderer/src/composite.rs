//! Overlays over page screenshots: `heatmap.png?...&composite=1` and the composites of
//! `heatpipe render`. The stored screenshot nearest the requested layout width is found, the
//! overlay is drawn at that screenshot's width (page coordinates are CSS pixels, so both line
//! up), and blended over it (alpha "over"); below the end of the screenshot the page is white. A
//! screenshot whose pixels are not CSS pixels (another device scale) is scaled to fit first.

use std::sync::Arc;

use heatpipe_core::keys::{snapshot_prefix, snapshot_width};
use heatpipe_io::store::ObjectStore;
use image::RgbImage;
use image::imageops::FilterType;
use rayon::prelude::*;

use crate::error::{RenderError, RenderResult};
use crate::png::{IndexedImage, encode_rgb_png};

/// A decoded page screenshot and the layout width it was taken at.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub key: String,
    pub width_px: u32,
    pub image: RgbImage,
}

/// Finds the key of the stored screenshot of `page_key` whose width is nearest `width_px`.
pub async fn nearest_snapshot_key(
    store: &Arc<dyn ObjectStore>,
    site: &str,
    page_key: &str,
    width_px: u32,
) -> RenderResult<Option<String>> {
    let listed = store.list(&snapshot_prefix(site, page_key)).await?;
    Ok(listed
        .into_iter()
        .filter_map(|meta| snapshot_width(&meta.key).map(|width| (width, meta.key)))
        .min_by_key(|(width, key)| (width.abs_diff(width_px), key.clone()))
        .map(|(_, key)| key))
}

/// Decodes a stored screenshot.
pub fn decode_snapshot(key: &str, bytes: &[u8]) -> RenderResult<Snapshot> {
    let image = image::load_from_memory(bytes)
        .map_err(|err| RenderError::Image(format!("screenshot {key} cannot be decoded: {err}")))?
        .to_rgb8();
    Ok(Snapshot {
        key: key.to_owned(),
        width_px: snapshot_width(key).unwrap_or(image.width()),
        image,
    })
}

/// Blends `overlay` over `snapshot` (scaled to the overlay's width) and encodes an RGB PNG as
/// tall as the taller of the two.
pub fn composite_png(overlay: &IndexedImage, snapshot: &Snapshot) -> RenderResult<Vec<u8>> {
    let width = overlay.width_px;
    let background = if snapshot.image.width() == width {
        snapshot.image.clone()
    } else {
        let height = (u64::from(snapshot.image.height()) * u64::from(width)
            / u64::from(snapshot.image.width().max(1)))
        .max(1) as u32;
        image::imageops::resize(&snapshot.image, width, height, FilterType::Triangle)
    };
    let height = overlay.height_px.max(background.height());
    crate::png::check_size(width, height)?;
    let row_len = width as usize * 3;
    let mut pixels = vec![255u8; row_len * height as usize];
    // The background's rows are copied whole; overlay pixels are blended where not transparent.
    pixels
        .par_chunks_mut(row_len)
        .enumerate()
        .for_each(|(y, row)| {
            if let Some(source) = background.as_raw().get(y * row_len..(y + 1) * row_len) {
                row.copy_from_slice(source);
            }
            let Some(indexes) = overlay
                .pixels
                .get(y * width as usize..(y + 1) * width as usize)
            else {
                return;
            };
            for (out, &index) in row.chunks_exact_mut(3).zip(indexes) {
                let [r, g, b, a] = overlay
                    .palette
                    .get(usize::from(index))
                    .copied()
                    .unwrap_or([0; 4]);
                if a == 0 {
                    continue;
                }
                let alpha = u16::from(a);
                for (channel, over) in out.iter_mut().zip([r, g, b]) {
                    *channel =
                        ((u16::from(over) * alpha + u16::from(*channel) * (255 - alpha) + 127)
                            / 255) as u8;
                }
            }
        });
    encode_rgb_png(&pixels, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_is_blended_over_the_scaled_screenshot() {
        // A 200 px wide grey screenshot, 100 px tall, under a 100 px wide overlay, 80 px tall.
        let snapshot = Snapshot {
            key: "snapshots/s/k/w00200.png".into(),
            width_px: 200,
            image: RgbImage::from_pixel(200, 100, image::Rgb([100, 100, 100])),
        };
        let mut overlay = IndexedImage {
            width_px: 100,
            height_px: 80,
            palette: vec![[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]],
            pixels: vec![0; 100 * 80],
        };
        overlay.pixels[10 * 100 + 10] = 1;
        overlay.pixels[20 * 100 + 20] = 2;
        let png = composite_png(&overlay, &snapshot).expect("composite");
        let image = image::load_from_memory(&png).expect("decode").to_rgb8();
        assert_eq!(
            image.dimensions(),
            (100, 80),
            "scaled to 100 × 50, then the overlay's height"
        );
        assert_eq!(
            image.get_pixel(10, 10).0,
            [255, 0, 0],
            "opaque overlay wins"
        );
        assert_eq!(
            image.get_pixel(20, 20).0,
            [50, 50, 178],
            "half alpha blends"
        );
        assert_eq!(
            image.get_pixel(30, 30).0,
            [100, 100, 100],
            "the page shows through"
        );
        assert_eq!(
            image.get_pixel(30, 70).0,
            [255, 255, 255],
            "below the screenshot: white"
        );
    }
}
