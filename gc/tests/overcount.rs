//! An `unsafe impl ExactTrace` that reports an edge more often than its
//! value holds it breaks its contract; when that drives a count below
//! zero, the collector sees it once every edge is counted and abandons the
//! collection: nothing is dropped, and `trace_errors` counts it. Both
//! places that look are tested: the reachability scan reaching the
//! object, and an edge from a reachable object reaching it first.

use std::cell::{Cell, RefCell};

use cyclegc::{Exact, ExactTrace, Gc, Pass, Trace, Tracer};

thread_local! {
    /// Whether the lying nodes report their edges three times.
    static LIE: Cell<bool> = const { Cell::new(false) };
    /// Ids of the nodes dropped.
    static DROPPED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

struct Node {
    id: u32,
    lies: bool,
    edges: RefCell<Vec<Gc<Node>>>,
}

impl Trace for Node {
    const EXACT: Exact<Self> = Exact::certified().and(<RefCell<Vec<Gc<Node>>> as Trace>::EXACT);
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.edges.trace(tracer);
    }
}

// SAFETY: deliberately broken while `LIE` is set (the point of the test):
// a lying node reports each edge three times. Otherwise it reports its
// one field once, in place, and runs nothing else.
unsafe impl ExactTrace for Node {
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        let times = if self.lies && LIE.with(Cell::get) {
            3
        } else {
            1
        };
        for _ in 0..times {
            tracer.field::<P, _>(&self.edges);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPPED.with(|d| d.borrow_mut().push(self.id));
    }
}

fn node(id: u32, lies: bool) -> Gc<Node> {
    Gc::new(Node {
        id,
        lies,
        edges: RefCell::new(Vec::new()),
    })
}

fn dropped() -> Vec<u32> {
    DROPPED.with(|d| d.borrow().clone())
}

/// Collects with the lie on: nothing is collected or dropped, and one
/// trace error is counted; then again with it off, which collects
/// `garbage` objects.
fn abandoned_then_collected(garbage: usize) {
    let errors = cyclegc::stats()[2].trace_errors;
    LIE.with(|l| l.set(true));
    assert_eq!(
        cyclegc::collect(),
        0,
        "a collection with a count below zero"
    );
    LIE.with(|l| l.set(false));
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!(dropped(), [], "a value dropped by an abandoned collection");
    assert_eq!(cyclegc::collect(), garbage);
}

/// A garbage liar over-reports an object only it holds: the scan finds
/// that object's count below zero.
#[test]
fn a_count_below_zero_found_by_the_scan() {
    cyclegc::collect();
    DROPPED.with(|d| d.borrow_mut().clear());
    let liar = node(1, true);
    let held = node(2, false);
    liar.edges.borrow_mut().push(held);
    liar.edges.borrow_mut().push(liar.clone());
    let target = Gc::downgrade(&liar.edges.borrow()[0]);
    drop(liar);
    abandoned_then_collected(2);
    assert!(target.upgrade().is_none());
    let mut ids = dropped();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2]);
}

/// A reachable liar over-reports an object that a reachable object scanned
/// before it refers to: the edge from that object finds the count below
/// zero (it revives the object before the scan gets there), and every
/// value stays intact.
#[test]
fn a_count_below_zero_found_by_an_edge() {
    cyclegc::collect();
    DROPPED.with(|d| d.borrow_mut().clear());
    // In this order in generation 0, which is the order of the scan.
    let root = node(1, false);
    let shared = node(2, false);
    let liar = node(3, true);
    root.edges.borrow_mut().push(shared.clone());
    liar.edges.borrow_mut().push(shared);
    abandoned_then_collected(0);
    let shared = &root.edges.borrow()[0];
    assert_eq!(Gc::try_deref(shared).map(|n| n.id), Some(2));
    assert_eq!(Gc::strong_count(shared), 2);
    assert_eq!(Gc::try_deref(&liar).map(|n| n.id), Some(3));
}

/// An abandoned collection keeps everything, and what it kept counts as
/// long-lived for CPython's 25% rule (an abandoned collection once reset
/// that count to zero, letting every later full collection through).
#[test]
fn an_abandoned_collection_keeps_the_long_lived_count() {
    cyclegc::collect();
    DROPPED.with(|d| d.borrow_mut().clear());
    let keep: Vec<Gc<Node>> = (0..1000).map(|i| node(100 + i, false)).collect();
    let liar = node(1, true);
    liar.edges.borrow_mut().push(node(2, false));
    liar.edges.borrow_mut().push(liar.clone());
    drop(liar);
    let errors = cyclegc::stats()[2].trace_errors;
    LIE.with(|l| l.set(true));
    assert_eq!(cyclegc::collect(), 0);
    LIE.with(|l| l.set(false));
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    // 30 survivors made with tiny thresholds: far below 25% of the 1000
    // long-lived objects, so no full collection may run.
    let full_before = cyclegc::stats()[2].collections;
    cyclegc::set_threshold(2, 1, 0);
    let more: Vec<Gc<Node>> = (0..30).map(|i| node(2000 + i, false)).collect();
    cyclegc::set_threshold(2000, 10, 10);
    assert_eq!(cyclegc::stats()[2].collections, full_before);
    assert_eq!(dropped(), [], "a value dropped by an abandoned collection");
    drop((keep, more));
    assert_eq!(cyclegc::collect(), 2, "the liar's cycle, told no lie");
}
