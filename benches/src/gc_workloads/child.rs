//! `main` of the `gc_peers` binary: `gc_peers <peer> <workload> [--quick]
//! [--param N]` runs one workload on one peer on a thread with a
//! known stack ([`GcWorkload::stack_bytes`]), prints its metrics in the
//! [`protocol`] format, and exits at once (no
//! teardown: dropping or collecting what is left could overflow the stack
//! after the result is known). A stack overflow aborts the process; the
//! report reads that from the exit status and stderr.

use std::io::Write;
use std::process::ExitCode;

use super::{GcWorkload, Peer};
use crate::whole::{Scale, protocol};

/// Runs the `gc_peers` command line.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (peer, workload, param) = match parse_args(&args) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("gc_peers: {msg}");
            eprintln!(
                "usage: gc_peers <peer> <workload> [--quick] [--param N]\npeers: {}\nworkloads: {}",
                Peer::ALL.map(Peer::name).join(", "),
                GcWorkload::ALL.map(GcWorkload::name).join(", ")
            );
            return ExitCode::from(2);
        }
    };
    println!(
        "# gc_peers peer={} workload={} param={param} stack={}",
        peer.name(),
        workload.name(),
        workload.stack_bytes()
    );
    let worker = std::thread::Builder::new()
        .name("gc-workload".to_string())
        .stack_size(workload.stack_bytes())
        .spawn(move || {
            let metrics = peer.run(workload, param);
            let mut out = std::io::stdout().lock();
            for (metric, value) in metrics {
                let _ = writeln!(out, "{}", protocol::line(metric, value));
            }
            let _ = out.flush();
            std::process::exit(0);
        });
    match worker.map(|h| h.join()) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("gc_peers: cannot start the worker thread: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Peer, workload and size from the arguments.
fn parse_args(args: &[String]) -> Result<(Peer, GcWorkload, u64), String> {
    let mut words = Vec::new();
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
            other => words.push(other),
        }
    }
    let [peer, workload] = words[..] else {
        return Err("expected a peer and a workload".to_string());
    };
    let peer = Peer::from_name(peer).ok_or_else(|| format!("unknown peer {peer}"))?;
    let workload =
        GcWorkload::from_name(workload).ok_or_else(|| format!("unknown workload {workload}"))?;
    Ok((
        peer,
        workload,
        param.unwrap_or(workload.default_param(scale)),
    ))
}
