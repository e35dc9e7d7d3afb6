//! `gc` 0.5 (rust-gc): mark-and-sweep from rooted pointers, with its own
//! allocation-driven trigger. Nothing is freed when a count drops; only a
//! collection frees.

use gc::{Finalize, Gc, GcCell, Trace, force_collect};

use super::heap::{GcHeap, Tally};

/// A node behind a rust-gc `Gc`.
pub struct RustGcNode {
    edges: GcCell<Vec<Gc<RustGcNode>>>,
    _tally: Tally,
}

impl Finalize for RustGcNode {}

// SAFETY: every method forwards to `edges`, which holds every `Gc` the node
// owns (the tally holds none), as the `Trace` contract requires.
unsafe impl Trace for RustGcNode {
    unsafe fn trace(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.edges.trace() }
    }

    unsafe fn root(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.edges.root() }
    }

    unsafe fn unroot(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.edges.unroot() }
    }

    fn finalize_glue(&self) {
        Finalize::finalize(self);
        self.edges.finalize_glue();
    }
}

/// The `gc` peer.
pub struct RustGcPeer;

impl GcHeap for RustGcPeer {
    const NAME: &'static str = "gc";
    const COLLECTS: bool = true;
    type Ptr = Gc<RustGcNode>;

    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr {
        Gc::new(RustGcNode {
            edges: GcCell::new(edges),
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
        force_collect();
    }
}
