//! The `.hpa` aggregate formats: per page and segment, click and move grids, a scroll-depth
//! histogram and counts; plus the day's page index. Everything merges by addition, so a date
//! range is the sum of its days and a shard's partial result merges the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FormatError;
use crate::event::{PERMYRIAD_MAX, TargetPoint};
use crate::frame::{FRAME_ZSTD_LEVEL, FrameKind, decode_frame, encode_frame};

/// Side of a grid cell in CSS pixels.
pub const GRID_CELL_PX: u32 = 8;
/// Events right of this are outside every grid.
pub const MAX_GRID_WIDTH_PX: u32 = 8192;
/// Events below this are outside every grid.
pub const MAX_GRID_HEIGHT_PX: u32 = 65_536;
/// Height of one scroll-depth histogram bucket in CSS pixels.
pub const SCROLL_BUCKET_PX: u32 = 10;

/// Elements kept per segment, the most clicked first.
pub const MAX_ELEMENTS_PER_SEGMENT: usize = 256;
/// Bins per axis of where clicks landed inside an element's box.
pub const INSIDE_BINS: u32 = 10;

const PAGE_AGG_KIND: FrameKind = FrameKind {
    magic: *b"HPAP",
    version: 2,
    oldest_version: 1,
    name: "page aggregate",
    zstd_level: FRAME_ZSTD_LEVEL,
};
const PAGE_INDEX_KIND: FrameKind = FrameKind {
    magic: *b"HPAI",
    version: 1,
    oldest_version: 1,
    name: "page index",
    zstd_level: FRAME_ZSTD_LEVEL,
};

/// Counts per `GRID_CELL_PX` square of the page, row-major, growing as events arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub cols: u32,
    pub rows: u32,
    pub counts: Vec<u32>,
}

impl Grid {
    /// Adds one event at page (`x`, `y`); returns false if it lies outside the grid's bounds.
    pub fn add(&mut self, x: i32, y: i32) -> bool {
        let Some(cell) = Cell::at(x, y) else {
            return false;
        };
        self.add_cells(&[cell]);
        true
    }

    /// Adds one event in each of `cells` (a cell may come many times).
    pub fn add_cells(&mut self, cells: &[Cell]) {
        let (mut cols, mut rows) = (self.cols, self.rows);
        for cell in cells {
            cols = cols.max(cell.col() + 1);
            rows = rows.max(cell.row() + 1);
        }
        self.ensure(cols, rows);
        let stride = self.cols as usize;
        for cell in cells {
            let index = cell.row() as usize * stride + cell.col() as usize;
            if let Some(count) = self.counts.get_mut(index) {
                *count = count.saturating_add(1);
            }
        }
    }

    /// Sizes the grid for a page `width_px` × `height_px` at once (capped at the grid bounds),
    /// so it does not regrow, copying every row, as events reach further down and right.
    pub fn reserve_page(&mut self, width_px: u32, height_px: u32) {
        let cols = width_px.min(MAX_GRID_WIDTH_PX).div_ceil(GRID_CELL_PX);
        let rows = height_px.min(MAX_GRID_HEIGHT_PX).div_ceil(GRID_CELL_PX);
        self.ensure(cols, rows);
    }

    /// Returns the count of cell (`col`, `row`), 0 outside the grid.
    pub fn get(&self, col: u32, row: u32) -> u32 {
        if col >= self.cols || row >= self.rows {
            return 0;
        }
        self.counts[row as usize * self.cols as usize + col as usize]
    }

    /// Returns the sum of all cells.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Adds every cell of `other` into this grid.
    pub fn merge(&mut self, other: &Grid) {
        self.ensure(other.cols, other.rows);
        for row in 0..other.rows {
            let source =
                &other.counts[(row * other.cols) as usize..((row + 1) * other.cols) as usize];
            let start = (row * self.cols) as usize;
            for (target, &count) in self.counts[start..start + other.cols as usize]
                .iter_mut()
                .zip(source)
            {
                *target = target.saturating_add(count);
            }
        }
    }

