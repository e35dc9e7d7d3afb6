//! `bacon_rajan_cc` 0.4: reference counting plus Bacon-Rajan trial deletion
//! of buffered candidate roots. It has no automatic trigger, so long
//! workloads call `collect_cycles` every 10 000 operations.

use std::cell::RefCell;

use bacon_rajan_cc::{Cc, Trace, Tracer, collect_cycles};

use super::heap::{GcHeap, Tally};

/// Operations between two collections in long workloads.
const COLLECT_EVERY: u64 = 10_000;

/// A node behind a `Cc`.
pub struct BaconNode {
    edges: RefCell<Vec<Cc<BaconNode>>>,
    _tally: Tally,
}

impl Trace for BaconNode {
    fn trace(&self, tracer: &mut Tracer) {
        self.edges.trace(tracer);
    }
}

/// The `bacon_rajan_cc` peer.
pub struct BaconPeer;

impl GcHeap for BaconPeer {
    const NAME: &'static str = "bacon_rajan_cc";
    const COLLECTS: bool = true;
    type Ptr = Cc<BaconNode>;

    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr {
        Cc::new(BaconNode {
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
        collect_cycles();
    }

    fn after_op(i: u64) {
        if i % COLLECT_EVERY == COLLECT_EVERY - 1 {
            collect_cycles();
        }
    }
}
