//! Panics in `Drop`, finalizers, `Trace` impls and callbacks leave the
//! collector consistent and usable.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{drops_of, record_drop, reset_drops, total_drops};
use cyclegc::{Gc, Trace, Tracer};

thread_local! {
    static PANIC_IN_DROP: Cell<Option<usize>> = const { Cell::new(None) };
    static PANIC_IN_FINALIZE: Cell<Option<usize>> = const { Cell::new(None) };
    static PANIC_IN_TRACE: Cell<bool> = const { Cell::new(false) };
}

struct Node {
    id: usize,
    next: RefCell<Option<Gc<Node>>>,
    /// Dropped after `Node::drop` panics, which must still happen.
    _tail: Tail,
}

struct Tail(usize);

impl Drop for Tail {
    fn drop(&mut self) {
        record_drop(1000 + self.0);
    }
}

impl Trace for Node {
    const FINALIZE: bool = true;

    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if PANIC_IN_TRACE.with(Cell::get) {
            panic!("trace panics");
        }
        self.next.trace(tracer);
    }

    fn finalize(&self) {
        if PANIC_IN_FINALIZE.with(Cell::get) == Some(self.id) {
            panic!("finalizer of {} panics", self.id);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        record_drop(self.id);
        if PANIC_IN_DROP.with(Cell::get) == Some(self.id) {
            panic!("drop of {} panics", self.id);
        }
    }
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        next: RefCell::new(None),
        _tail: Tail(id),
    })
}

fn ring(ids: std::ops::Range<usize>) -> Vec<Gc<Node>> {
    let nodes: Vec<_> = ids.map(node).collect();
    for i in 0..nodes.len() {
        *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % nodes.len()].clone());
    }
    nodes
}

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// After any of the panics below, a fresh cycle is still collected.
fn collector_still_works() {
    reset_drops(0);
    drop(ring(500..503));
    assert_eq!(cyclegc::collect(), 3);
    assert_eq!(total_drops(), 6); // 3 nodes + 3 tails
    assert_eq!(cyclegc::collect_generation(0), 0);
}

#[test]
fn panic_in_drop_during_collection() {
    reset_drops(0);
    drop(ring(0..3));
    PANIC_IN_DROP.with(|p| p.set(Some(1)));
    let err = catch_unwind(cyclegc::collect).expect_err("the drop panic surfaces");
    PANIC_IN_DROP.with(|p| p.set(None));
    assert_eq!(message(err), "drop of 1 panics");
    // Every value was still dropped exactly once, the panicking one's
    // remaining fields included.
    for id in [0, 1, 2, 1000, 1001, 1002] {
        assert_eq!(drops_of(id), 1, "id {id}");
    }
    assert_eq!(cyclegc::stats()[2].collected, 3);
    collector_still_works();
}

#[test]
fn panic_in_finalizer_during_collection() {
    reset_drops(0);
    drop(ring(0..3));
    PANIC_IN_FINALIZE.with(|p| p.set(Some(2)));
    let err = catch_unwind(cyclegc::collect).expect_err("the finalizer panic surfaces");
    PANIC_IN_FINALIZE.with(|p| p.set(None));
    assert_eq!(message(err), "finalizer of 2 panics");
    assert_eq!(total_drops(), 6, "the garbage was dropped anyway");
    collector_still_works();
}

#[test]
fn panic_in_trace_abandons_the_collection_and_keeps_everything() {
    reset_drops(0);
    let nodes = ring(0..3);
    let weak: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    drop(nodes);
    PANIC_IN_TRACE.with(|p| p.set(true));
    let err = catch_unwind(cyclegc::collect).expect_err("the trace panic surfaces");
    PANIC_IN_TRACE.with(|p| p.set(false));
    assert_eq!(message(err), "trace panics");
    assert_eq!(total_drops(), 0);
    for w in &weak {
        let g = w.upgrade().expect("kept");
        assert!(cyclegc::is_tracked(&g));
        assert_eq!(Gc::strong_count(&g), 2, "the collector's pin is gone");
    }
    assert_eq!(cyclegc::collect(), 3);
    assert_eq!(total_drops(), 6);
    collector_still_works();
}

