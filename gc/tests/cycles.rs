//! Cycles through each kind of container, and the reference-counting
//! behaviour around them.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, LinkedList, VecDeque};
use std::rc::Rc;

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{DynTrace, Gc, Trace};

/// Records its id when dropped.
#[derive(Trace)]
struct Probe(#[trace(skip)] usize);

impl Drop for Probe {
    fn drop(&mut self) {
        record_drop(self.0);
    }
}

#[derive(Trace)]
struct ViaRefCell {
    probe: Probe,
    next: RefCell<Option<Gc<ViaRefCell>>>,
}

#[test]
fn refcell_cycle_of_three() {
    reset_drops(3);
    let make = |i| {
        Gc::new(ViaRefCell {
            probe: Probe(i),
            next: RefCell::new(None),
        })
    };
    let (a, b, c) = (make(0), make(1), make(2));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(c.clone());
    *c.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(cyclegc::collect(), 0, "c still holds the cycle");
    drop(c);
    assert_eq!(cyclegc::collect(), 3);
    assert_eq!((drops_of(0), drops_of(1), drops_of(2)), (1, 1, 1));
}

#[test]
fn acyclic_values_are_freed_by_reference_counting_alone() {
    reset_drops(2);
    let a = Gc::new(ViaRefCell {
        probe: Probe(0),
        next: RefCell::new(None),
    });
    let b = Gc::new(ViaRefCell {
        probe: Probe(1),
        next: RefCell::new(Some(a.clone())),
    });
    drop(a);
    assert_eq!(drops_of(0), 0);
    drop(b);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
    assert_eq!(cyclegc::collect(), 0);
}

#[derive(Trace)]
struct ViaVec {
    probe: Probe,
    children: RefCell<Vec<Gc<ViaVec>>>,
}

#[test]
fn vec_cycles_with_shared_children() {
    reset_drops(4);
    let make = |i| {
        Gc::new(ViaVec {
            probe: Probe(i),
            children: RefCell::default(),
        })
    };
    let nodes: Vec<_> = (0..4).map(make).collect();
    for a in &nodes {
        for b in &nodes {
            a.children.borrow_mut().push(b.clone());
        }
    }
    assert_eq!(Gc::strong_count(&nodes[0]), 5);
    drop(nodes);
    assert_eq!(cyclegc::collect(), 4);
    assert!((0..4).all(|i| drops_of(i) == 1));
}

#[derive(Trace)]
struct ViaMaps {
    probe: Probe,
    by_name: RefCell<HashMap<String, Gc<ViaMaps>>>,
    set: RefCell<HashSet<u64>>,
    ordered: RefCell<BTreeMap<u32, Gc<ViaMaps>>>,
}

#[test]
fn hashmap_and_btreemap_cycles() {
    reset_drops(2);
    let make = |i| {
        Gc::new(ViaMaps {
            probe: Probe(i),
            by_name: RefCell::default(),
            set: RefCell::default(),
            ordered: RefCell::default(),
        })
    };
    let (a, b) = (make(0), make(1));
    a.by_name.borrow_mut().insert("b".into(), b.clone());
    b.ordered.borrow_mut().insert(1, a.clone());
    a.set.borrow_mut().insert(9);
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[derive(Trace)]
enum Tree {
    Leaf(Probe),
    Node(Probe, RefCell<Vec<Gc<Tree>>>),
    Back(Probe, RefCell<Option<Gc<Tree>>>),
}

#[test]
fn enum_cycles() {
    reset_drops(3);
    let leaf = Gc::new(Tree::Leaf(Probe(0)));
    let back = Gc::new(Tree::Back(Probe(1), RefCell::new(None)));
    let root = Gc::new(Tree::Node(
        Probe(2),
        RefCell::new(vec![leaf.clone(), back.clone()]),
    ));
    if let Tree::Back(_, up) = &*back {
        *up.borrow_mut() = Some(root.clone());
    }
    drop((leaf, back));
    assert_eq!(cyclegc::collect(), 0);
    drop(root);
    // The leaf is not part of the cycle, but hangs off it.
    assert_eq!(cyclegc::collect(), 3);
    assert!((0..3).all(|i| drops_of(i) == 1));
}

#[derive(Trace)]
struct ViaCell {
    probe: Probe,
    next: Cell<Option<Gc<ViaCell>>>,
}

#[test]
fn cell_cycles() {
    reset_drops(2);
    let a = Gc::new(ViaCell {
        probe: Probe(0),
        next: Cell::new(None),
    });
    let b = Gc::new(ViaCell {
        probe: Probe(1),
        next: Cell::new(Some(a.clone())),
    });
    a.next.set(Some(b.clone()));
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[derive(Trace)]
struct Everything {
    probe: Probe,
    tuple: RefCell<(u8, Option<Gc<Everything>>, String)>,
    array: RefCell<[Option<Gc<Everything>>; 2]>,
    deque: RefCell<VecDeque<Gc<Everything>>>,
    list: RefCell<LinkedList<Gc<Everything>>>,
    set: RefCell<BTreeSet<u8>>,
    result: RefCell<Result<Gc<Everything>, String>>,
    boxed: RefCell<Option<Box<Gc<Everything>>>>,
    dynamic: RefCell<Vec<Box<dyn DynTrace>>>,
}

fn everything(i: usize) -> Gc<Everything> {
    Gc::new(Everything {
        probe: Probe(i),
        tuple: RefCell::new((0, None, String::new())),
        array: RefCell::new([None, None]),
        deque: RefCell::default(),
        list: RefCell::default(),
        set: RefCell::default(),
        result: RefCell::new(Err(String::new())),
        boxed: RefCell::new(None),
        dynamic: RefCell::default(),
    })
}

#[test]
fn cycles_through_every_std_container() {
    // One two-cycle per container kind; each must be found.
    type Link = fn(&Gc<Everything>, &Gc<Everything>);
    let links: [Link; 8] = [
        |a, b| a.tuple.borrow_mut().1 = Some(b.clone()),
        |a, b| a.array.borrow_mut()[1] = Some(b.clone()),
        |a, b| a.deque.borrow_mut().push_front(b.clone()),
        |a, b| a.list.borrow_mut().push_back(b.clone()),
        |a, b| *a.result.borrow_mut() = Ok(b.clone()),
        |a, b| *a.boxed.borrow_mut() = Some(Box::new(b.clone())),
        |a, b| a.dynamic.borrow_mut().push(Box::new(b.clone())),
        |a, b| {
            let inner = (1u8, Some(b.clone()));
            a.dynamic.borrow_mut().push(Box::new(inner));
        },
    ];
    for (k, link) in links.iter().enumerate() {
        reset_drops(2);
        let (a, b) = (everything(0), everything(1));
        link(&a, &b);
        b.deque.borrow_mut().push_back(a.clone());
        drop((a, b));
        assert_eq!(cyclegc::collect(), 2, "container kind {k}");
        assert_eq!((drops_of(0), drops_of(1)), (1, 1), "container kind {k}");
    }
}

/// `Everything` without the `dyn` field: exact, so the collector's hot
/// passes trace it through the `trace_exact` of the std impls and the
/// derive, not through `trace`.
#[derive(Trace)]
#[allow(clippy::large_enum_variant)]
enum ExactEverything {
    Fields {
        probe: Probe,
        tuple: RefCell<(u8, Option<Gc<ExactEverything>>, String)>,
        array: RefCell<[Option<Gc<ExactEverything>>; 2]>,
        deque: RefCell<VecDeque<Gc<ExactEverything>>>,
        list: RefCell<LinkedList<Gc<ExactEverything>>>,
        result: RefCell<Result<Gc<ExactEverything>, String>>,
        boxed: RefCell<Option<Box<Gc<ExactEverything>>>>,
        slice: RefCell<Box<[Option<Gc<ExactEverything>>]>>,
        map: RefCell<HashMap<u8, Gc<ExactEverything>>>,
        ordered: RefCell<BTreeMap<u8, Gc<ExactEverything>>>,
        cell: Cell<Option<Gc<ExactEverything>>>,
        reverse: RefCell<Option<std::cmp::Reverse<Gc<ExactEverything>>>>,
    },
    #[allow(dead_code)]
    Empty,
}

fn exact_everything(i: usize) -> Gc<ExactEverything> {
    Gc::new(ExactEverything::Fields {
        probe: Probe(i),
        tuple: RefCell::new((0, None, String::new())),
        array: RefCell::new([None, None]),
        deque: RefCell::default(),
        list: RefCell::default(),
        result: RefCell::new(Err(String::new())),
        boxed: RefCell::new(None),
        slice: RefCell::new(Box::new([])),
        map: RefCell::default(),
        ordered: RefCell::default(),
        cell: Cell::new(None),
        reverse: RefCell::new(None),
    })
}

/// Links `a` to `b` through the container kind `k`.
fn exact_link(k: usize, a: &Gc<ExactEverything>, b: &Gc<ExactEverything>) {
    let ExactEverything::Fields {
        tuple,
        array,
        deque,
        list,
        result,
        boxed,
        slice,
        map,
        ordered,
        cell,
        reverse,
        ..
    } = &**a
    else {
        unreachable!()
    };
    let b = b.clone();
    match k {
        0 => tuple.borrow_mut().1 = Some(b),
        1 => array.borrow_mut()[1] = Some(b),
        2 => deque.borrow_mut().push_front(b),
        3 => list.borrow_mut().push_back(b),
        4 => *result.borrow_mut() = Ok(b),
        5 => *boxed.borrow_mut() = Some(Box::new(b)),
        6 => *slice.borrow_mut() = vec![None, Some(b)].into_boxed_slice(),
        7 => drop(map.borrow_mut().insert(3, b)),
        8 => drop(ordered.borrow_mut().insert(3, b)),
        9 => cell.set(Some(b)),
        10 => *reverse.borrow_mut() = Some(std::cmp::Reverse(b)),
        _ => unreachable!(),
    }
}

#[test]
fn cycles_through_every_std_container_in_the_exact_passes() {
    assert!(<ExactEverything as Trace>::EXACT.is_exact());
    for k in 0..11 {
        for kept_from_outside in [false, true] {
            reset_drops(2);
            let (a, b) = (exact_everything(0), exact_everything(1));
            exact_link(k, &a, &b);
            exact_link(k, &b, &a);
            let outside = kept_from_outside.then(|| b.clone());
            drop((a, b));
            // Every edge must be counted once: a missed one keeps the
            // cycle, one counted twice frees it under the outside handle.
            let expected = if kept_from_outside { 0 } else { 2 };
            assert_eq!(cyclegc::collect(), expected, "container kind {k}");
            let dropped = u32::from(!kept_from_outside);
            assert_eq!(
                (drops_of(0), drops_of(1)),
                (dropped, dropped),
                "container kind {k}"
            );
            drop(outside);
            if kept_from_outside {
                assert_eq!(cyclegc::collect(), 2, "container kind {k}, released");
            }
            assert_eq!((drops_of(0), drops_of(1)), (1, 1), "container kind {k}");
        }
    }
}

#[test]
fn mutably_borrowed_refcell_counts_as_an_outside_reference() {
    reset_drops(2);
    let a = Gc::new(ViaRefCell {
        probe: Probe(0),
        next: RefCell::new(None),
    });
    let b = Gc::new(ViaRefCell {
        probe: Probe(1),
        next: RefCell::new(Some(a.clone())),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let b_weak = Gc::downgrade(&b);
    drop(b);
    // Hold a mutable borrow of a's cell across a collection while the only
    // handle we keep is `a` itself: b (behind the borrowed cell) is kept.
    {
        let guard = a.next.borrow_mut();
        drop(a.clone());
        assert_eq!(cyclegc::collect(), 0);
        assert!(guard.is_some());
    }
    assert!(b_weak.upgrade().is_some());
    drop(a);
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[test]
fn rc_inside_is_opaque_but_skippable() {
    // `Rc` is deliberately not `Trace`; a field holding one is skipped.
    #[derive(Trace)]
    struct Shared {
        #[trace(skip)]
        name: Rc<str>,
        next: RefCell<Option<Gc<Shared>>>,
    }
    let a = Gc::new(Shared {
        name: "a".into(),
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    assert_eq!(&*a.name, "a");
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
}

#[test]
fn self_cycles_and_many_parallel_edges() {
    reset_drops(1);
    let a = Gc::new(ViaVec {
        probe: Probe(0),
        children: RefCell::default(),
    });
    for _ in 0..100 {
        a.children.borrow_mut().push(a.clone());
    }
    assert_eq!(Gc::strong_count(&a), 101);
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(drops_of(0), 1);
}

/// Holds its edges in `Cell`s, beside a field with a hand-written trace,
/// so that it is not exact: a collection runs its derived `trace`, which
/// names each cell as a place, and then traces the cells itself. Many
/// objects share each target: every handle must be counted once.
#[derive(Trace)]
struct ViaCells {
    probe: Probe,
    one: Slot,
    nested: Cell<Option<Box<Slot>>>,
    pair: Cell<(Edge, Edge)>,
    hand: Hand,
}

#[derive(Default, Trace)]
struct Edge(Option<Gc<ViaCells>>);

/// Holds nothing, traced by hand.
struct Hand;

impl Trace for Hand {
    fn trace<'a>(&'a self, _: &mut cyclegc::Tracer<'a>) {}
}

type Slot = Cell<Edge>;

fn edge(to: &Gc<ViaCells>) -> Edge {
    Edge(Some(to.clone()))
}

#[test]
fn handles_in_cells_shared_by_many_objects_are_collected() {
    const { assert!(!ViaCells::EXACT.is_exact()) };
    reset_drops(6);
    let before = cyclegc::stats()[2];
    let make = |i| {
        Gc::new(ViaCells {
            probe: Probe(i),
            one: Cell::default(),
            nested: Cell::new(None),
            pair: Cell::default(),
            hand: Hand,
        })
    };
    let n: Vec<_> = (0..6).map(make).collect();
    // Node 0 gets two handles (one per cell kind), node 1 three, node 2
    // four (two of them in one tuple); the others one or none.
    n[3].one.set(edge(&n[0]));
    n[4].nested.set(Some(Box::new(Cell::new(edge(&n[0])))));
    n[0].one.set(edge(&n[1]));
    n[2].one.set(edge(&n[1]));
    n[5].nested.set(Some(Box::new(Cell::new(edge(&n[1])))));
    n[1].pair.set((edge(&n[2]), edge(&n[2])));
    n[3].pair.set((edge(&n[2]), edge(&n[2])));
    n[1].one.set(edge(&n[3]));
    n[2].nested.set(Some(Box::new(Cell::new(edge(&n[4])))));
    n[2].pair.set((edge(&n[5]), Edge(None)));
    drop(n);
    assert_eq!(cyclegc::collect(), 6);
    let after = cyclegc::stats()[2];
    assert_eq!(after.trace_errors, before.trace_errors);
    assert_eq!(after.inexact, before.inexact + 1, "the inexact path ran");
    for i in 0..6 {
        assert_eq!(drops_of(i), 1, "node {i}");
    }
}