    /// Grows to at least `cols` × `rows`, keeping every count in its cell.
    fn ensure(&mut self, cols: u32, rows: u32) {
        if cols <= self.cols && rows <= self.rows {
            return;
        }
        let new_cols = cols.max(self.cols);
        let new_rows = rows.max(self.rows);
        if new_cols == self.cols {
            self.counts.resize(new_cols as usize * new_rows as usize, 0);
        } else {
            let mut counts = vec![0u32; new_cols as usize * new_rows as usize];
            for row in 0..self.rows as usize {
                let source = &self.counts[row * self.cols as usize..(row + 1) * self.cols as usize];
                counts[row * new_cols as usize..row * new_cols as usize + self.cols as usize]
                    .copy_from_slice(source);
            }
            self.counts = counts;
        }
        self.cols = new_cols;
        self.rows = new_rows;
    }

    /// Checks the invariant a decoded grid must hold before it is indexed.
    fn is_consistent(&self) -> bool {
        self.counts.len() as u64 == u64::from(self.cols) * u64::from(self.rows)
    }
}

/// A grid cell, packed in 32 bits: `row << 10 | col` (a grid has at most 1024 columns and 8192
/// rows), so events can be queued for a grid in a quarter of the room their points take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell(u32);

const CELL_COL_BITS: u32 = 10;
const _: () = assert!(MAX_GRID_WIDTH_PX / GRID_CELL_PX <= 1 << CELL_COL_BITS);

impl Cell {
    /// Returns the cell holding page point (`x`, `y`), or `None` outside every grid's bounds.
    #[inline]
    pub fn at(x: i32, y: i32) -> Option<Cell> {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
            return None;
        };
        if x >= MAX_GRID_WIDTH_PX || y >= MAX_GRID_HEIGHT_PX {
            return None;
        }
        Some(Cell(
            ((y / GRID_CELL_PX) << CELL_COL_BITS) | (x / GRID_CELL_PX),
        ))
    }

    pub fn col(self) -> u32 {
        self.0 & ((1 << CELL_COL_BITS) - 1)
    }

    pub fn row(self) -> u32 {
        self.0 >> CELL_COL_BITS
    }
}

/// How deep page views reached: histograms of each view's deepest point.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrollDepth {
    /// Views whose deepest point (bottom of the viewport) fell in bucket `i` of `SCROLL_BUCKET_PX`.
    pub deepest_px: Vec<u64>,
    /// Views of known document height whose deepest point was `i` percent of the page (0..=100).
    pub deepest_percent: Vec<u64>,
    pub views: u64,
    pub views_with_height: u64,
    /// Sum of the viewport heights at load, for the average fold.
    pub fold_px_sum: u64,
}

impl ScrollDepth {
    /// Records one page view that reached `depth_px`, on a document `document_height_px` tall
    /// (0 if unknown) seen through a viewport `fold_px` tall.
    pub fn add_view(&mut self, depth_px: u32, document_height_px: u32, fold_px: u32) {
        let depth_px = depth_px.min(MAX_GRID_HEIGHT_PX);
        let bucket = (depth_px / SCROLL_BUCKET_PX) as usize;
        if self.deepest_px.len() <= bucket {
            self.deepest_px.resize(bucket + 1, 0);
        }
        self.deepest_px[bucket] += 1;
        self.views += 1;
        self.fold_px_sum += u64::from(fold_px);
        if document_height_px > 0 {
            let percent =
                (u64::from(depth_px) * 100 / u64::from(document_height_px)).min(100) as usize;
            if self.deepest_percent.len() < 101 {
                self.deepest_percent.resize(101, 0);
            }
            self.deepest_percent[percent] += 1;
            self.views_with_height += 1;
        }
    }

    /// Adds `other`'s views into this one.
    pub fn merge(&mut self, other: &ScrollDepth) {
        add_vectors(&mut self.deepest_px, &other.deepest_px);
        add_vectors(&mut self.deepest_percent, &other.deepest_percent);
        self.views += other.views;
        self.views_with_height += other.views_with_height;
        self.fold_px_sum += other.fold_px_sum;
    }

    /// Returns, for each bucket start in pixels, how many views reached at least that deep.
    pub fn reached_px(&self) -> Vec<(u32, u64)> {
        suffix_sums(&self.deepest_px)
            .into_iter()
            .enumerate()
            .map(|(bucket, reached)| (bucket as u32 * SCROLL_BUCKET_PX, reached))
            .collect()
    }

    /// Returns, for each percent 0..=100, how many views of known height reached at least that.
    pub fn reached_percent(&self) -> Vec<(u32, u64)> {
        if self.views_with_height == 0 {
            return Vec::new();
        }
        let mut histogram = self.deepest_percent.clone();
        histogram.resize(101, 0);
        suffix_sums(&histogram)
            .into_iter()
            .enumerate()
            .map(|(p, n)| (p as u32, n))
            .collect()
    }

