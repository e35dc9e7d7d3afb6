//! Runs the GC workloads for the report: each (peer, workload, repetition)
//! in a fresh process of the peer's binary ([`Peer::binary`]: `gc_peers`,
//! or `gc_peers_pymalloc` for `cyclegc+pymalloc`), peers interleaved. A run
//! that overflows
//! its stack, or dies otherwise, is recorded with the reason; a workload
//! that times a collection is marked "no cycle collector" for `Rc`.

use std::path::{Path, PathBuf};

use super::table::{Comparison, Row};
use super::{process, sweep};
use crate::gc_workloads::{GcWorkload, Peer, STACK_BYTES};
use crate::whole::Scale;

/// How much to measure.
#[derive(Clone, Debug)]
pub struct GcPlan {
    /// Repetitions (fresh processes) per peer and workload.
    pub reps: usize,
    /// Size of each run.
    pub scale: Scale,
    /// Where the `gc_peers` and `gc_peers_pymalloc` binaries are.
    pub bin_dir: PathBuf,
    /// The workloads to run.
    pub workloads: Vec<GcWorkload>,
}

/// The GC results: times, and nodes left unreclaimed.
pub struct GcResults {
    /// Timings (the unit is in each row).
    pub time: Comparison,
    /// `leaked_nodes` per workload.
    pub leaks: Comparison,
}

/// The path in `bin_dir` of the binary that runs `peer`.
pub fn child_path(bin_dir: &Path, peer: Peer) -> PathBuf {
    binary_path(bin_dir, peer.binary())
}

/// The path in `bin_dir` of the binary called `name`.
pub fn binary_path(bin_dir: &Path, name: &str) -> PathBuf {
    bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The unit of a metric, from its name: `ns_per_…`, `…_ms`, `…_us`, or a
/// count.
fn unit_of(metric: &str) -> &'static str {
    if metric.starts_with("ns_per_") {
        "ns"
    } else if metric.ends_with("_ms") {
        "ms"
    } else if metric.ends_with("_us") {
        "µs"
    } else {
        "count"
    }
}

/// Measures every GC workload of `plan` on every peer; `log` gets one line
/// per row.
pub fn run(plan: &GcPlan, mut log: impl FnMut(&str)) -> GcResults {
    let peers = Peer::ALL;
    let programs = peers.map(|p| child_path(&plan.bin_dir, p));
    let mut time_rows = Vec::new();
    let mut leak_rows = Vec::new();
    for &w in &plan.workloads {
        let sweep = sweep::interleaved(peers.len(), plan.reps, |i| {
            let peer = peers[i];
            if w.needs_collector() && !peer.collects() {
                return Err("no cycle collector".to_string());
            }
            let mut args = vec![peer.name(), w.name()];
            if plan.scale == Scale::Quick {
                args.push("--quick");
            }
            process::run_child(&programs[i], &args).map_err(|why| {
                if why == "stack overflow" {
                    format!("stack overflow ({} MiB)", w.stack_bytes() >> 20)
                } else {
                    why
                }
            })
        });
        let size = w.describe(w.default_param(plan.scale));
        for metric in sweep.metrics(w.primary_metric()) {
            let unit = unit_of(&metric);
            let stem = metric
                .strip_suffix("_ms")
                .or_else(|| metric.strip_suffix("_us"))
                .unwrap_or(&metric);
            let row = Row {
                name: format!("{} {stem}", w.name()),
                detail: format!("{size}; {unit}"),
                cells: sweep.cells(&metric),
            };
            log(&sweep::log_line(
                &row.name,
                peers.iter().map(|p| p.name()),
                &row.cells,
            ));
            if unit == "count" {
                leak_rows.push(row);
            } else {
                time_rows.push(row);
            }
        }
    }
    let contenders: Vec<String> = peers.iter().map(|p| p.name().to_string()).collect();
    // cyclegc under the other global allocator is the subject again, not a
    // peer to compare it with.
    let variants: Vec<usize> = peers
        .iter()
        .enumerate()
        .filter(|&(_, &p)| p == Peer::CyclegcPymalloc)
        .map(|(i, _)| i)
        .collect();
    let how = format!(
        "Each run is a fresh process; the workload runs on a thread with a {} MiB stack \
         (1 GiB where the row says so), and a run that overflows it is shown as such. {} \
         runs per peer and workload, interleaved. `Rc` reclaims no cycle: it is the speed \
         floor, and has no collection to time. Every column but one runs in `gc_peers`, \
         whose global allocator is the system allocator (the process default, as a user \
         would have it): the peers allocate everything from glibc, and cyclegc its `Gc` \
         boxes from pymalloc (it always does) but everything else, like the nodes' `Vec` \
         edge buffers, from glibc. cyclegc+pymalloc is the same cyclegc code run in \
         `gc_peers_pymalloc`, whose `#[global_allocator]` is pymalloc, as the project \
         recommends, so the edge buffers come from pymalloc too. The cyclegc column is \
         the one compared with the best peer; cyclegc+pymalloc is not counted as its \
         peer. bacon_rajan_cc has no automatic trigger, so the random graph calls its \
         `collect_cycles` every 10 000 operations; the others use their own triggers. \
         The young pause is a generation-0 collection for cyclegc and a full one for the \
         peers, which have no generations.",
        STACK_BYTES >> 20,
        plan.reps
    );
    GcResults {
        time: Comparison {
            title: "Garbage collection: cyclegc and its peers".to_string(),
            description: how.clone(),
            unit: "the unit given in each row".to_string(),
            contenders: contenders.clone(),
            baseline: 0,
            subject: Some(1),
            variants: variants.clone(),
            rows: time_rows,
        },
        leaks: Comparison {
            title: "Garbage collection: nodes never reclaimed".to_string(),
            description: "Nodes made and not dropped by the end of the workload (after a final \
                          collection)."
                .to_string(),
            unit: "nodes".to_string(),
            contenders,
            baseline: 0,
            subject: Some(1),
            variants,
            rows: leak_rows,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(unit_of("ns_per_node"), "ns");
        assert_eq!(unit_of("time_ms"), "ms");
        assert_eq!(unit_of("pause_us"), "µs");
        assert_eq!(unit_of("leaked_nodes"), "count");
    }

    /// The pymalloc contender runs in `gc_peers_pymalloc`, every other peer
    /// (plain cyclegc included) in `gc_peers`.
    #[test]
    fn each_peer_in_its_binary() {
        let dir = Path::new("/bin/dir");
        let exe = std::env::consts::EXE_SUFFIX;
        for p in Peer::ALL {
            let want = if p == Peer::CyclegcPymalloc {
                format!("/bin/dir/gc_peers_pymalloc{exe}")
            } else {
                format!("/bin/dir/gc_peers{exe}")
            };
            assert_eq!(child_path(dir, p), PathBuf::from(want), "{p:?}");
        }
    }
}
