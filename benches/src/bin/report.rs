//! `cargo run --release -p benches --bin report [-- --quick]`: runs short
//! versions of every allocator benchmark (the allocators interleaved) and of
//! the GC peers' workloads, and writes `target/bench-report/report.md` with
//! SVG charts.
//!
//! Options: `--quick` (a smoke run of seconds), `--reps N`, `--no-build`
//! (do not build the `wp_*`, `gc_peers` and `gc_peers_pymalloc` binaries),
//! `--micro-only`, `--whole-only`, `--gc-only`, `--no-gc`,
//! `--filter SUBSTRING` (only the workloads whose name contains it).

use std::process::ExitCode;

use benches::report::{Options, run};

/// The usage text.
const USAGE: &str = "usage: report [--quick] [--reps N] [--no-build] [--micro-only | --whole-only | --gc-only | --no-gc] [--filter SUBSTRING]";

fn main() -> ExitCode {
    let mut opts = Options {
        quick: false,
        no_build: false,
        reps: None,
        skip_micro: false,
        skip_whole: false,
        skip_gc: false,
        filter: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => opts.quick = true,
            "--no-build" => opts.no_build = true,
            "--micro-only" => (opts.skip_whole, opts.skip_gc) = (true, true),
            "--whole-only" => (opts.skip_micro, opts.skip_gc) = (true, true),
            "--gc-only" => (opts.skip_micro, opts.skip_whole) = (true, true),
            "--no-gc" => opts.skip_gc = true,
            "--filter" => match args.next() {
                Some(f) => opts.filter = Some(f),
                None => {
                    eprintln!("--filter needs a string\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--reps" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => opts.reps = Some(n),
                _ => {
                    eprintln!("--reps needs a positive number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&opts) {
        Ok(path) => {
            println!("report written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}
