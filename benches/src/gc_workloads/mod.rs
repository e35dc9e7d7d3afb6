//! The GC benchmarks: `cyclegc` beside `Rc` (the speed floor: it leaks
//! cycles), `bacon_rajan_cc`, `dumpster` and `gc`, on the same workloads,
//! each peer one [`GcHeap`] implementation.
//!
//! `cyclegc` runs twice, the same [`GcHeap`] code in two binaries: in
//! `gc_peers`, whose global allocator is the system's like every other
//! peer's (cyclegc's boxes come from pymalloc whatever the global allocator
//! is, so only what the nodes own, their `Vec` edge buffers, comes from
//! glibc), and as `cyclegc+pymalloc` in `gc_peers_pymalloc`, which has
//! `pymalloc::PyMalloc` as its `#[global_allocator]`, the setup the project
//! recommends. [`Peer::binary`] says which binary runs a peer; each binary
//! refuses the peers of the other, so a result's label always says which
//! global allocator it ran under.
//!
//! The rust GC crates trace recursively, so a long enough chain overflows
//! the stack. That is a result, not something to hide: each run is a fresh
//! `gc_peers` (or `gc_peers_pymalloc`) process whose workload runs on a
//! thread with a known stack ([`STACK_BYTES`], the size of a main thread's
//! default stack), and the report records a run that died of a stack
//! overflow as such. The full collection is also run on a 1 GiB stack, to
//! time the tracers that do not fit in 8 MiB.
//!
//! | file | holds |
//! |---|---|
//! | `heap` | the [`GcHeap`] trait every peer implements, and the node tally |
//! | `cyclegc_peer`, `rc`, `bacon`, `dumpster_peer`, `rust_gc` | one peer each |
//! | `workloads` | the workloads, generic over the peer |
//! | `child` | `main` of the `gc_peers` and `gc_peers_pymalloc` binaries |

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

/// The binary that runs the peers under the system allocator.
pub const SYSTEM_BINARY: &str = "gc_peers";

/// The binary whose `#[global_allocator]` is `pymalloc::PyMalloc`.
pub const PYMALLOC_BINARY: &str = "gc_peers_pymalloc";

/// Every binary that runs GC workloads, one per global allocator.
pub const BINARIES: [&str; 2] = [SYSTEM_BINARY, PYMALLOC_BINARY];

/// One GC implementation, in one process configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// `std::rc::Rc` (no cycle collection: the speed baseline).
    Rc,
    /// `cyclegc`, the crate under test, with the system allocator as the
    /// global allocator (its boxes still come from pymalloc).
    Cyclegc,
    /// `cyclegc` with `pymalloc::PyMalloc` as the global allocator too, as
    /// the project recommends: the same code as [`Peer::Cyclegc`], run by
    /// the `gc_peers_pymalloc` binary.
    CyclegcPymalloc,
    /// `bacon_rajan_cc` 0.4.
    BaconRajan,
    /// `dumpster` 2.x (`unsync`).
    Dumpster,
    /// `gc` 0.5.
    RustGc,
}

impl Peer {
    /// Every peer, `Rc` first (the baseline), then `cyclegc` (the subject)
    /// and `cyclegc` with pymalloc as its global allocator.
    pub const ALL: [Peer; 6] = [
        Peer::Rc,
        Peer::Cyclegc,
        Peer::CyclegcPymalloc,
        Peer::BaconRajan,
        Peer::Dumpster,
        Peer::RustGc,
    ];

    /// The name on the command line and in reports: the crate's name, with
    /// `+pymalloc` for cyclegc under the pymalloc global allocator.
    pub const fn name(self) -> &'static str {
        match self {
            Peer::Rc => rc::RcPeer::NAME,
            Peer::Cyclegc => cyclegc_peer::CyclegcPeer::NAME,
            Peer::CyclegcPymalloc => "cyclegc+pymalloc",
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
            Peer::Cyclegc | Peer::CyclegcPymalloc => cyclegc_peer::CyclegcPeer::COLLECTS,
            Peer::BaconRajan => bacon::BaconPeer::COLLECTS,
            Peer::Dumpster => dumpster_peer::DumpsterPeer::COLLECTS,
            Peer::RustGc => rust_gc::RustGcPeer::COLLECTS,
        }
    }

    /// The binary ([`BINARIES`]) whose processes run this peer:
    /// [`PYMALLOC_BINARY`] for [`Peer::CyclegcPymalloc`], [`SYSTEM_BINARY`]
    /// for the others.
    pub const fn binary(self) -> &'static str {
        match self {
            Peer::CyclegcPymalloc => PYMALLOC_BINARY,
            Peer::Rc | Peer::Cyclegc | Peer::BaconRajan | Peer::Dumpster | Peer::RustGc => {
                SYSTEM_BINARY
            }
        }
    }

    /// Runs `w` at size `param` on this peer, on the calling thread, under
    /// whatever global allocator the process has (the binary of
    /// [`Peer::binary`] is what gives the peer its own).
    pub fn run(self, w: GcWorkload, param: u64) -> Vec<Metric> {
        match self {
            Peer::Rc => w.run::<rc::RcPeer>(param),
            Peer::Cyclegc | Peer::CyclegcPymalloc => w.run::<cyclegc_peer::CyclegcPeer>(param),
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
                if matches!(p, Peer::Cyclegc | Peer::CyclegcPymalloc) {
                    assert_eq!(left, live, "{what}");
                }
            }
        }
    }

    /// Each peer's name is its own and reads back as that peer, and only
    /// `cyclegc+pymalloc` runs in the pymalloc binary: the two cyclegc
    /// columns differ in the process they run in, not in the heap code.
    #[test]
    fn names_and_binaries() {
        for p in Peer::ALL {
            assert_eq!(Peer::from_name(p.name()), Some(p), "{p:?}");
            assert!(BINARIES.contains(&p.binary()), "{p:?}");
        }
        let names: std::collections::HashSet<_> = Peer::ALL.map(Peer::name).into_iter().collect();
        assert_eq!(names.len(), Peer::ALL.len());
        assert_eq!(Peer::ALL[0], Peer::Rc);
        assert_eq!(Peer::ALL[1], Peer::Cyclegc);
        assert_eq!(Peer::CyclegcPymalloc.name(), "cyclegc+pymalloc");
        assert_eq!(Peer::CyclegcPymalloc.binary(), "gc_peers_pymalloc");
        let in_pymalloc: Vec<Peer> = Peer::ALL
            .into_iter()
            .filter(|p| p.binary() == PYMALLOC_BINARY)
            .collect();
        assert_eq!(in_pymalloc, [Peer::CyclegcPymalloc]);
        assert!(Peer::CyclegcPymalloc.collects());
    }
}
