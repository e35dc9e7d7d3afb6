//! The two GC binaries as the report runs them: `gc_peers` has the system
//! allocator as its global allocator, `gc_peers_pymalloc` has pymalloc, each
//! runs its own peers to a result and refuses the other's.

use std::process::{Command, Output};

/// Runs the binary at `exe` with `args`.
fn run(exe: &str, args: &[&str]) -> Output {
    Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {exe}: {e}"))
}

/// A small acyclic run of `peer` in `exe`: it succeeds, its header names the
/// global allocator the process really has, and it reports its metrics.
fn check_runs(exe: &str, peer: &str, allocator: &str) {
    let out = run(exe, &[peer, "acyclic", "--param", "1000"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{exe} {peer}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let header = stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains(&format!("peer={peer} "))
            && header.ends_with(&format!("global_allocator={allocator}")),
        "{exe}: {header}"
    );
    let metrics = benches::whole::protocol::parse(&stdout);
    assert!(
        metrics.iter().any(|(m, v)| m == "ns_per_node" && *v > 0.0),
        "{stdout}"
    );
}

/// Asks `exe` for a peer it does not run: a usage error, no result.
fn check_refuses(exe: &str, peer: &str) {
    let out = run(exe, &[peer, "acyclic", "--param", "10"]);
    assert_eq!(out.status.code(), Some(2), "{exe} {peer}");
    assert!(benches::whole::protocol::parse(&String::from_utf8_lossy(&out.stdout)).is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("peer {peer} runs in")), "{stderr}");
}

#[test]
fn system_binary() {
    let exe = env!("CARGO_BIN_EXE_gc_peers");
    check_runs(exe, "cyclegc", "system");
    check_runs(exe, "Rc", "system");
    check_refuses(exe, "cyclegc+pymalloc");
}

#[test]
fn pymalloc_binary() {
    let exe = env!("CARGO_BIN_EXE_gc_peers_pymalloc");
    check_runs(exe, "cyclegc+pymalloc", "pymalloc");
    check_refuses(exe, "cyclegc");
}
