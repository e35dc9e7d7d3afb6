//! Hand-written (inexact) `Trace` impls that are right: the collector only
//! counts a handle such an impl reports if it lies in memory the traced
//! object owns (its value, or what a container in it keeps out of line),
//! and every handle kept in any of the std containers must pass that test,
//! or the object's cycles would leak. Each case is a node in a cycle with
//! itself through one kind of storage.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{DynTrace, Gc, Trace, Tracer};

struct Node {
    id: usize,
    slot: RefCell<Slot>,
}

/// One way of keeping handles; traced by hand, like `Node`.
enum Slot {
    Empty,
    Inline(Gc<Node>),
    Boxed(Box<Gc<Node>>),
    List(Vec<Gc<Node>>),
    Deque(VecDeque<Gc<Node>>),
    Map(HashMap<u32, Gc<Node>>),
    Ordered(BTreeMap<u32, Gc<Node>>),
    Set(HashSet<u32>, Vec<Option<Gc<Node>>>),
    InPlaceCell(Cell<Option<Gc<Node>>>),
    CopiedCell(Cell<Wrapper>),
    CopiedVecCell(Cell<Vec<Wrapper>>),
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
struct Wrapper(Option<Gc<Node>>);

impl Trace for Wrapper {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer);
    }
}

impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.slot.trace(tracer);
    }
}

impl Trace for Slot {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Slot::Empty => {}
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
            Slot::CopiedCell(c) => c.trace(tracer),
            Slot::CopiedVecCell(c) => c.trace(tracer),
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

/// Puts the handles `fill` makes from one to the node itself into its slot,
/// drops the node, and checks that one collection frees it.
fn collected_through(fill: impl Fn(&Gc<Node>) -> Slot) {
    reset_drops(1);
    let n = Gc::new(Node {
        id: 0,
        slot: RefCell::new(Slot::Empty),
    });
    *n.slot.borrow_mut() = fill(&n);
    let handles = Gc::strong_count(&n) - 1;
    assert!(handles >= 1);
    assert_eq!(cyclegc::referents(&n).len(), handles, "the trace is right");
    drop(n);
    assert_eq!(drops_of(0), 0);
    assert_eq!(cyclegc::collect(), 1, "every owned handle counted");
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
fn cell_traced_from_a_copy() {
    collected_through(|n| Slot::CopiedCell(Cell::new(Wrapper(Some(n.clone())))));
}

#[test]
fn vec_in_a_cell_traced_from_a_copy() {
    collected_through(|n| Slot::CopiedVecCell(Cell::new(vec![Wrapper(Some(n.clone()))])));
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
    reset_drops(2);
    struct Through {
        other: Gc<Node>,
    }
    impl Trace for Through {
        fn trace(&self, tracer: &mut Tracer<'_>) {
            tracer.visit(&self.other);
            // Wrong: `other`'s slot belongs to `other`.
            self.other.slot.trace(tracer);
        }
    }
    let target = Gc::new(Node {
        id: 1,
        slot: RefCell::new(Slot::Empty),
    });
    let inner = Gc::new(Node {
        id: 0,
        slot: RefCell::new(Slot::Inline(target.clone())),
    });
    let outer = Gc::new(Through {
        other: inner.clone(),
    });
    // `inner` is held from the stack and by `outer`; `target` only by
    // `inner`, whose report and `outer`'s wrong one would make two.
    drop(inner);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors, "no error either");
    assert_eq!((drops_of(0), drops_of(1)), (0, 0));
    drop(target);
    drop(outer);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}
