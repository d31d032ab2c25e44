//! Density grids: counts per [`GRID_CELL_PX`] square of the page, and the packed [`Cell`] a
//! point falls in, so click and move events can be queued for a grid cheaply.

use serde::{Deserialize, Serialize};

/// Side of a grid cell in CSS pixels.
pub const GRID_CELL_PX: u32 = 8;
/// Events right of this are outside every grid.
pub const MAX_GRID_WIDTH_PX: u32 = 8192;
/// Events below this are outside every grid.
pub const MAX_GRID_HEIGHT_PX: u32 = 65_536;

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
    pub(super) fn is_consistent(&self) -> bool {
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
}
