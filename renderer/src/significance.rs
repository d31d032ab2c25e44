//! Which differences between two sides of a comparison are real, not noise: the tests that
//! decide which cells (or rows) a difference map may colour.
//!
//! Clicks and moves: the events inside a window of the kernel's radius around each cell are
//! counted on each side. If both sides behaved alike, an event of the window would be A's with
//! probability `views_a / (views_a + views_b)`, so, given the window's total, A's count is
//! binomial: a two-sided conditional binomial test (exact up to [`EXACT_MAX_EVENTS`] events, its
//! normal approximation beyond). Scroll reach: the share of page views reaching each row, by a
//! two-proportion z-test. Over every tested cell, the Benjamini–Hochberg procedure keeps the
//! share of false discoveries among the coloured cells at most [`FALSE_DISCOVERY_RATE`].

use rayon::prelude::*;

/// The false discovery rate a difference map allows.
pub const FALSE_DISCOVERY_RATE: f64 = 0.05;
/// Windows with at most this many events are tested exactly.
pub const EXACT_MAX_EVENTS: u64 = 300;

/// Returns the two-sided p-value of `k` of `n` events on one side when each is that side's with
/// probability `p` (0 < p < 1): the probability of every outcome no likelier than `k`.
pub fn binomial_two_sided(k: u64, n: u64, p: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if n > EXACT_MAX_EVENTS {
        let mean = n as f64 * p;
        let sd = (mean * (1.0 - p)).sqrt();
        let z = ((k as f64 - mean).abs() - 0.5).max(0.0) / sd;
        return erfc(z / std::f64::consts::SQRT_2).min(1.0);
    }
    // log P(i) for i = 0..=n, from P(0) = (1-p)^n by the ratio of successive terms.
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut log_pmf = Vec::with_capacity(n as usize + 1);
    let mut current = n as f64 * ln_q;
    for i in 0..=n {
        log_pmf.push(current);
        current += ((n - i) as f64 / (i + 1) as f64).ln() + ln_p - ln_q;
    }
    let observed = log_pmf[k as usize];
    let tolerance = 1e-7;
    let total: f64 = log_pmf
        .iter()
        .filter(|lp| **lp <= observed + tolerance)
        .map(|lp| lp.exp())
        .sum();
    total.min(1.0)
}

/// The complementary error function (Numerical Recipes' `erfcc`, fractional error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

