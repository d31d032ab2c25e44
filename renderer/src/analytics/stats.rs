//! The arithmetic the figures share: medians, means and ratios that are `None` over nothing.

/// Returns the median of `values` (the mean of the two middle ones for an even count), or None
/// when there are none. Sorts `values`.
pub fn median_u64(values: &mut [u64]) -> Option<f64> {
    values.sort_unstable();
    middle(values.len()).map(|(low, high)| (values[low] as f64 + values[high] as f64) / 2.0)
}

/// Returns the median of `values` as [`median_u64`] does. Sorts `values`.
pub fn median_f64(values: &mut [f64]) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    middle(values.len()).map(|(low, high)| (values[low] + values[high]) / 2.0)
}

/// The positions of the middle element(s) of `len` sorted values.
fn middle(len: usize) -> Option<(usize, usize)> {
    (len > 0).then(|| ((len - 1) / 2, len / 2))
}

/// Returns `part / whole`, or None when `whole` is 0.
pub fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

/// Returns the mean of `values`, or None when there are none.
pub fn mean_u64(values: &[u64]) -> Option<f64> {
    ratio(values.iter().map(|&v| v as f64).sum(), values.len() as f64)
}

/// Returns the mean of `values`, or None when there are none.
pub fn mean_f64(values: &[f64]) -> Option<f64> {
    ratio(values.iter().sum(), values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_take_the_middle_or_the_mean_of_the_two_middle_values() {
        assert_eq!(median_u64(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median_u64(&mut [4, 1, 3, 10]), Some(3.5));
        assert_eq!(median_u64(&mut []), None);
        assert_eq!(median_f64(&mut [2.5, 0.5]), Some(1.5));
        assert_eq!(mean_u64(&[1, 2, 6]), Some(3.0));
        assert_eq!(ratio(1.0, 0.0), None);
    }
}
