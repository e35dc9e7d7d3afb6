//! `std::rc::Rc`: the speed baseline. It frees acyclic garbage at once and
//! never reclaims a cycle.

use std::cell::RefCell;
use std::rc::Rc;

use super::heap::{GcHeap, Tally};

/// A node behind an `Rc`.
pub struct RcNode {
    edges: RefCell<Vec<Rc<RcNode>>>,
    _tally: Tally,
}

/// The `Rc` peer.
pub struct RcPeer;

impl GcHeap for RcPeer {
    const NAME: &'static str = "Rc";
    const COLLECTS: bool = false;
    type Ptr = Rc<RcNode>;

    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr {
        Rc::new(RcNode {
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

    fn collect() {}
}
