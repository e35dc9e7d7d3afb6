//! Runs the micro-benchmarks for the report: per workload, calibrate an
//! iteration count once, warm every allocator up, then take repetitions
//! with the allocators interleaved (each repetition runs all four, starting
//! from a different one), so drift in machine load hits all of them alike.

use std::time::Duration;

use super::table::{Cell, Comparison, Row};
use crate::micro::Micro;
use crate::shim::Allocator;

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct MicroPlan {
    /// Repetitions per allocator and workload (the median is reported).
    pub reps: usize,
    /// Aimed duration of one repetition.
    pub target: Duration,
}

/// The smallest iteration count that takes at least `target / 8` on the
/// system allocator, scaled up to about `target`.
fn calibrate(w: &Micro, target: Duration) -> u64 {
    let mut iters = 1u64;
    loop {
        let t = Allocator::System.run(w, iters);
        if t >= target / 8 || iters >= 1 << 40 {
            let per_iter = t.as_secs_f64() / iters as f64;
            return ((target.as_secs_f64() / per_iter.max(1e-12)) as u64).max(1);
        }
        iters *= 2;
    }
}

/// Measures every workload of `workloads` under `plan`; `log` gets one line
/// per workload as it finishes.
pub fn run(workloads: &[Micro], plan: MicroPlan, mut log: impl FnMut(&str)) -> Comparison {
    let allocators = Allocator::ALL;
    let mut rows = Vec::new();
    for w in workloads {
        let iters = calibrate(w, plan.target);
        let ops = (iters * w.ops_per_iter()) as f64;
        for a in allocators {
            let _ = a.run(w, iters.div_ceil(2));
        }
        let mut samples = vec![Vec::with_capacity(plan.reps); allocators.len()];
        for rep in 0..plan.reps {
            for k in 0..allocators.len() {
                let i = (rep + k) % allocators.len();
                let t = allocators[i].run(w, iters);
                samples[i].push(t.as_secs_f64() * 1e9 / ops);
            }
        }
        let row = Row {
            name: w.name(),
            detail: w.op().to_string(),
            cells: samples.into_iter().map(Cell::Samples).collect(),
        };
        let medians: Vec<String> = allocators
            .iter()
            .zip(&row.cells)
            .map(|(a, c)| format!("{} {:.1}", a.name(), c.median().unwrap_or(f64::NAN)))
            .collect();
        log(&format!(
            "{:<32} {:>10} iters  ns/op: {}",
            row.name,
            iters,
            medians.join("  ")
        ));
        rows.push(row);
    }
    Comparison {
        title: "Micro-benchmarks: each allocator called through GlobalAlloc".to_string(),
        description: format!(
            "Each allocator is called through the same out-of-line generic shims \
             (`benches/src/shim.rs`), one call deep as through `__rust_alloc`, from one \
             process. {} repetitions of about {} ms each per allocator and workload, the \
             four allocators interleaved. Sizes and orders are drawn with the fixed seed.",
            plan.reps,
            plan.target.as_millis()
        ),
        unit: "ns per operation".to_string(),
        contenders: allocators.iter().map(|a| a.name().to_string()).collect(),
        baseline: 0,
        subject: Some(1),
        variants: Vec::new(),
        rows,
    }
}