    /// Returns the average viewport height at load, in pixels.
    pub fn average_fold_px(&self) -> u32 {
        self.fold_px_sum.checked_div(self.views).unwrap_or(0) as u32
    }
}

fn add_vectors(target: &mut Vec<u64>, source: &[u64]) {
    if target.len() < source.len() {
        target.resize(source.len(), 0);
    }
    for (t, s) in target.iter_mut().zip(source) {
        *t += s;
    }
}

fn suffix_sums(histogram: &[u64]) -> Vec<u64> {
    let mut sums = vec![0u64; histogram.len()];
    let mut running = 0;
    for (index, &count) in histogram.iter().enumerate().rev() {
        running += count;
        sums[index] = running;
    }
    sums
}

/// Clicks on one element (by CSS selector), so the viewer can list the most clicked elements
/// and anchor their clicks to the element wherever the layout puts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementAgg {
    pub clicks: u64,
    /// Rage clicks (bursts) that started on this element.
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    /// Where inside the element's box clicks landed: `INSIDE_BINS` × `INSIDE_BINS` counts,
    /// row-major from the top left; empty when no click knew its position inside.
    pub inside: Vec<u32>,
}

impl ElementAgg {
    /// Records one click, `inside` the box at (x, y) in 1/10000 of its size when known.
    pub fn add_click(&mut self, inside: Option<TargetPoint>) {
        self.clicks += 1;
        if let Some(point) = inside {
            // Bin i holds [i/BINS, (i+1)/BINS) of the box; the far edge joins the last bin.
            let bin = |permyriad: u16| {
                (u32::from(permyriad) * INSIDE_BINS / u32::from(PERMYRIAD_MAX)).min(INSIDE_BINS - 1)
                    as usize
            };
            if self.inside.is_empty() {
                self.inside = vec![0; (INSIDE_BINS * INSIDE_BINS) as usize];
            }
            let index = bin(point.y_permyriad) * INSIDE_BINS as usize + bin(point.x_permyriad);
            if let Some(count) = self.inside.get_mut(index) {
                *count = count.saturating_add(1);
            }
        }
    }

    pub fn merge(&mut self, other: &ElementAgg) {
        self.clicks += other.clicks;
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        if !other.inside.is_empty() {
            if self.inside.is_empty() {
                self.inside = vec![0; other.inside.len()];
            }
            for (target, count) in self.inside.iter_mut().zip(&other.inside) {
                *target = target.saturating_add(*count);
            }
        }
    }
}

/// Keeps the [`MAX_ELEMENTS_PER_SEGMENT`] most clicked elements (ties: by selector).
pub fn keep_top_elements(elements: &mut BTreeMap<String, ElementAgg>) {
    if elements.len() <= MAX_ELEMENTS_PER_SEGMENT {
        return;
    }
    let mut ranked: Vec<(String, ElementAgg)> = std::mem::take(elements).into_iter().collect();
    ranked.sort_by(|a, b| b.1.clicks.cmp(&a.1.clicks).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(MAX_ELEMENTS_PER_SEGMENT);
    *elements = ranked.into_iter().collect();
}

/// Everything known of one page for one segment of its visitors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentAgg {
    pub views: u64,
    pub sessions: u64,
    pub clicks: u64,
    pub moves: u64,
    pub scrolls: u64,
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    pub max_document_width_px: u32,
    pub max_document_height_px: u32,
    pub click_grid: Grid,
    pub move_grid: Grid,
    pub scroll: ScrollDepth,
    /// The most clicked elements, by selector.
    pub elements: BTreeMap<String, ElementAgg>,
}

impl SegmentAgg {
    /// Adds `other` into this segment.
    pub fn merge(&mut self, other: &SegmentAgg) {
        self.views += other.views;
        self.sessions += other.sessions;
        self.clicks += other.clicks;
        self.moves += other.moves;
        self.scrolls += other.scrolls;
        self.rage_clicks += other.rage_clicks;
        self.dead_clicks += other.dead_clicks;
        self.max_document_width_px = self.max_document_width_px.max(other.max_document_width_px);
        self.max_document_height_px = self
            .max_document_height_px
            .max(other.max_document_height_px);
        self.click_grid.merge(&other.click_grid);
        self.move_grid.merge(&other.move_grid);
        self.scroll.merge(&other.scroll);
        for (selector, element) in &other.elements {
            self.elements
                .entry(selector.clone())
                .or_default()
                .merge(element);
        }
        keep_top_elements(&mut self.elements);
    }
}

