//! Difference maps: where two segments (variant A and B, mobile and desktop, new and returning)
//! or two date ranges differ, instead of two heatmaps side by side.
//!
//! Each side is first divided by its page views, so a segment with twice the traffic does not
//! look twice as hot: the map shows events *per page view*. Each side's cells are capped at
//! their own robust peak, blurred with the same kernel, and subtracted. The difference is scaled
//! to the 99th percentile of its magnitude and drawn with a diverging ramp: orange-red where A
//! has more, blue where B has more, transparent where they agree (both ends stay distinct under
//! the common colour-vision deficiencies).
//!
//! Only differences that are statistically significant are drawn (see [`crate::significance`]:
//! a test per cell at the kernel's scale, with the false discovery rate controlled over the
//! cells): two samples of the same behaviour give a clear map, not red and blue noise.

use heatpipe_core::agg::{GRID_CELL_PX, Grid, SCROLL_BUCKET_PX, ScrollDepth, SegmentAgg};

use crate::density::Field;
use crate::error::{RenderError, RenderResult};
use crate::png::{IndexedImage, check_size};
use crate::render::{HeatmapKind, HeatmapRequest, page_size};
use crate::scroll_map::reach_by_row;
use crate::significance::{
    FALSE_DISCOVERY_RATE, benjamini_hochberg, significant_cells, two_proportions,
};

/// Palette indexes 1..=127 are B's side, 129..=255 A's side (128 is unused); 0 is transparent.
const STEPS: f32 = 127.0;
/// Differences under this share of the peak are drawn transparent.
const AGREEMENT: f32 = 0.02;
/// A's colour at full strength, and near zero.
const A_STRONG: [f32; 3] = [179.0, 24.0, 43.0];
const A_FAINT: [f32; 3] = [244.0, 165.0, 130.0];
/// B's colour at full strength, and near zero.
const B_STRONG: [f32; 3] = [33.0, 102.0, 172.0];
const B_FAINT: [f32; 3] = [146.0, 197.0, 222.0];

/// The diverging palette for `opacity`.
pub fn diverging_palette(opacity: f32) -> Vec<[u8; 4]> {
    let ramp = |faint: [f32; 3], strong: [f32; 3], step: u32| {
        let level = step as f32 / STEPS;
        let mix = |i: usize| (faint[i] + (strong[i] - faint[i]) * level).round() as u8;
        [
            mix(0),
            mix(1),
            mix(2),
            (level.sqrt() * opacity * 255.0).round() as u8,
        ]
    };
    let mut palette = vec![[0u8; 4]; 256];
    for step in 1..=127u32 {
        palette[step as usize] = ramp(B_FAINT, B_STRONG, step);
        palette[128 + step as usize] = ramp(A_FAINT, A_STRONG, step);
    }
    palette
}

/// Maps a difference in -1..=1 (of the peak) to its palette index.
fn diverging_index(level: f32) -> u8 {
    let magnitude = level.abs().min(1.0);
    if magnitude < AGREEMENT {
        return 0;
    }
    let step = (magnitude * STEPS).ceil().clamp(1.0, STEPS) as u8;
    if level > 0.0 { 128 + step } else { step }
}

/// One side's density per page view, capped at its own robust peak.
fn per_view_density(grid: &Grid, views: u64, size: (u32, u32), radius_px: u32) -> Field {
    let mut field = Field::from_grid(grid, size.0, size.1, 1.0 / views.max(1) as f32);
    let cap = field.robust_peak();
    field.cap(cap);
    field.blurred(radius_px)
}

/// Renders where `a` differs from `b`, per page view, as `request` asks (kind, width, radius,
/// opacity; the palette is always the diverging one).
pub fn render_difference(
    a: &SegmentAgg,
    b: &SegmentAgg,
    request: &HeatmapRequest,
) -> RenderResult<IndexedImage> {
    let (width_a, height_a) = page_size(a, request.width_px);
    let (width_b, height_b) = page_size(b, request.width_px);
    let size = (width_a.max(width_b), height_a.max(height_b));
    check_size(size.0, size.1)?;
    let difference = match request.kind {
        HeatmapKind::Click | HeatmapKind::Move => {
            fn grid(side: &SegmentAgg, kind: HeatmapKind) -> &Grid {
                if kind == HeatmapKind::Click {
                    &side.click_grid
                } else {
                    &side.move_grid
                }
            }
            let (grid_a, grid_b) = (grid(a, request.kind), grid(b, request.kind));
            let mut field = per_view_density(grid_a, a.views, size, request.radius_px);
            let other = per_view_density(grid_b, b.views, size, request.radius_px);
            field
                .values
                .iter_mut()
                .zip(&other.values)
                .for_each(|(x, y)| *x -= y);
            let (cols, rows) = (field.cols, field.rows);
            let reach = (request.radius_px / GRID_CELL_PX).max(1) as usize;
            let significant = significant_cells(
                &cell_counts(grid_a, cols, rows),
                &cell_counts(grid_b, cols, rows),
                cols,
                reach,
                (a.views, b.views),
            );
            keep_only(&mut field, &significant);
            field
        }
        HeatmapKind::Scroll => reach_difference(a, b, size),
        HeatmapKind::Attention => {
            return Err(RenderError::BadRequest(
                "an attention map cannot be compared yet: compare click, move or scroll maps"
                    .into(),
            ));
        }
    };
    let peak = difference.robust_peak();
    let pixels = if peak > 0.0 {
        difference.paint(size.0, size.1, |value| diverging_index(value / peak))
    } else {
        vec![0; size.0 as usize * size.1 as usize]
    };
    Ok(IndexedImage {
        width_px: size.0,
        height_px: size.1,
        palette: diverging_palette(request.opacity),
        pixels,
    })
}

