//! The GC benchmarks: `cyclegc` beside `Rc` (the speed floor: it leaks
//! cycles), `bacon_rajan_cc`, `dumpster` and `gc`, on the same workloads,
//! each peer one [`GcHeap`] implementation.
//!
//! The rust GC crates trace recursively, so a long enough chain overflows
//! the stack. That is a result, not something to hide: each run is a fresh
//! `gc_peers` process whose workload runs on a thread with a known stack
//! ([`STACK_BYTES`], the size of a main thread's default stack), and the
//! report records a run that died of a stack overflow as such. The full
//! collection is also run on a 1 GiB stack, to time the tracers that do
//! not fit in 8 MiB.
//!
//! | file | holds |
//! |---|---|
//! | `heap` | the [`GcHeap`] trait every peer implements, and the node tally |
//! | `cyclegc_peer`, `rc`, `bacon`, `dumpster_peer`, `rust_gc` | one peer each |
//! | `workloads` | the workloads, generic over the peer |
//! | `child` | `main` of the `gc_peers` binary |

mod bacon;
pub mod child;
mod cyclegc_peer;
mod dumpster_peer;
pub mod heap;
mod rc;
mod rust_gc;
pub mod workloads;

pub use heap::GcHeap;

use crate::whole::{Metric, Scale};

/// Stack of the thread every GC workload runs on: 8 MiB, a main thread's
/// usual default on Linux.
pub const STACK_BYTES: usize = 8 << 20;

/// One GC implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `std::rc::Rc` (no cycle collection: the speed baseline).
    Rc,
    /// `cyclegc`, the crate under test.
    Cyclegc,
    /// `bacon_rajan_cc` 0.4.
    BaconRajan,
    /// `dumpster` 2.x (`unsync`).
    Dumpster,
    /// `gc` 0.5.
    RustGc,
}

impl Peer {
    /// Every peer, `Rc` first (the baseline).
    pub const ALL: [Peer; 5] = [
        Peer::Rc,
        Peer::Cyclegc,
        Peer::BaconRajan,
        Peer::Dumpster,
        Peer::RustGc,
    ];

    /// The crate's name.
    pub const fn name(self) -> &'static str {
        match self {
            Peer::Rc => rc::RcPeer::NAME,
            Peer::Cyclegc => cyclegc_peer::CyclegcPeer::NAME,
            Peer::BaconRajan => bacon::BaconPeer::NAME,
            Peer::Dumpster => dumpster_peer::DumpsterPeer::NAME,
            Peer::RustGc => rust_gc::RustGcPeer::NAME,
        }
    }

    /// The peer called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether it reclaims cycles.
    pub const fn collects(self) -> bool {
        match self {
            Peer::Rc => rc::RcPeer::COLLECTS,
            Peer::Cyclegc => cyclegc_peer::CyclegcPeer::COLLECTS,
            Peer::BaconRajan => bacon::BaconPeer::COLLECTS,
            Peer::Dumpster => dumpster_peer::DumpsterPeer::COLLECTS,
            Peer::RustGc => rust_gc::RustGcPeer::COLLECTS,
        }
    }

    /// Runs `w` at size `param` on this peer, on the calling thread.
    pub fn run(self, w: GcWorkload, param: u64) -> Vec<Metric> {
        match self {
            Peer::Rc => w.run::<rc::RcPeer>(param),
            Peer::Cyclegc => w.run::<cyclegc_peer::CyclegcPeer>(param),
            Peer::BaconRajan => w.run::<bacon::BaconPeer>(param),
            Peer::Dumpster => w.run::<dumpster_peer::DumpsterPeer>(param),
            Peer::RustGc => w.run::<rust_gc::RustGcPeer>(param),
        }
    }
}

/// One GC workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcWorkload {
    /// Random graph mutation.
    RandomGraph,
    /// Acyclic create/drop.
    Acyclic,
    /// Binary trees with parent pointers.
    GcBench,
    /// One full collection of a long live chain, on the usual stack.
    FullCollection,
    /// The same on a 1 GiB stack, so that recursive tracers finish.
    FullCollectionBigStack,
    /// Small collections beside a large old heap.
    YoungPause,
}

impl GcWorkload {
    /// Every workload, in report order.
    pub const ALL: [GcWorkload; 6] = [
        GcWorkload::RandomGraph,
        GcWorkload::Acyclic,
        GcWorkload::GcBench,
        GcWorkload::FullCollection,
        GcWorkload::FullCollectionBigStack,
        GcWorkload::YoungPause,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            GcWorkload::RandomGraph => "random_graph",
            GcWorkload::Acyclic => "acyclic",
            GcWorkload::GcBench => "gcbench_parents",
            GcWorkload::FullCollection => "full_collection",
            GcWorkload::FullCollectionBigStack => "full_collection_1gib_stack",
            GcWorkload::YoungPause => "young_pause",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Whether the workload means anything for a peer that never collects
    /// (timing a collection of `Rc` does not).
    pub const fn needs_collector(self) -> bool {
        matches!(
            self,
            GcWorkload::FullCollection
                | GcWorkload::FullCollectionBigStack
                | GcWorkload::YoungPause
        )
    }

    /// The metric the workload reports first (its main result).
    pub const fn primary_metric(self) -> &'static str {
        match self {
            GcWorkload::RandomGraph | GcWorkload::GcBench => "time_ms",
            GcWorkload::Acyclic => "ns_per_node",
            GcWorkload::FullCollection | GcWorkload::FullCollectionBigStack => "ns_per_object",
            GcWorkload::YoungPause => "pause_us",
        }
    }