#[test]
fn panic_in_callback() {
    reset_drops(0);
    let id = cyclegc::add_callback(|info| {
        if info.phase == cyclegc::Phase::Start {
            panic!("callback panics");
        }
    });
    drop(ring(0..2));
    let err = catch_unwind(cyclegc::collect).expect_err("the callback panic surfaces");
    assert_eq!(message(err), "callback panics");
    assert_eq!(total_drops(), 4, "the collection still ran");
    assert!(cyclegc::remove_callback(id));
    collector_still_works();
}

#[test]
fn panic_in_drop_during_reference_counting_release() {
    reset_drops(0);
    // 0 -> 1 -> 2, acyclic; dropping 0 releases 1 (nested: queued), whose
    // drop panics; 2 must still be released exactly once.
    let n0 = node(0);
    let n1 = node(1);
    let n2 = node(2);
    *n0.next.borrow_mut() = Some(n1.clone());
    *n1.next.borrow_mut() = Some(n2.clone());
    drop((n1, n2));
    PANIC_IN_DROP.with(|p| p.set(Some(1)));
    let err = catch_unwind(AssertUnwindSafe(|| drop(n0))).expect_err("surfaces");
    PANIC_IN_DROP.with(|p| p.set(None));
    assert_eq!(message(err), "drop of 1 panics");
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
    // Node 2 may still sit in the release queue; the next release or
    // collection processes it.
    cyclegc::collect();
    assert_eq!(drops_of(2), 1);
    assert_eq!(drops_of(1002), 1);
    collector_still_works();
}

#[test]
fn panic_in_automatic_collection_inside_gc_new() {
    reset_drops(0);
    cyclegc::set_threshold(10, 10, 10);
    drop(ring(0..3));
    PANIC_IN_DROP.with(|p| p.set(Some(0)));
    let mut made = Vec::new();
    let err = catch_unwind(AssertUnwindSafe(|| {
        for i in 0..100 {
            made.push(node(100 + i));
        }
    }))
    .expect_err("an automatic collection ran and surfaced the panic");
    PANIC_IN_DROP.with(|p| p.set(None));
    assert_eq!(message(err), "drop of 0 panics");
    // The value being moved into the failed `Gc::new` was dropped, not
    // leaked: nodes 100.. that were created all exist, the next one was
    // dropped by the unwinding.
    let attempted = 100 + made.len();
    assert_eq!(drops_of(attempted), 1);
    assert!(made.iter().all(|g| drops_of(g.id) == 0));
    drop(made);
    cyclegc::set_threshold(2000, 10, 10);
    collector_still_works();
}

/// A queued release left by one panic that panics again when `collect`
/// drains the queue must not leave the collector stuck "collecting" (every
/// later collection returned 0 and automatic collection stopped).
#[test]
fn panic_while_collect_drains_the_release_queue() {
    reset_drops(0);
    let n0 = node(0);
    let n1 = node(1);
    let n2 = node(2);
    *n0.next.borrow_mut() = Some(n1.clone());
    *n1.next.borrow_mut() = Some(n2.clone());
    drop((n1, n2));
    PANIC_IN_DROP.with(|p| p.set(Some(1)));
    let err = catch_unwind(AssertUnwindSafe(|| drop(n0))).expect_err("surfaces");
    assert_eq!(message(err), "drop of 1 panics");
    assert_eq!(drops_of(2), 0, "node 2 waits in the release queue");
    PANIC_IN_DROP.with(|p| p.set(Some(2)));
    let err = catch_unwind(cyclegc::collect).expect_err("the queued drop panics");
    PANIC_IN_DROP.with(|p| p.set(None));
    assert_eq!(message(err), "drop of 2 panics");
    assert_eq!((drops_of(2), drops_of(1002)), (1, 1));
    collector_still_works();
}

thread_local! {
    static TRACES_BEFORE_PANIC: Cell<Option<usize>> = const { Cell::new(None) };
}

struct Multi {
    edges: RefCell<Vec<Gc<Multi>>>,
}

impl Trace for Multi {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if let Some(n) = TRACES_BEFORE_PANIC.with(Cell::get) {
            TRACES_BEFORE_PANIC.with(|c| c.set(n.checked_sub(1)));
            if n == 0 {
                panic!("trace panics late");
            }
        }
        self.edges.trace(tracer);
    }
}

