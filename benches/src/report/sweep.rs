//! One workload measured on every contender: a fresh child process per run,
//! the contenders interleaved (each repetition starts one contender further
//! along, so that drift in the machine's state spreads over all of them),
//! the samples kept per metric in the order the metrics first appear, and
//! why a contender produced nothing.

use std::collections::BTreeMap;

use super::table::Cell;

/// The runs of one workload.
pub struct Sweep {
    /// Metric names, in order of first appearance.
    order: Vec<String>,
    /// Metric -> samples per contender.
    samples: BTreeMap<String, Vec<Vec<f64>>>,
    /// The last failure of each contender.
    failures: Vec<Option<String>>,
}

/// Runs `run(contender)` `reps` times for each of `contenders` contenders,
/// interleaved; `run` returns the child's metrics or why it has none.
pub fn interleaved(
    contenders: usize,
    reps: usize,
    mut run: impl FnMut(usize) -> Result<Vec<(String, f64)>, String>,
) -> Sweep {
    let mut sweep = Sweep {
        order: Vec::new(),
        samples: BTreeMap::new(),
        failures: vec![None; contenders],
    };
    for rep in 0..reps {
        for k in 0..contenders {
            let i = (rep + k) % contenders;
            match run(i) {
                Ok(metrics) => {
                    for (m, v) in metrics {
                        let entry = sweep.samples.entry(m.clone()).or_insert_with(|| {
                            sweep.order.push(m.clone());
                            vec![Vec::new(); contenders]
                        });
                        entry[i].push(v);
                    }
                }
                Err(why) => sweep.failures[i] = Some(why),
            }
        }
    }
    sweep
}

impl Sweep {
    /// The metrics measured, in order; `fallback` alone when no run
    /// produced any (its row then shows every contender's failure).
    pub fn metrics(&self, fallback: &str) -> Vec<String> {
        if self.order.is_empty() {
            vec![fallback.to_string()]
        } else {
            self.order.clone()
        }
    }

    /// One cell per contender for `metric`: its samples, or why it has none.
    pub fn cells(&self, metric: &str) -> Vec<Cell> {
        let none = Vec::new();
        self.failures
            .iter()
            .enumerate()
            .map(|(i, failure)| {
                let samples = self.samples.get(metric).map_or(&none, |s| &s[i]);
                match (samples.is_empty(), failure) {
                    (false, _) => Cell::Samples(samples.clone()),
                    (true, Some(why)) => Cell::Failed(why.clone()),
                    (true, None) => Cell::Failed("no result".to_string()),
                }
            })
            .collect()
    }
}

/// The log line of one row: each contender's median, or why it has none.
pub fn log_line<'a>(row: &str, names: impl Iterator<Item = &'a str>, cells: &[Cell]) -> String {
    let medians: Vec<String> = names
        .zip(cells)
        .map(|(name, c)| match c {
            Cell::Samples(_) => format!("{name} {:.1}", c.median().unwrap_or(f64::NAN)),
            Cell::Failed(why) => format!("{name} ({why})"),
        })
        .collect();
    format!("{row:<32} {}", medians.join("  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_and_keeps_failures_per_contender() {
        let mut calls = Vec::new();
        let sweep = interleaved(3, 2, |i| {
            calls.push(i);
            match i {
                0 => Ok(vec![("time_ms".to_string(), 1.0 + calls.len() as f64)]),
                1 => Err("stack overflow".to_string()),
                _ => Ok(vec![
                    ("time_ms".to_string(), 5.0),
                    ("rss_mib".to_string(), 7.0),
                ]),
            }
        });
        assert_eq!(calls, [0, 1, 2, 1, 2, 0]);
        assert_eq!(sweep.metrics("x"), ["time_ms", "rss_mib"]);
        let cells = sweep.cells("time_ms");
        assert!(matches!(&cells[0], Cell::Samples(s) if s == &[2.0, 7.0]));
        assert!(matches!(&cells[1], Cell::Failed(w) if w == "stack overflow"));
        assert!(matches!(&sweep.cells("rss_mib")[0], Cell::Failed(w) if w == "no result"));
        let line = log_line("w time", ["a", "b", "c"].into_iter(), &cells);
        assert_eq!(
            line,
            format!("{:<32} a 4.5  b (stack overflow)  c 5.0", "w time")
        );
    }

    #[test]
    fn a_workload_with_no_result_still_has_a_row() {
        let sweep = interleaved(2, 1, |_| Err("exit 1".to_string()));
        assert_eq!(sweep.metrics("time_ms"), ["time_ms"]);
        assert!(
            sweep
                .cells("time_ms")
                .iter()
                .all(|c| matches!(c, Cell::Failed(w) if w == "exit 1"))
        );
    }
}
