//! What a GC workload needs from a garbage-collected pointer, so one generic
//! workload runs on every peer: a node holding a vector of pointers to
//! other nodes, edges pushed and popped, and a collection.
//!
//! Every node carries a [`Tally`], which counts nodes made and nodes
//! dropped, so a workload can report how many nodes were never reclaimed
//! (what `Rc` leaks, or what a collector missed).

use std::cell::Cell;

thread_local! {
    static MADE: Cell<u64> = const { Cell::new(0) };
    static DROPPED: Cell<u64> = const { Cell::new(0) };
}

/// Counts itself made and dropped; one in every node. Holds no pointer, so
/// every peer traces it as nothing.
#[derive(Debug)]
pub struct Tally(());

impl Tally {
    /// A new node's tally.
    pub fn new() -> Self {
        MADE.with(|m| m.set(m.get() + 1));
        Tally(())
    }
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

/// Nodes made on this thread and not dropped yet.
pub fn live_nodes() -> u64 {
    MADE.with(Cell::get) - DROPPED.with(Cell::get)
}

/// A garbage-collected (or reference-counted) pointer to a node with a
/// growable list of edges.
pub trait GcHeap: 'static {
    /// The peer's name in reports (the crate's name).
    const NAME: &'static str;
    /// Whether the peer reclaims cycles at all (`Rc` does not).
    const COLLECTS: bool;
    /// A strong pointer to a node.
    type Ptr: Clone;

    /// A new node with no edges.
    fn new_node() -> Self::Ptr {
        Self::node_with(Vec::new())
    }
    /// A new node whose edges are `edges`, set in one step (filling a
    /// rust-gc `GcCell` one push at a time is quadratic: each mutable borrow
    /// roots and unroots all of its contents).
    fn node_with(edges: Vec<Self::Ptr>) -> Self::Ptr;
    /// Adds an edge `from -> to`.
    fn push_edge(from: &Self::Ptr, to: Self::Ptr);
    /// Removes `from`'s last edge and hands it back (to be dropped outside
    /// any borrow of `from`).
    fn pop_edge(from: &Self::Ptr) -> Option<Self::Ptr>;
    /// A full collection, as the crate offers it: everything unreachable is
    /// reclaimed afterwards. A no-op for `Rc`.
    fn collect();
    /// Makes `p` a place the next collection starts from, for collectors
    /// that start from candidates rather than from all roots (trial
    /// deletion buffers a pointer whose count went down; dumpster marks it
    /// dirty): a clone of `p`, dropped.
    fn make_candidate(p: &Self::Ptr) {
        drop(p.clone());
    }
    /// A collection of the youngest objects only, for collectors with
    /// generations; a full collection for the others.
    fn collect_young() {
        Self::collect();
    }
    /// Called after each operation `i` of a long mutating workload: peers
    /// with no automatic trigger collect here now and then.
    fn after_op(_i: u64) {}
}
