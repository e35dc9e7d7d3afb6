//! `main` of the `wp_*` binaries: parse `<workload> [--quick] [--param N]`,
//! run that workload once under the binary's global allocator, and print its
//! metrics and the process's peak RSS in the [`protocol`]
//! format.

use std::process::ExitCode;

use super::{Scale, Whole, protocol};
use crate::{rng, rss};

/// Runs the command line of a `wp_*` binary whose global allocator is
/// called `alloc` (only printed).
pub fn main(alloc: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (workload, param) = match parse_args(&args) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("wp_{alloc}: {msg}");
            eprintln!(
                "usage: wp_{alloc} <workload> [--quick] [--param N]\nworkloads: {}",
                Whole::ALL.map(Whole::name).join(", ")
            );
            return ExitCode::from(2);
        }
    };
    println!(
        "# wp alloc={alloc} workload={} param={param} seed={:#x}",
        workload.name(),
        rng::SEED
    );
    for (metric, value) in workload.run(param) {
        println!("{}", protocol::line(metric, value));
    }
    if let Some(peak) = rss::peak() {
        println!("{}", protocol::line("peak_rss_mib", rss::mib(peak)));
    }
    ExitCode::SUCCESS
}

/// The workload and its size parameter from the arguments.
fn parse_args(args: &[String]) -> Result<(Whole, u64), String> {
    let mut workload = None;
    let mut scale = Scale::Full;
    let mut param = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => scale = Scale::Quick,
            "--param" => {
                let v = it.next().ok_or("--param needs a value")?;
                param = Some(v.parse::<u64>().map_err(|e| format!("--param {v}: {e}"))?);
            }
            name if workload.is_none() => {
                workload =
                    Some(Whole::from_name(name).ok_or_else(|| format!("unknown workload {name}"))?);
            }
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let workload = workload.ok_or("no workload given")?;
    Ok((workload, param.unwrap_or(workload.default_param(scale))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_workload_scale_and_param() {
        assert_eq!(
            parse_args(&args("binary_trees")),
            Ok((Whole::BinaryTrees, 16))
        );
        assert_eq!(
            parse_args(&args("memory_64b --quick")),
            Ok((Whole::Memory, 200_000))
        );
        assert_eq!(
            parse_args(&args("btreemap --param 7")),
            Ok((Whole::BTree, 7))
        );
        assert!(parse_args(&args("nope")).is_err());
        assert!(parse_args(&args("")).is_err());
    }
}