/// One page's aggregates for one day (or a merged range), by segment key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageAgg {
    pub url: String,
    pub key: String,
    /// Grid cell side in CSS pixels.
    pub cell_px: u32,
    pub segments: BTreeMap<String, SegmentAgg>,
}

impl PageAgg {
    pub fn new(url: String, key: String) -> Self {
        PageAgg {
            url,
            key,
            cell_px: GRID_CELL_PX,
            segments: BTreeMap::new(),
        }
    }

    /// Adds every segment of `other` into this page.
    pub fn merge(&mut self, other: &PageAgg) {
        for (segment, agg) in &other.segments {
            self.segments.entry(segment.clone()).or_default().merge(agg);
        }
    }

    /// Returns the sum of the segments whose keys `select` accepts (see
    /// [`crate::segment::SegmentFilter`]).
    pub fn combined(&self, select: impl Fn(&str) -> bool) -> SegmentAgg {
        let mut total = SegmentAgg::default();
        for (segment, agg) in &self.segments {
            if select(segment) {
                total.merge(agg);
            }
        }
        total
    }

    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        encode_frame(PAGE_AGG_KIND, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let agg: PageAgg = decode_frame(PAGE_AGG_KIND, bytes)?;
        let grids = agg
            .segments
            .values()
            .flat_map(|s| [&s.click_grid, &s.move_grid]);
        if agg.cell_px != GRID_CELL_PX || !grids.into_iter().all(Grid::is_consistent) {
            return Err(FormatError::Header(
                "grid dimensions do not match its cells".into(),
            ));
        }
        Ok(agg)
    }
}

/// One line of the day's page index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSummary {
    pub url: String,
    pub key: String,
    pub views: u64,
    pub sessions: u64,
    pub clicks: u64,
    pub moves: u64,
}

/// The pages seen on a day, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageIndex {
    pub pages: Vec<PageSummary>,
}

