//! Hand-written (inexact) `Trace` impls that are right: a collection runs
//! such an impl first and counts what the parts it names hold, if they lie
//! in memory the traced object owns (its value, or what a std container in
//! it keeps out of line), so every std container must pass that test, or
//! the object's cycles would leak. Each case is a cycle of two: a node
//! whose hand-traced slot holds the handles, in one kind of storage, to a
//! derived `Back` that refers to the node again.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{DynTrace, Gc, Trace, Tracer};

struct Node {
    id: usize,
    slot: Slot,
}

#[derive(Trace)]
struct Back {
    back: RefCell<Option<Gc<Node>>>,
}

/// One way of keeping handles; traced by hand, like `Node`.
enum Slot {
    Inline(Gc<Back>),
    Boxed(Box<Gc<Back>>),
    List(Vec<Gc<Back>>),
    Deque(VecDeque<Gc<Back>>),
    Map(HashMap<u32, Gc<Back>>),
    Ordered(BTreeMap<u32, Gc<Back>>),
    Set(HashSet<u32>, Vec<Option<Gc<Back>>>),
    InPlaceCell(Cell<Option<Gc<Back>>>),
    InexactCell(Cell<Wrapper>),
    InexactRefCell(RefCell<Vec<Wrapper>>),
    Dyn(Box<dyn DynTrace>),
    Wrapped(Vec<Wrapper>),
    BoxedWrapper(Box<Wrapper>),
    /// Boxes inside a vector inside a map: ownership through three levels.
    #[allow(clippy::vec_box)]
    Nested(HashMap<u32, Vec<Box<Wrapper>>>),
}

/// A hand-written type holding a handle inline, so its own trace is
/// inexact too.
#[derive(Default)]
struct Wrapper(Option<Gc<Back>>);

impl Trace for Wrapper {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.slot.trace(tracer);
    }
}

impl Trace for Slot {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match self {
            Slot::Inline(g) => tracer.visit(g),
            Slot::Boxed(b) => b.trace(tracer),
            Slot::List(v) => v.trace(tracer),
            Slot::Deque(d) => d.trace(tracer),
            Slot::Map(m) => m.trace(tracer),
            Slot::Ordered(m) => m.trace(tracer),
            Slot::Set(s, v) => {
                s.trace(tracer);
                v.trace(tracer);
            }
            Slot::InPlaceCell(c) => c.trace(tracer),
            Slot::InexactCell(c) => c.trace(tracer),
            Slot::InexactRefCell(c) => c.trace(tracer),
            Slot::Dyn(d) => d.trace(tracer),
            Slot::Wrapped(v) => v.trace(tracer),
            Slot::BoxedWrapper(b) => b.trace(tracer),
            Slot::Nested(m) => m.trace(tracer),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        record_drop(self.id);
    }
}

/// A node whose slot `fill` makes from handles to a `Back`, and the
/// `Back`, which refers to the node: a garbage cycle once both are
/// dropped. Returns the number of handles in the slot.
fn cycle(fill: impl Fn(&Gc<Back>) -> Slot) -> (Gc<Node>, Gc<Back>, usize) {
    reset_drops(1);
    let back = Gc::new(Back {
        back: RefCell::new(None),
    });
    let n = Gc::new(Node {
        id: 0,
        slot: fill(&back),
    });
    *back.back.borrow_mut() = Some(n.clone());
    let handles = Gc::strong_count(&back) - 1;
    assert!(handles >= 1);
    (n, back, handles)
}

/// Checks that one collection frees the cycle `fill` makes.
fn collected_through(fill: impl Fn(&Gc<Back>) -> Slot) {
    let (n, back, handles) = cycle(fill);
    assert_eq!(cyclegc::referents(&n).len(), handles, "the trace is right");
    drop((n, back));
    assert_eq!(drops_of(0), 0);
    assert_eq!(cyclegc::collect(), 2, "every owned handle counted");
    assert_eq!(drops_of(0), 1);
}

