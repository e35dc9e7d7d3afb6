//! Robust summaries of repeated measurements: median, median absolute
//! deviation, geometric mean.

/// The median of `xs` (the mean of the middle two for an even count);
/// `None` when empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The median absolute deviation from the median, relative to the median
/// (0.05 = 5%); `None` when empty or the median is zero.
pub fn relative_mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    if m == 0.0 {
        return None;
    }
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    Some(median(&dev)? / m.abs())
}

/// The geometric mean of positive `xs`; `None` when empty.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|&x| x <= 0.0) {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(relative_mad(&[10.0, 11.0, 9.0]), Some(0.1));
        let g = geomean(&[1.0, 4.0]).unwrap();
        assert!((g - 2.0).abs() < 1e-12);
        assert_eq!(geomean(&[1.0, 0.0]), None);
    }
}
