//! The line format in which a `wp_*` child reports to the report: one
//! `RESULT <metric> <value>` line per metric on stdout. Lines starting with
//! `#` are comments (parameters, checksums); anything else is ignored.
//!
//! ```text
//! # wp alloc=pymalloc workload=binary_trees param=16 seed=0x5eed0005a110ca7e
//! RESULT time_ms 231.402
//! RESULT peak_rss_mib 9.125
//! ```

/// The word that starts a result line.
pub const PREFIX: &str = "RESULT";

/// Formats one result line (no newline).
pub fn line(metric: &str, value: f64) -> String {
    format!("{PREFIX} {metric} {value:.4}")
}

/// Every `(metric, value)` in `stdout`, in order; malformed lines skipped.
pub fn parse(stdout: &str) -> Vec<(String, f64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            if words.next()? != PREFIX {
                return None;
            }
            let metric = words.next()?;
            let value: f64 = words.next()?.parse().ok()?;
            Some((metric.to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let out = format!(
            "# comment\n{}\nnoise\nRESULT broken\n{}\n",
            line("time_ms", 12.5),
            line("peak_rss_mib", 3.0)
        );
        assert_eq!(
            parse(&out),
            vec![
                ("time_ms".to_string(), 12.5),
                ("peak_rss_mib".to_string(), 3.0)
            ]
        );
    }
}