/// Checks that the cycle `fill` makes leaks: the handles are in a `Cell`
/// of a hand-written type, which nothing can look into (a trace cannot
/// borrow what it holds, and the collector only looks into cells of exact
/// types itself).
fn leaks_through(fill: impl Fn(&Gc<Back>) -> Slot) {
    let (n, back, _) = cycle(fill);
    assert!(cyclegc::referents(&n).is_empty());
    let weak = Gc::downgrade(&back);
    drop((n, back));
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(drops_of(0), 0);
    weak.upgrade().expect("leaked").back.borrow_mut().take();
    assert_eq!(drops_of(0), 1);
}

#[test]
fn inline_handle() {
    collected_through(|n| Slot::Inline(n.clone()));
}

#[test]
fn boxed_handle() {
    collected_through(|n| Slot::Boxed(Box::new(n.clone())));
}

#[test]
fn vec() {
    collected_through(|n| Slot::List(vec![n.clone(), n.clone(), n.clone()]));
}

#[test]
fn vec_deque() {
    collected_through(|n| Slot::Deque([n.clone(), n.clone()].into()));
}

#[test]
fn hash_map() {
    collected_through(|n| Slot::Map((0..3).map(|k| (k, n.clone())).collect()));
}

#[test]
fn btree_map() {
    collected_through(|n| Slot::Ordered((0..3).map(|k| (k, n.clone())).collect()));
}

#[test]
fn hash_set_beside_options() {
    collected_through(|n| Slot::Set([1, 2].into(), vec![None, Some(n.clone())]));
}

#[test]
fn cell_traced_in_place() {
    collected_through(|n| Slot::InPlaceCell(Cell::new(Some(n.clone()))));
}

#[test]
fn cell_of_a_hand_written_value_leaks() {
    leaks_through(|n| Slot::InexactCell(Cell::new(Wrapper(Some(n.clone())))));
}

/// Traced from a shared borrow the collector holds until it has counted.
#[test]
fn refcell_of_hand_written_values() {
    collected_through(|n| Slot::InexactRefCell(RefCell::new(vec![Wrapper(Some(n.clone()))])));
}

#[test]
fn boxed_dyn_trace() {
    collected_through(|n| Slot::Dyn(Box::new(vec![n.clone(), n.clone()])));
}

#[test]
fn hand_written_elements() {
    collected_through(|n| Slot::Wrapped(vec![Wrapper(Some(n.clone())), Wrapper(None)]));
}

#[test]
fn boxed_hand_written_value() {
    collected_through(|n| Slot::BoxedWrapper(Box::new(Wrapper(Some(n.clone())))));
}

#[test]
fn nested_containers_of_hand_written_values() {
    collected_through(|n| {
        Slot::Nested(
            (0..3)
                .map(|k| {
                    let item = || Box::new(Wrapper(Some(n.clone())));
                    (k, vec![item(), item()])
                })
                .collect(),
        )
    });
}

/// A handle reached through another object's value is that object's to
/// report: reporting it as well (a common mistake: tracing through a `Gc`
/// into its target's fields) is not counted, so it neither keeps garbage
/// alive nor frees what is still referenced.
#[test]
fn tracing_through_another_object_counts_nothing_extra() {
    reset_drops(1);
    struct Through {
        other: Gc<Node>,
    }
    impl Trace for Through {
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            tracer.visit(&self.other);
            // Wrong: `other`'s slot belongs to `other`.
            self.other.slot.trace(tracer);
        }
    }
    let target = Gc::new(Back {
        back: RefCell::new(None),
    });
    let inner = Gc::new(Node {
        id: 0,
        slot: Slot::Inline(target.clone()),
    });
    let outer = Gc::new(Through {
        other: inner.clone(),
    });
    // `inner` is held from the stack and by `outer`; `target` only by
    // `inner`, whose report and `outer`'s wrong one would make two.
    drop(inner);
    let weak_target = Gc::downgrade(&target);
    drop(target);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors, "no error either");
    assert_eq!(drops_of(0), 0);
    assert_eq!(weak_target.strong_count(), 1, "intact, pins released");
    drop(outer);
    assert_eq!(drops_of(0), 1);
}
