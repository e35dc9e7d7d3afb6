//! `main` of the `gc_peers` and `gc_peers_pymalloc` binaries: `gc_peers
//! <peer> <workload> [--quick] [--param N]` runs one workload on one peer on
//! a thread with a known stack ([`GcWorkload::stack_bytes`]), prints its
//! metrics in the [`protocol`] format, and exits at once (no
//! teardown: dropping or collecting what is left could overflow the stack
//! after the result is known). A stack overflow aborts the process; the
//! report reads that from the exit status and stderr.
//!
//! A binary runs only the peers whose [`Peer::binary`] it is (a peer named
//! for one global allocator must not be timed under the other), and its
//! first line says which allocator a small allocation of the process comes
//! from: `global_allocator=pymalloc` when `pymalloc::owns` it, else
//! `global_allocator=system`.

use std::io::Write;
use std::process::ExitCode;

use super::{GcWorkload, Peer};
use crate::whole::{Scale, protocol};

/// Runs the command line of the binary called `binary` (one of
/// [`super::BINARIES`]), which runs the peers whose [`Peer::binary`] it is.
pub fn main(binary: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (peer, workload, param) = match parse_args(&args, binary) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("{binary}: {msg}");
            eprintln!(
                "usage: {binary} <peer> <workload> [--quick] [--param N]\npeers: {}\nworkloads: {}",
                peers_of(binary).join(", "),
                GcWorkload::ALL.map(GcWorkload::name).join(", ")
            );
            return ExitCode::from(2);
        }
    };
    println!(
        "# {binary} peer={} workload={} param={param} stack={} global_allocator={}",
        peer.name(),
        workload.name(),
        workload.stack_bytes(),
        global_allocator()
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
            eprintln!("{binary}: cannot start the worker thread: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The names of the peers `binary` runs.
fn peers_of(binary: &str) -> Vec<&'static str> {
    Peer::ALL
        .into_iter()
        .filter(|p| p.binary() == binary)
        .map(Peer::name)
        .collect()
}

/// Which allocator the process's global allocator is, from where a small
/// box lands: `"pymalloc"` when in one of pymalloc's arenas, else
/// `"system"`.
fn global_allocator() -> &'static str {
    let probe = Box::new(0u64);
    if pymalloc::owns(std::ptr::from_ref(&*probe).cast()) {
        "pymalloc"
    } else {
        "system"
    }
}

/// Peer, workload and size from the arguments given to `binary`.
fn parse_args(args: &[String], binary: &str) -> Result<(Peer, GcWorkload, u64), String> {
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
    if peer.binary() != binary {
        return Err(format!(
            "peer {} runs in {}, not in {binary}",
            peer.name(),
            peer.binary()
        ));
    }
    let workload =
        GcWorkload::from_name(workload).ok_or_else(|| format!("unknown workload {workload}"))?;
    Ok((
        peer,
        workload,
        param.unwrap_or(workload.default_param(scale)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    /// Each binary takes its own peers and refuses the other's.
    #[test]
    fn binaries_take_only_their_peers() {
        let young = args(&["cyclegc+pymalloc", "young_pause", "--param", "5"]);
        assert_eq!(
            parse_args(&young, "gc_peers_pymalloc"),
            Ok((Peer::CyclegcPymalloc, GcWorkload::YoungPause, 5))
        );
        let err = parse_args(&young, "gc_peers").unwrap_err();
        assert!(err.contains("runs in gc_peers_pymalloc"), "{err}");
        let plain = args(&["cyclegc", "acyclic", "--quick"]);
        assert_eq!(
            parse_args(&plain, "gc_peers"),
            Ok((
                Peer::Cyclegc,
                GcWorkload::Acyclic,
                GcWorkload::Acyclic.default_param(Scale::Quick)
            ))
        );
        assert!(parse_args(&plain, "gc_peers_pymalloc").is_err());
        assert_eq!(peers_of("gc_peers_pymalloc"), ["cyclegc+pymalloc"]);
        assert_eq!(peers_of("gc_peers").len(), Peer::ALL.len() - 1);
    }

    /// The unit-test binary has the system allocator as its global one:
    /// the probe must not mistake that for pymalloc.
    #[test]
    fn probe_sees_the_system_allocator() {
        assert_eq!(global_allocator(), "system");
    }
}
