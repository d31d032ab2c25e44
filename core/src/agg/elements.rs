//! Clicks per element (by CSS selector): counts, frustration and where inside the element's box
//! they landed; only the most clicked elements of a segment are kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{PERMYRIAD_MAX, TargetPoint};

/// Elements kept per segment, the most clicked first.
pub const MAX_ELEMENTS_PER_SEGMENT: usize = 256;
/// Bins per axis of where clicks landed inside an element's box.
pub const INSIDE_BINS: u32 = 10;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