    /// The stack of the thread the workload runs on.
    pub const fn stack_bytes(self) -> usize {
        match self {
            GcWorkload::FullCollectionBigStack => 1 << 30,
            _ => STACK_BYTES,
        }
    }

    /// The size parameter at `scale`: operations, nodes, or tree depth.
    pub const fn default_param(self, scale: Scale) -> u64 {
        match (self, scale) {
            (GcWorkload::RandomGraph, Scale::Full) => 1_000_000,
            (GcWorkload::RandomGraph, Scale::Quick) => 50_000,
            (GcWorkload::Acyclic, Scale::Full) => 1_000_000,
            (GcWorkload::Acyclic, Scale::Quick) => 50_000,
            (GcWorkload::GcBench, Scale::Full) => 14,
            (GcWorkload::GcBench, Scale::Quick) => 9,
            (GcWorkload::FullCollection, Scale::Full) => 1_000_000,
            (GcWorkload::FullCollection, Scale::Quick) => 20_000,
            (GcWorkload::FullCollectionBigStack, Scale::Full) => 1_000_000,
            (GcWorkload::FullCollectionBigStack, Scale::Quick) => 20_000,
            (GcWorkload::YoungPause, Scale::Full) => 1_000_000,
            (GcWorkload::YoungPause, Scale::Quick) => 20_000,
        }
    }

    /// The size of a run at `param`, in words.
    pub fn describe(self, param: u64) -> String {
        match self {
            GcWorkload::RandomGraph => format!("{param} operations"),
            GcWorkload::Acyclic => format!("{param} nodes in chains of 100"),
            GcWorkload::GcBench => format!("depth {param}, 1 long-lived + 8 trees"),
            GcWorkload::FullCollection => format!("chain of {param} nodes, 8 MiB stack"),
            GcWorkload::FullCollectionBigStack => format!("chain of {param} nodes, 1 GiB stack"),
            GcWorkload::YoungPause => format!("700 garbage beside {param} old"),
        }
    }

    /// Runs the workload at size `param` on peer `H`.
    pub fn run<H: GcHeap>(self, param: u64) -> Vec<Metric> {
        match self {
            GcWorkload::RandomGraph => workloads::random_graph::<H>(param),
            GcWorkload::Acyclic => workloads::acyclic::<H>(param),
            GcWorkload::GcBench => workloads::gcbench::<H>(param as u32),
            GcWorkload::FullCollection | GcWorkload::FullCollectionBigStack => {
                workloads::full_collection::<H>(param)
            }
            GcWorkload::YoungPause => workloads::young_pause::<H>(param),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload runs small on every peer, and the collectors reclaim
    /// every cycle the workloads make.
    #[test]
    fn small_runs_reclaim_cycles() {
        for p in Peer::ALL {
            for w in [GcWorkload::RandomGraph, GcWorkload::GcBench] {
                let param = if w == GcWorkload::GcBench { 4 } else { 2000 };
                let metrics = p.run(w, param);
                let leaked = metrics.iter().find(|m| m.0 == "leaked_nodes").unwrap().1;
                if p.collects() {
                    assert_eq!(leaked, 0.0, "{} {}", p.name(), w.name());
                } else {
                    assert!(leaked > 0.0, "{} {}", p.name(), w.name());
                }
            }
            // What each run must leave alive: nothing (acyclic), the chain
            // it keeps (full collection), the old nodes and their root
            // (young pause). Freeing any of that would be a bug; keeping
            // garbage is one only for cyclegc (`Rc` cannot collect the
            // young pause's pairs, and `gc` frees only when it collects).
            // (Acyclic last: `gc` leaves its garbage to its next collection.)
            for (w, live) in [
                (GcWorkload::FullCollection, 300),
                (GcWorkload::YoungPause, 301),
                (GcWorkload::Acyclic, 0),
            ] {
                let before = heap::live_nodes();
                assert!(!p.run(w, 300).is_empty());
                let left = heap::live_nodes() - before;
                let what = format!("{} {}: {left} nodes left", p.name(), w.name());
                assert!(left >= live, "{what}");
                if p == Peer::Cyclegc {
                    assert_eq!(left, live, "{what}");
                }
            }
        }
    }
}