/// Returns the two-sided p-value that `xa` of `na` and `xb` of `nb` views come from one share.
pub fn two_proportions(xa: u64, na: u64, xb: u64, nb: u64) -> f64 {
    if na == 0 || nb == 0 {
        return 1.0;
    }
    let (na, nb) = (na as f64, nb as f64);
    let pooled = (xa + xb) as f64 / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (xa as f64 / na - xb as f64 / nb).abs() / se;
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

/// Returns which of `p_values` (None: not tested) the Benjamini–Hochberg procedure at `rate`
/// declares significant.
pub fn benjamini_hochberg(p_values: &[Option<f64>], rate: f64) -> Vec<bool> {
    let mut tested: Vec<f64> = p_values.iter().flatten().copied().collect();
    let m = tested.len();
    tested.sort_unstable_by(f64::total_cmp);
    let threshold = tested
        .iter()
        .enumerate()
        .rev()
        .find(|(rank, p)| **p <= (rank + 1) as f64 / m as f64 * rate)
        .map(|(_, p)| *p);
    p_values
        .iter()
        .map(|p| matches!((p, threshold), (Some(p), Some(t)) if *p <= t))
        .collect()
}

/// Sums `counts` (a `cols` × rows grid, row-major) over the square window of `reach` cells on
/// each side of every cell.
pub fn window_sums(counts: &[u64], cols: usize, reach: usize) -> Vec<u64> {
    if cols == 0 {
        return Vec::new();
    }
    let rows = counts.len() / cols;
    // Summed-area table with a zero row and column in front.
    let width = cols + 1;
    let mut table = vec![0u64; width * (rows + 1)];
    for row in 0..rows {
        let mut line = 0u64;
        for col in 0..cols {
            line += counts[row * cols + col];
            table[(row + 1) * width + col + 1] = table[row * width + col + 1] + line;
        }
    }
    let sum = |row: usize, col: usize| {
        let (top, bottom) = (row.saturating_sub(reach), (row + reach + 1).min(rows));
        let (left, right) = (col.saturating_sub(reach), (col + reach + 1).min(cols));
        table[bottom * width + right] + table[top * width + left]
            - table[top * width + right]
            - table[bottom * width + left]
    };
    (0..rows * cols)
        .into_par_iter()
        .map(|cell| sum(cell / cols, cell % cols))
        .collect()
}

/// Returns, for each cell, whether A's and B's event counts within `reach` cells differ
/// significantly per page view (see the module's description).
pub fn significant_cells(
    a: &[u64],
    b: &[u64],
    cols: usize,
    reach: usize,
    views: (u64, u64),
) -> Vec<bool> {
    if views.0 == 0 || views.1 == 0 {
        return vec![false; a.len()];
    }
    let share_a = views.0 as f64 / (views.0 + views.1) as f64;
    let (sums_a, sums_b) = (window_sums(a, cols, reach), window_sums(b, cols, reach));
    let p_values: Vec<Option<f64>> = sums_a
        .par_iter()
        .zip(&sums_b)
        .map(|(&ka, &kb)| (ka + kb > 0).then(|| binomial_two_sided(ka, ka + kb, share_a)))
        .collect();
    benjamini_hochberg(&p_values, FALSE_DISCOVERY_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_binomial_p_values_match_worked_examples() {
        // 10 fair coin flips, 9 heads: P = 2 * (10 + 1) / 1024.
        assert!((binomial_two_sided(9, 10, 0.5) - 22.0 / 1024.0).abs() < 1e-12);
        assert!((binomial_two_sided(5, 10, 0.5) - 1.0).abs() < 1e-12);
        // All 50 events on the side that has 100 of 110 views: 0.909…^50 in its own tail, plus
        // the other tail's outcomes no likelier than that.
        let p = binomial_two_sided(50, 50, 100.0 / 110.0);
        let own_tail = (100.0f64 / 110.0).powi(50);
        assert!(p > own_tail && p < 2.0 * own_tail, "{p}");
        // The normal approximation agrees with the exact test near its switch.
        let exact = binomial_two_sided(170, 300, 0.5);
        let approximate = binomial_two_sided(340, 600, 0.5);
        assert!(
            exact > 0.015 && exact < 0.03 && approximate < 0.002,
            "{exact} {approximate}"
        );
        assert!(
            (erfc(0.0) - 1.0).abs() < 1e-7
                && (erfc(1.96 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-4
        );
    }

    #[test]
    fn benjamini_hochberg_finds_the_largest_passing_rank() {
        let p = [Some(0.01), Some(0.04), None, Some(0.03), Some(0.5)];
        // m = 4: thresholds 0.0125, 0.025, 0.0375, 0.05; 0.03 is rank 2 (> 0.025), 0.04 rank 3
        // (> 0.0375): only 0.01 passes.
        assert_eq!(
            benjamini_hochberg(&p, 0.05),
            [true, false, false, false, false]
        );
        let all = [Some(0.001), Some(0.002), Some(0.003)];
        assert_eq!(benjamini_hochberg(&all, 0.05), [true, true, true]);
        assert!(benjamini_hochberg(&[None, None], 0.05).iter().all(|s| !s));
    }

    #[test]
    fn window_sums_cover_the_square_around_each_cell() {
        let counts = [1, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(window_sums(&counts, 3, 1), [1, 1, 0, 1, 3, 2, 0, 2, 2]);
        assert_eq!(window_sums(&counts, 3, 0), counts);
    }
}
