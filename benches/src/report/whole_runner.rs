//! Runs the whole-program workloads for the report: builds the `wp_*`
//! binaries if needed, then runs each workload in a fresh child process per
//! allocator and repetition, allocators interleaved, and parses the
//! children's [`protocol`](crate::whole::protocol) lines.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::table::{Comparison, Row};
use super::{process, sweep};
use crate::shim::Allocator;
use crate::whole::{Scale, Whole};

/// How much to measure.
#[derive(Clone, Debug)]
pub struct WholePlan {
    /// Repetitions (fresh processes) per allocator and workload.
    pub reps: usize,
    /// Size of each run.
    pub scale: Scale,
    /// Where the `wp_*` binaries are.
    pub bin_dir: PathBuf,
    /// The workloads to run.
    pub workloads: Vec<Whole>,
}

/// The whole-program results: times, and memory.
pub struct WholeResults {
    /// Metrics in milliseconds.
    pub time: Comparison,
    /// Metrics in MiB.
    pub memory: Comparison,
}

/// The path of the `wp_*` binary for `a` in `bin_dir`.
pub fn child_path(bin_dir: &Path, a: Allocator) -> PathBuf {
    bin_dir.join(format!("wp_{}{}", a.name(), std::env::consts::EXE_SUFFIX))
}

/// Builds the four `wp_*` binaries and the GC binaries (`gc_peers`,
/// `gc_peers_pymalloc`) with the profile and target directory the
/// running binary was built with (`cargo run --bin report` builds only the
/// report itself). Cargo comes from `$CARGO` (set by `cargo run`) or `PATH`.
pub fn build_children(bin_dir: &Path) -> Result<(), String> {
    let profile = match bin_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => return Err(format!("cannot tell the profile of {}", bin_dir.display())),
    };
    let target_dir = bin_dir
        .parent()
        .ok_or_else(|| format!("no target directory above {}", bin_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--profile", profile, "-p", "benches"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for a in Allocator::ALL {
        cmd.args(["--bin", &format!("wp_{}", a.name())]);
    }
    for b in crate::gc_workloads::BINARIES {
        cmd.args(["--bin", b]);
    }
    let status = cmd.status().map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build of the wp_* and gc_peers* binaries failed: {status}"
        ))
    }
}

/// Runs one child; returns its metrics or why it failed.
fn run_child(plan: &WholePlan, a: Allocator, w: Whole) -> Result<Vec<(String, f64)>, String> {
    let mut args = vec![w.name()];
    if plan.scale == Scale::Quick {
        args.push("--quick");
    }
    process::run_child(&child_path(&plan.bin_dir, a), &args)
}

/// Measures every whole-program workload under `plan`; `log` gets one line
/// per workload.
pub fn run(plan: &WholePlan, mut log: impl FnMut(&str)) -> WholeResults {
    let allocators = Allocator::ALL;
    let mut time_rows = Vec::new();
    let mut memory_rows = Vec::new();
    for &w in &plan.workloads {
        let sweep = sweep::interleaved(allocators.len(), plan.reps, |i| {
            run_child(plan, allocators[i], w)
        });
        let detail = w.describe(w.default_param(plan.scale));
        for metric in sweep.metrics("time_ms") {
            let (stem, is_time) = match metric.strip_suffix("_ms") {
                Some(stem) => (stem, true),
                None => (metric.strip_suffix("_mib").unwrap_or(&metric), false),
            };
            let row = Row {
                name: format!("{} {stem}", w.name()),
                detail: detail.clone(),
                cells: sweep.cells(&metric),
            };
            log(&sweep::log_line(
                &row.name,
                allocators.iter().map(|a| a.name()),
                &row.cells,
            ));
            if is_time {
                time_rows.push(row);
            } else {
                memory_rows.push(row);
            }
        }
    }
    let contenders: Vec<String> = allocators.iter().map(|a| a.name().to_string()).collect();
    let how = format!(
        "Each allocator is the `#[global_allocator]` of its own binary (`wp_system`, \
         `wp_pymalloc`, `wp_mimalloc`, `wp_jemalloc`), so each pays exactly the dispatch \
         a real program pays. Every run is a fresh process; {} runs per allocator and \
         workload, interleaved.",
        plan.reps
    );
    WholeResults {
        time: Comparison {
            title: "Whole programs: time".to_string(),
            description: how.clone(),
            unit: "ms".to_string(),
            contenders: contenders.clone(),
            baseline: 0,
            subject: Some(1),
            variants: Vec::new(),
            rows: time_rows,
        },
        memory: Comparison {
            title: "Whole programs: resident memory".to_string(),
            description: format!(
                "{how} `peak_rss` is the process's VmHWM at exit; `memory_64b rss_live` is VmRSS \
                 with all blocks live, `rss_after_free` VmRSS right after freeing them all \
                 (what the allocator keeps, no trim call; an allocator that gives memory \
                 back lazily, after a delay, shows it here as kept)."
            ),
            unit: "MiB".to_string(),
            contenders,
            baseline: 0,
            subject: Some(1),
            variants: Vec::new(),
            rows: memory_rows,
        },
    }
}