/// The counts of `grid` in the cells of a `cols` × `rows` field (cells outside the grid: 0).
fn cell_counts(grid: &Grid, cols: usize, rows: usize) -> Vec<u64> {
    let mut counts = vec![0u64; cols * rows];
    for row in 0..rows.min(grid.rows as usize) {
        for col in 0..cols.min(grid.cols as usize) {
            counts[row * cols + col] = u64::from(grid.get(col as u32, row as u32));
        }
    }
    counts
}

/// Clears every cell of `field` that is not `significant`.
fn keep_only(field: &mut Field, significant: &[bool]) {
    field
        .values
        .iter_mut()
        .zip(significant)
        .filter(|(_, keep)| !**keep)
        .for_each(|(value, _)| *value = 0.0);
}

/// Page views of `scroll` that reached page row `y`.
fn reached_at(reached: &[(u32, u64)], y: u32) -> u64 {
    reached
        .get((y / SCROLL_BUCKET_PX) as usize)
        .map_or(0, |(_, views)| *views)
}

/// The difference in the share of page views that reached each cell row, where it is
/// significant (a two-proportion test per row, the false discovery rate controlled over rows).
fn reach_difference(a: &SegmentAgg, b: &SegmentAgg, size: (u32, u32)) -> Field {
    let mut field = Field::for_image(size.0, size.1);
    let rows_px = field.rows as u32 * GRID_CELL_PX;
    let (reach_a, reach_b) = (
        reach_by_row(&a.scroll, rows_px),
        reach_by_row(&b.scroll, rows_px),
    );
    let (reached_a, reached_b) = (a.scroll.reached_px(), b.scroll.reached_px());
    let views = |scroll: &ScrollDepth| scroll.views;
    let p_values: Vec<Option<f64>> = (0..field.rows as u32)
        .map(|row| {
            let y = row * GRID_CELL_PX;
            let (xa, xb) = (reached_at(&reached_a, y), reached_at(&reached_b, y));
            (xa + xb > 0).then(|| two_proportions(xa, views(&a.scroll), xb, views(&b.scroll)))
        })
        .collect();
    let significant = benjamini_hochberg(&p_values, FALSE_DISCOVERY_RATE);
    let cols = field.cols;
    for (row, values) in field.values.chunks_exact_mut(cols).enumerate() {
        let y = row * GRID_CELL_PX as usize;
        let difference = if significant[row] {
            reach_a[y] - reach_b[y]
        } else {
            0.0
        };
        values.fill(difference);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(views: u64, clicks: &[(i32, i32, u32)]) -> SegmentAgg {
        let mut segment = SegmentAgg {
            views,
            max_document_width_px: 400,
            max_document_height_px: 400,
            ..SegmentAgg::default()
        };
        for &(x, y, times) in clicks {
            for _ in 0..times {
                segment.click_grid.add(x, y);
            }
        }
        segment
    }

    #[test]
    fn each_side_is_normalized_by_its_views_and_drawn_in_its_own_colour() {
        // A: 100 views, 100 clicks at the button; B: 10 views, 10 clicks there: the same rate.
        // A alone clicks the banner; B alone clicks the footer.
        let a = side(100, &[(100, 100, 100), (300, 60, 50)]);
        let b = side(10, &[(100, 100, 10), (200, 350, 5)]);
        let request = HeatmapRequest::new(HeatmapKind::Click);
        let image = render_difference(&a, &b, &request).expect("render");
        assert_eq!(
            image.rgba_at(100, 100)[3],
            0,
            "equal click rates per view cancel out"
        );
        let banner = image.rgba_at(300, 60);
        assert!(
            banner[0] > 150 && banner[2] < 80 && banner[3] > 100,
            "more in A is red: {banner:?}"
        );
        let footer = image.rgba_at(200, 350);
        assert!(
            footer[2] > 150 && footer[0] < 80 && footer[3] > 100,
            "more in B is blue: {footer:?}"
        );
    }

    #[test]
    fn scroll_differences_follow_the_share_of_views_reaching_each_row() {
        let mut a = side(0, &[]);
        let mut b = side(0, &[]);
        for _ in 0..40 {
            a.scroll.add_view(1_000, 1_000, 300);
        }
        for _ in 0..10 {
            b.scroll.add_view(1_000, 1_000, 300);
            b.scroll.add_view(300, 1_000, 300);
        }
        a.max_document_height_px = 1_000;
        b.max_document_height_px = 1_000;
        let image =
            render_difference(&a, &b, &HeatmapRequest::new(HeatmapKind::Scroll)).expect("render");
        assert_eq!(image.rgba_at(10, 100)[3], 0, "everybody saw the top");
        assert_eq!(
            image.pixels[800 * image.width_px as usize + 10],
            255,
            "all of A but half of B reached 800 px: A's full colour"
        );
    }

    #[test]
    fn the_diverging_index_is_symmetric_and_transparent_near_zero() {
        assert_eq!(diverging_index(0.01), 0);
        assert_eq!(diverging_index(1.0), 255);
        assert_eq!(diverging_index(-1.0), 127);
        assert_eq!(diverging_index(0.5) - 128, diverging_index(-0.5));
        let palette = diverging_palette(1.0);
        assert_eq!(palette[255][..3], [179, 24, 43]);
        assert_eq!(palette[127][..3], [33, 102, 172]);
    }

    /// A deterministic stream of numbers in 0..1 (xorshift), for sampled clicks.
    struct Samples(u64);

    impl Samples {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A point near one of `blobs` ((x, y, spread), equally likely).
        fn near(&mut self, blobs: &[(f64, f64, f64)]) -> (i32, i32) {
            let (x, y, spread) = blobs[(self.uniform() * blobs.len() as f64) as usize];
            let radius = (-2.0 * (1.0 - self.uniform()).ln()).sqrt() * spread;
            let angle = self.uniform() * std::f64::consts::TAU;
            (
                (x + radius * angle.cos()) as i32,
                (y + radius * angle.sin()) as i32,
            )
        }
    }

    const BLOBS: [(f64, f64, f64); 3] = [
        (200.0, 200.0, 30.0),
        (600.0, 300.0, 30.0),
        (400.0, 600.0, 30.0),
    ];

    /// A side of `views` page views on an 800 × 800 page with `clicks` near the common blobs.
    fn sampled(samples: &mut Samples, views: u64, clicks: usize) -> SegmentAgg {
        let mut segment = side(views, &[]);
        segment.max_document_width_px = 800;
        segment.max_document_height_px = 800;
        for _ in 0..clicks {
            let (x, y) = samples.near(&BLOBS);
            segment.click_grid.add(x, y);
        }
        segment
    }

    fn coloured_share(image: &IndexedImage) -> f64 {
        image.pixels.iter().filter(|p| **p != 0).count() as f64 / image.pixels.len() as f64
    }

    #[test]
    fn two_samples_of_one_behaviour_give_a_clear_map() {
        let request = HeatmapRequest::new(HeatmapKind::Click);
        for seed in [1u64, 2, 3] {
            let mut samples = Samples(0x9e37_79b9_7f4a_7c15 ^ seed);
            // Twice the traffic on A, the same clicks per page view.
            let a = sampled(&mut samples, 2_000, 3_000);
            let b = sampled(&mut samples, 1_000, 1_500);
            let image = render_difference(&a, &b, &request).expect("render");
            let share = coloured_share(&image);
            assert!(
                share < 0.005,
                "seed {seed}: {share} of the map coloured by noise"
            );
        }
    }

    #[test]
    fn a_planted_difference_is_found_where_it_was_planted_and_nowhere_else() {
        let request = HeatmapRequest::new(HeatmapKind::Click);
        let mut samples = Samples(0x2545_f491_4f6c_dd1d);
        let mut a = sampled(&mut samples, 2_000, 3_000);
        let b = sampled(&mut samples, 1_000, 1_500);
        // A alone clicks a new button at (650, 650): 0.05 more clicks per page view there.
        for _ in 0..100 {
            let (x, y) = samples.near(&[(650.0, 650.0, 10.0)]);
            a.click_grid.add(x, y);
        }
        let image = render_difference(&a, &b, &request).expect("render");
        let planted = image.rgba_at(650, 650);
        assert!(
            planted[3] > 100 && planted[0] > 150 && planted[2] < 100,
            "red: {planted:?}"
        );
        for (x, y, _) in BLOBS {
            assert_eq!(
                image.rgba_at(x as u32, y as u32)[3],
                0,
                "no difference at ({x}, {y})"
            );
        }
        let share = coloured_share(&image);
        assert!(share < 0.03, "only around the planted button: {share}");
    }

    #[test]
    fn an_attention_map_is_refused_in_compare_mode_not_drawn_wrong() {
        let side = SegmentAgg {
            views: 1,
            max_document_width_px: 100,
            max_document_height_px: 100,
            ..SegmentAgg::default()
        };
        let request = HeatmapRequest::new(HeatmapKind::Attention);
        assert!(matches!(
            render_difference(&side, &side, &request),
            Err(RenderError::BadRequest(message)) if message.contains("attention")
        ));
    }
}
