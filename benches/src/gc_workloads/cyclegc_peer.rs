//! `cyclegc`, the crate under test: reference counting plus CPython's
//! generational collector, with its boxes in pymalloc's pools (whatever the
//! process's global allocator is). It collects on its own thresholds, so
//! long workloads need no help; the young-pause workload times a
//! generation-0 collection, which is what its automatic trigger runs.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};

use super::heap::{GcHeap, Tally};

/// A node behind a `Gc`.
#[derive(Trace)]
pub struct CycleNode {
    edges: RefCell<Vec<Gc<CycleNode>>>,
    #[trace(skip)]
    _tally: Tally,
}

/// The `cyclegc` peer.
pub struct CyclegcPeer;

impl GcHeap for CyclegcPeer {
    const NAME: &'static str = "cyclegc";
    const COLLECTS: bool = true;
    type Ptr = Gc<CycleNode>;

    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr {
        Gc::new(CycleNode {
            edges: RefCell::new(edges),
            _tally: Tally::new(),
        })
    }

    fn push_edge(from: &Self::Ptr, to: Self::Ptr) {
        from.edges.borrow_mut().push(to);
    }

    fn pop_edge(from: &Self::Ptr) -> Option<Self::Ptr> {
        from.edges.borrow_mut().pop()
    }

    fn collect() {
        cyclegc::collect();
    }

    fn collect_young() {
        cyclegc::collect_generation(0);
    }
}
