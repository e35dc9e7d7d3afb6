//! The report: runs short versions of every benchmark and writes
//! `<target>/bench-report/report.md` with SVG charts and the raw samples.
//!
//! The report is a list of sections, each a [`table::Comparison`] (rows of
//! workloads, columns of contenders, a baseline column and a subject column)
//! drawn as a markdown table and a chart. The allocator sections compare
//! pymalloc with system, mimalloc and jemalloc; a GC section (cyclegc, under
//! the system and under the pymalloc global allocator, beside `Rc` and the GC
//! crates) is another `Comparison` pushed onto the same list.
//!
//! | file | holds |
//! |---|---|
//! | `stats` | median, spread, geometric mean |
//! | `table` | the data model and its markdown |
//! | `chart` | SVG grouped bar charts (plotters) |
//! | `machine` | CPU, cores, load, date |
//! | `micro_runner` | calibrated, interleaved micro-benchmark runs |
//! | `whole_runner` | building the `wp_*` and `gc_peers*` children, running the `wp_*` ones |
//! | `gc_runner` | running the `gc_peers` and `gc_peers_pymalloc` children |
//! | `process` | one child process: its result lines or why it failed |
//! | `sweep` | one workload on every contender, interleaved, with failures |
//! | `document` | assembling and writing the files |

pub mod chart;
mod document;
pub mod gc_runner;
pub mod machine;
pub mod micro_runner;
pub mod process;
pub mod stats;
pub mod sweep;
pub mod table;
pub mod whole_runner;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::gc_workloads::GcWorkload;
use crate::micro::Micro;
use crate::whole::{Scale, Whole};

pub use document::{Section, write};

/// What the `report` binary was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// A smoke run of a few seconds instead of a few minutes.
    pub quick: bool,
    /// Do not run cargo to build the `wp_*` and `gc_peers*` binaries first.
    pub no_build: bool,
    /// Repetitions, overriding the default of the chosen mode.
    pub reps: Option<usize>,
    /// Skip the micro-benchmarks.
    pub skip_micro: bool,
    /// Skip the whole-program workloads.
    pub skip_whole: bool,
    /// Skip the GC workloads.
    pub skip_gc: bool,
    /// Run only the workloads whose name contains this.
    pub filter: Option<String>,
}

impl Options {
    /// Whether the workload called `name` is to run.
    fn wants(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }
}

/// Where the report goes: `$CARGO_TARGET_DIR/bench-report` when that is set,
/// else `<workspace>/target/bench-report`.
pub fn output_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), |ws| ws.join("target")),
    };
    target.join("bench-report")
}

/// Runs everything `opts` asks for and writes the report; returns the path
/// of `report.md`.
pub fn run(opts: &Options) -> Result<PathBuf, String> {
    let started = Instant::now();
    let machine = machine::Machine::detect();
    eprintln!(
        "report: {} ({} cores), load {}, seed {:#x}, {} mode",
        machine.cpu,
        machine.cores,
        machine.load_at_start,
        crate::rng::SEED,
        if opts.quick { "quick" } else { "full" }
    );
    let mut sections = Vec::new();
    let mut notes = Vec::new();

    // Build the children first, so that compiling does not overlap measuring.
    let bin_dir = std::env::current_exe()
        .map_err(|e| format!("current_exe: {e}"))?
        .parent()
        .map(PathBuf::from)
        .ok_or("the report binary has no directory")?;
    let mut whole_ok = !opts.skip_whole;
    let mut gc_ok = !opts.skip_gc;
    if (whole_ok || gc_ok)
        && !opts.no_build
        && let Err(e) = whole_runner::build_children(&bin_dir)
    {
        eprintln!("report: {e}");
        notes.push(format!("Building the benchmark binaries failed: {e}."));
    }
    if whole_ok {
        let missing: Vec<String> = crate::shim::Allocator::ALL
            .iter()
            .map(|&a| whole_runner::child_path(&bin_dir, a))
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "Whole-program workloads skipped: missing {} (build with \
                 `cargo build --release -p benches --bins`).",
                missing.join(", ")
            );
            eprintln!("report: {msg}");
            notes.push(msg);
            whole_ok = false;
        }
    }
    if gc_ok {
        let missing: Vec<String> = crate::gc_workloads::BINARIES
            .iter()
            .map(|b| gc_runner::binary_path(&bin_dir, b))
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "GC workloads skipped: missing {} (build with \
                 `cargo build --release -p benches --bins`).",
                missing.join(", ")
            );
            eprintln!("report: {msg}");
            notes.push(msg);
            gc_ok = false;
        }
    }

    if !opts.skip_micro {
        let plan = micro_runner::MicroPlan {
            reps: opts.reps.unwrap_or(if opts.quick { 3 } else { 11 }),
            target: Duration::from_millis(if opts.quick { 3 } else { 50 }),
        };
        let workloads: Vec<Micro> = Micro::all(machine.cores)
            .into_iter()
            .filter(|w| opts.wants(&w.name()))
            .collect();
        if !workloads.is_empty() {
            let cmp = micro_runner::run(&workloads, plan, |l| eprintln!("  {l}"));
            sections.push(Section::relative(cmp, "micro"));
        }
    }
    if whole_ok {
        let plan = whole_runner::WholePlan {
            reps: opts.reps.unwrap_or(if opts.quick { 2 } else { 7 }),
            scale: if opts.quick {
                Scale::Quick
            } else {
                Scale::Full
            },
            bin_dir: bin_dir.clone(),
            workloads: Whole::ALL
                .into_iter()
                .filter(|w| opts.wants(w.name()))
                .collect(),
        };
        let results = whole_runner::run(&plan, |l| eprintln!("  {l}"));
        sections.push(Section::relative(results.time, "whole_time"));
        sections.push(Section::absolute(results.memory, "whole_memory"));
    }
    if gc_ok {
        let plan = gc_runner::GcPlan {
            reps: opts.reps.unwrap_or(if opts.quick { 2 } else { 5 }),
            scale: if opts.quick {
                Scale::Quick
            } else {
                Scale::Full
            },
            bin_dir,
            workloads: GcWorkload::ALL
                .into_iter()
                .filter(|w| opts.wants(w.name()))
                .collect(),
        };
        if !plan.workloads.is_empty() {
            let results = gc_runner::run(&plan, |l| eprintln!("  {l}"));
            sections.push(Section::relative_to_best(results.time, "gc_time"));
            sections.push(Section::absolute(results.leaks, "gc_leaks"));
        }
    }
    let dir = output_dir();
    let path = write(
        &dir,
        &machine,
        opts.quick,
        &sections,
        &notes,
        started.elapsed(),
    )?;
    Ok(path)
}
