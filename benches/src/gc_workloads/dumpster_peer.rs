//! `dumpster` 2.x, its single-threaded `unsync::Gc`: reference counting plus
//! a walk from pointers dropped since the last collection ("dirty"), with
//! its own automatic trigger.

use std::cell::RefCell;

use dumpster::unsync::{Gc, collect};
use dumpster::{TraceWith, Visitor};

use super::heap::{GcHeap, Tally};

/// A node behind a dumpster `Gc`.
pub struct DumpsterNode {
    edges: RefCell<Vec<Gc<DumpsterNode>>>,
    _tally: Tally,
}

// SAFETY: `accept` visits every `Gc` the node owns (all of them are in
// `edges`; the tally holds none).
unsafe impl<V: Visitor> TraceWith<V> for DumpsterNode {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        self.edges.accept(visitor)
    }
}

/// The `dumpster` peer.
pub struct DumpsterPeer;

impl GcHeap for DumpsterPeer {
    const NAME: &'static str = "dumpster";
    const COLLECTS: bool = true;
    type Ptr = Gc<DumpsterNode>;

    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr {
        Gc::new(DumpsterNode {
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
        collect();
    }
}