impl PageIndex {
    /// Adds `other`'s pages into this index, keeping it sorted by key.
    pub fn merge(&mut self, other: &PageIndex) {
        let mut by_key: BTreeMap<String, PageSummary> = self
            .pages
            .drain(..)
            .map(|page| (page.key.clone(), page))
            .collect();
        for page in &other.pages {
            let entry = by_key
                .entry(page.key.clone())
                .or_insert_with(|| PageSummary {
                    url: page.url.clone(),
                    key: page.key.clone(),
                    ..PageSummary::default()
                });
            entry.views += page.views;
            entry.sessions += page.sessions;
            entry.clicks += page.clicks;
            entry.moves += page.moves;
        }
        self.pages = by_key.into_values().collect();
    }

    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        encode_frame(PAGE_INDEX_KIND, self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        decode_frame(PAGE_INDEX_KIND, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_pack_every_point_inside_the_bounds_and_nothing_else() {
        let last = (MAX_GRID_WIDTH_PX as i32 - 1, MAX_GRID_HEIGHT_PX as i32 - 1);
        let cell = Cell::at(last.0, last.1).expect("inside");
        assert_eq!((cell.col(), cell.row()), (1023, 8191));
        let cell = Cell::at(17, 8).expect("inside");
        assert_eq!((cell.col(), cell.row()), (2, 1));
        for (x, y) in [(-1, 0), (0, -1), (last.0 + 1, 0), (0, last.1 + 1)] {
            assert_eq!(Cell::at(x, y), None, "({x}, {y})");
        }
    }

    fn grid_of(points: &[(i32, i32)]) -> Grid {
        let mut grid = Grid::default();
        for &(x, y) in points {
            grid.add(x, y);
        }
        grid
    }

    proptest! {
        #[test]
        fn adding_cells_together_equals_adding_points_one_by_one(
            points in proptest::collection::vec((-20i32..3_000, -20i32..9_000), 0..200),
            split in 0usize..200,
        ) {
            let one_by_one = grid_of(&points);
            let cells: Vec<Cell> = points.iter().filter_map(|&(x, y)| Cell::at(x, y)).collect();
            let (first, second) = cells.split_at(split.min(cells.len()));
            let mut together = Grid::default();
            together.add_cells(first);
            together.add_cells(second);
            prop_assert_eq!(together, one_by_one);
        }

        #[test]
        fn grid_merge_equals_adding_all_points(
            a in proptest::collection::vec((-10i32..3000, -10i32..3000), 0..50),
            b in proptest::collection::vec((-10i32..3000, -10i32..3000), 0..50),
        ) {
            let mut merged = grid_of(&a);
            merged.merge(&grid_of(&b));
            let all: Vec<_> = a.iter().chain(&b).copied().collect();
            let reference = grid_of(&all);
            for row in 0..merged.rows.max(reference.rows) {
                for col in 0..merged.cols.max(reference.cols) {
                    prop_assert_eq!(merged.get(col, row), reference.get(col, row));
                }
            }
            prop_assert_eq!(merged.total(), all.iter().filter(|(x, y)| *x >= 0 && *y >= 0).count() as u64);
        }
    }

    #[test]
    fn scroll_reach_counts_views_at_least_that_deep() {
        let mut depth = ScrollDepth::default();
        depth.add_view(800, 4000, 800);
        depth.add_view(2000, 4000, 800);
        depth.add_view(4000, 4000, 800);
        let reached = depth.reached_px();
        assert_eq!(reached[0], (0, 3));
        assert_eq!(reached[80], (800, 3));
        assert_eq!(reached[81], (810, 2));
        assert_eq!(reached[200], (2000, 2));
        assert_eq!(reached[201], (2010, 1));
        let percent = depth.reached_percent();
        assert_eq!(percent[20], (20, 3));
        assert_eq!(percent[21], (21, 2));
        assert_eq!(percent[51], (51, 1));
        assert_eq!(percent[100], (100, 1));
        assert_eq!(depth.average_fold_px(), 800);
    }

    #[test]
    fn element_clicks_bin_where_they_landed_and_only_the_top_elements_are_kept() {
        let mut element = ElementAgg::default();
        for (x, y) in [(0, 0), (5_000, 5_000), (10_000, 10_000), (9_999, 1)] {
            element.add_click(Some(TargetPoint {
                x_permyriad: x,
                y_permyriad: y,
            }));
        }
        element.add_click(None);
        assert_eq!(element.clicks, 5);
        assert_eq!(element.inside[0], 1, "top left corner");
        assert_eq!(element.inside[5 * 10 + 5], 1, "centre");
        assert_eq!(
            element.inside[9 * 10 + 9],
            1,
            "the far edge joins the last bin"
        );
        assert_eq!(element.inside[9], 1, "top right");
        assert_eq!(element.inside.iter().sum::<u32>(), 4);

        let clicks_of = |i: u64| if i < 10 { 1_000 } else { i % 7 };
        let mut elements: BTreeMap<String, ElementAgg> = (0..300u64)
            .map(|i| {
                let element = ElementAgg {
                    clicks: clicks_of(i),
                    ..ElementAgg::default()
                };
                (format!("#e{i:03}"), element)
            })
            .collect();
        keep_top_elements(&mut elements);
        // Reference: rank every element by clicks (most first), ties by selector, keep 256.
        let mut ranked: Vec<(u64, String)> = (0..300u64)
            .map(|i| (clicks_of(i), format!("#e{i:03}")))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let expected: Vec<String> = {
            let mut kept: Vec<String> = ranked
                .into_iter()
                .take(MAX_ELEMENTS_PER_SEGMENT)
                .map(|(_, selector)| selector)
                .collect();
            kept.sort();
            kept
        };
        assert_eq!(elements.keys().cloned().collect::<Vec<_>>(), expected);
        assert!(
            elements.values().all(|e| e.clicks > 0),
            "no zero-click element kept"
        );
    }

    #[test]
    fn page_aggregates_round_trip_and_reject_inconsistent_grids() {
        let mut page = PageAgg::new("https://a.example/".into(), "k".into());
        let segment = page
            .segments
            .entry("device=desktop&width=1280".into())
            .or_default();
        segment.click_grid.add(100, 200);
        segment.scroll.add_view(900, 0, 900);
        let bytes = page.encode().expect("encode");
        assert_eq!(PageAgg::decode(&bytes).expect("decode"), page);

        let mut broken = page.clone();
        if let Some(segment) = broken.segments.values_mut().next() {
            segment.click_grid.cols += 1;
        }
        assert!(PageAgg::decode(&broken.encode().expect("encode")).is_err());
    }
}