/// A hand-written `Trace` that panics after the collection has pinned
/// some candidates (and traced one) leaves every list intact and every pin
/// released; the panic surfaces from `collect`.
#[test]
fn panic_in_a_later_trace_keeps_the_lists_intact() {
    let a = Gc::new(Multi {
        edges: RefCell::new(Vec::new()),
    });
    let b = Gc::new(Multi {
        edges: RefCell::new(vec![a.clone()]),
    });
    a.edges.borrow_mut().extend([b.clone(), b.clone()]);
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    // The collection traces a, then b: panic there.
    TRACES_BEFORE_PANIC.with(|c| c.set(Some(1)));
    let err = catch_unwind(cyclegc::collect).expect_err("the trace panic surfaces");
    TRACES_BEFORE_PANIC.with(|c| c.set(None));
    assert_eq!(message(err), "trace panics late");
    let (a, b) = (wa.upgrade().expect("kept"), wb.upgrade().expect("kept"));
    assert!(cyclegc::is_tracked(&a) && cyclegc::is_tracked(&b));
    // Unlinks both boxes (reference counting, no collection).
    a.edges.borrow_mut().clear();
    drop((a, b));
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
    collector_still_works();
}

/// A panic payload whose own `Drop` panics.
struct PayloadBomb;

impl Drop for PayloadBomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics");
    }
}

/// A derived (exact) node whose `Drop` panics with a [`PayloadBomb`] for
/// one id.
#[derive(Trace)]
struct Bombed {
    next: RefCell<Option<Gc<Bombed>>>,
    #[trace(skip)]
    id: usize,
}

impl Drop for Bombed {
    fn drop(&mut self) {
        record_drop(self.id);
        if self.id == 2000 {
            std::panic::panic_any(PayloadBomb);
        }
    }
}

/// A collection keeps its first panic and drops later payloads; one whose
/// `Drop` panics again must not unwind out of the drops (found by review:
/// the rest of the garbage was never dropped, and the collector stayed
/// marked as collecting, so it never collected again on that thread).
#[test]
fn a_later_panic_whose_payload_panics_when_dropped_is_contained() {
    reset_drops(0);
    let nodes: Vec<Gc<Bombed>> = (2000..2010)
        .map(|id| {
            Gc::new(Bombed {
                next: RefCell::new(None),
                id,
            })
        })
        .collect();
    for (i, n) in nodes.iter().enumerate() {
        *n.next.borrow_mut() = Some(nodes[(i + 1) % nodes.len()].clone());
    }
    drop(nodes);
    let id = cyclegc::add_callback(|info| {
        if info.phase == cyclegc::Phase::Start {
            panic!("callback panics");
        }
    });
    let err = catch_unwind(cyclegc::collect).expect_err("the first panic surfaces");
    assert!(cyclegc::remove_callback(id));
    assert_eq!(message(err), "callback panics");
    for id in 2000..2010 {
        assert_eq!(drops_of(id), 1, "id {id}");
    }
    collector_still_works();
}

/// Dropped when its callback is: panics.
struct Capture;

impl Drop for Capture {
    fn drop(&mut self) {
        panic!("a capture's drop panics");
    }
}

/// A callback that removes itself while it runs is dropped once it
/// returns; the `Drop` of what it captured is user code, caught like the
/// callback's own panics.
#[test]
fn a_callback_dropped_after_removing_itself_may_panic() {
    let own: std::rc::Rc<Cell<Option<cyclegc::CallbackId>>> = Default::default();
    let capture = Capture;
    let me = own.clone();
    let id = cyclegc::add_callback(move |_| {
        let _keep = &capture;
        if let Some(id) = me.take() {
            assert!(cyclegc::remove_callback(id));
        }
    });
    own.set(Some(id));
    reset_drops(0);
    drop(ring(0..2));
    let err = catch_unwind(cyclegc::collect).expect_err("the capture's panic surfaces");
    assert_eq!(message(err), "a capture's drop panics");
    assert_eq!(total_drops(), 4, "the collection still ran");
    collector_still_works();
}
