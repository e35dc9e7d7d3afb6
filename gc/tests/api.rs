//! The pointer API: counts, comparisons, forwarding traits, unsizing,
//! untracked types, referents.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Display;
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak};

#[derive(Trace)]
struct Node {
    label: String,
    next: RefCell<Option<Gc<Node>>>,
}

#[test]
fn clone_counts_and_ptr_eq() {
    let a = Gc::new(5u32);
    let b = a.clone();
    let c = Gc::new(5u32);
    assert_eq!(Gc::strong_count(&a), 2);
    assert!(Gc::ptr_eq(&a, &b));
    assert!(!Gc::ptr_eq(&a, &c));
    assert_eq!(a, c, "PartialEq compares values");
    assert_eq!(Gc::as_ptr(&a), Gc::as_ptr(&b));
    drop(b);
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(Gc::weak_count(&a), 0);
    assert_eq!(Gc::try_deref(&a), Some(&5));
}

#[test]
fn forwarding_traits() {
    let words: Vec<Gc<String>> = ["pear", "apple", "fig"]
        .iter()
        .map(|w| Gc::new(w.to_string()))
        .collect();
    assert_eq!(format!("{}", words[0]), "pear");
    assert_eq!(format!("{:?}", words[1]), "\"apple\"");
    let sorted: BTreeSet<Gc<String>> = words.iter().cloned().collect();
    let order: Vec<&str> = sorted.iter().map(|g| g.as_str()).collect();
    assert_eq!(order, ["apple", "fig", "pear"]);
    assert!(words[1] < words[0]);
    assert_eq!(
        words[2].cmp(&Gc::new("fig".to_string())),
        std::cmp::Ordering::Equal
    );
    let set: HashSet<Gc<String>> = words.iter().cloned().collect();
    assert!(set.contains(&Gc::new("fig".to_string())));
    let mut map: HashMap<Gc<String>, u32> = HashMap::new();
    map.insert(words[0].clone(), 1);
    let key = String::from("pear");
    assert_eq!(map.get(&key), Some(&1), "Borrow<T> lookups");
    let r: &String = words[0].as_ref();
    assert_eq!(r, "pear");
    assert!(format!("{:p}", words[0]).starts_with("0x"));
    let d: Gc<Vec<u8>> = Gc::default();
    assert!(d.is_empty());
    let f: Gc<u8> = 3.into();
    assert_eq!(*f, 3);
}

#[test]
fn untracked_types_cost_what_an_rc_costs() {
    let n = Gc::new(1u64);
    let s = Gc::new(String::from("x"));
    let v = Gc::new(vec![1u8, 2]);
    #[derive(Trace)]
    struct OnlyWeak(Weak<Node>, u32);
    let w = Gc::new(OnlyWeak(Weak::new(), 1));
    for tracked in [
        cyclegc::is_tracked(&n),
        cyclegc::is_tracked(&s),
        cyclegc::is_tracked(&v),
        cyclegc::is_tracked(&w),
    ] {
        assert!(!tracked);
    }
    assert_eq!(cyclegc::count().0, 0, "no collector bookkeeping");
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
    // RcBox<T> is two counts and the value; so is an untracked box.
    assert_eq!(Gc::allocation_size(&n), 16 + 8);
    assert_eq!(Gc::allocation_size(&s), 16 + std::mem::size_of::<String>());
    assert_eq!(
        std::mem::size_of::<Gc<u64>>(),
        std::mem::size_of::<Rc<u64>>()
    );
    assert_eq!(std::mem::size_of::<Option<Gc<u64>>>(), 8);
    // A tracked box adds the collector's 16 bytes: the list links and the
    // vtable take 24, and the counts are 8.
    let t = Gc::new(Node {
        label: String::new(),
        next: RefCell::new(None),
    });
    assert!(cyclegc::is_tracked(&t));
    assert_eq!(Gc::allocation_size(&t), 32 + std::mem::size_of::<Node>());
    assert_eq!(cyclegc::count().0, 1);
}

trait Shape {
    fn area(&self) -> f64;
    fn link(&self, other: Gc<dyn Shape>);
}

#[derive(Trace)]
struct Square {
    side: f64,
    other: RefCell<Option<Gc<dyn Shape>>>,
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
    fn link(&self, other: Gc<dyn Shape>) {
        *self.other.borrow_mut() = Some(other);
    }
}

#[test]
fn unsized_handles_keep_the_concrete_trace_and_drop() {
    let a: Gc<dyn Shape> =
        cyclegc::unsize!(Gc::new(Square { side: 2.0, other: RefCell::new(None) }) => dyn Shape);
    let b: Gc<dyn Shape> =
        cyclegc::unsize!(Gc::new(Square { side: 3.0, other: RefCell::new(None) }) => dyn Shape);
    assert_eq!(a.area() + b.area(), 13.0);
    a.link(b.clone());
    b.link(a.clone());
    assert!(cyclegc::is_tracked(&a));
    let w = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
    assert!(w.upgrade().is_none());

    let d: Gc<dyn Display> = cyclegc::unsize!(Gc::new(String::from("hi")) => dyn Display);
    assert_eq!(d.to_string(), "hi");
    assert!(!cyclegc::is_tracked(&d));
    assert_eq!(Gc::allocation_size(&d), 16 + std::mem::size_of::<String>());
    let slice: Gc<[u16]> = cyclegc::unsize!(Gc::new([1u16, 2, 3]) => [u16]);
    assert_eq!(&*slice, &[1, 2, 3]);
    let weak_slice = Gc::downgrade(&slice);
    drop(slice);
    assert!(weak_slice.upgrade().is_none());
}

#[test]
fn referents_lists_the_traced_edges() {
    let leaf = Gc::new(Node {
        label: "leaf".into(),
        next: RefCell::new(None),
    });
    let root = Gc::new(Node {
        label: "root".into(),
        next: RefCell::new(Some(leaf.clone())),
    });
    let refs = cyclegc::referents(&root);
    assert_eq!(refs.len(), 1);
    assert!(refs[0].ptr_eq(&leaf));
    assert!(refs[0].is_tracked());
    assert!(refs[0].type_name().ends_with("Node"));
    let back = refs[0].downcast::<Node>().expect("a Node");
    assert_eq!(back.label, "leaf");
    assert!(refs[0].downcast::<u8>().is_none());
    assert!(cyclegc::referents(&leaf).is_empty());
    assert!(cyclegc::referents(&Gc::new(1u8)).is_empty(), "untracked");
    assert_eq!(
        Gc::strong_count(&leaf),
        4,
        "leaf, root's edge, refs[0], back"
    );
}

#[test]
fn strong_count_includes_only_handles() {
    let a = Gc::new(Node {
        label: String::new(),
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    assert_eq!(Gc::strong_count(&a), 2);
    cyclegc::collect();
    assert_eq!(Gc::strong_count(&a), 2, "no pin left behind");
    a.next.borrow_mut().take();
}

#[test]
fn gc_is_neither_send_nor_sync() {
    // A compile-time property, checked through auto-trait probing.
    trait NotSend {
        const SEND: bool = false;
    }
    impl<T: ?Sized> NotSend for T {}
    struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
    #[allow(dead_code)]
    impl<T: ?Sized + Send> Probe<T> {
        const SEND: bool = true;
    }
    const { assert!(Probe::<u8>::SEND, "the probe detects Send") };
    const { assert!(!Probe::<Gc<u8>>::SEND) };
    const { assert!(!Probe::<&Gc<u8>>::SEND, "so Gc is not Sync either") };
    const { assert!(!Probe::<Weak<u8>>::SEND) };
}

/// The same node with a hand-written (correct) impl, which nothing vouches
/// for: not exact.
struct HandNode {
    next: RefCell<Option<Gc<HandNode>>>,
}

impl Trace for HandNode {
    fn trace<'a>(&'a self, tracer: &mut cyclegc::Tracer<'a>) {
        self.next.trace(tracer);
    }
}

/// The same node, hand-written and vouched for with `unsafe impl
/// ExactTrace`: exact, and traced by the collector through `trace_exact`.
struct VouchedNode {
    next: RefCell<Option<Gc<VouchedNode>>>,
}

thread_local! {
    /// Calls of `VouchedNode::trace`, which the collector never makes.
    static VOUCHED_TRACES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Trace for VouchedNode {
    const EXACT: cyclegc::Exact<Self> =
        cyclegc::Exact::certified().and(<RefCell<Option<Gc<VouchedNode>>> as Trace>::EXACT);
    fn trace<'a>(&'a self, tracer: &mut cyclegc::Tracer<'a>) {
        VOUCHED_TRACES.with(|n| n.set(n.get() + 1));
        self.next.trace(tracer);
    }
}

// SAFETY: `trace_exact` reports the one field, once, in place, through the
// tracer, and runs nothing else; `trace` reports the same.
unsafe impl cyclegc::ExactTrace for VouchedNode {
    fn trace_exact<P: cyclegc::Pass>(&self, tracer: &mut cyclegc::Tracer<'_>) {
        tracer.field::<P, _>(&self.next);
    }
}

#[test]
fn a_vouched_hand_written_impl_is_collected_without_the_check() {
    const { assert!(VouchedNode::EXACT.is_exact()) };
    cyclegc::collect();
    let inexact = || cyclegc::stats()[2].inexact;
    let before = inexact();
    let a = Gc::new(VouchedNode {
        next: RefCell::new(None),
    });
    let b = Gc::new(VouchedNode {
        next: RefCell::new(Some(a.clone())),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let weak = Gc::downgrade(&a);
    drop(b);
    let traces = || VOUCHED_TRACES.with(std::cell::Cell::get);
    // Held from outside: kept.
    assert_eq!(cyclegc::collect(), 0);
    assert!(weak.upgrade().is_some());
    // `referents` runs `trace` (it never trusts); the collector did not.
    assert_eq!(traces(), 0, "the collector ran Trace::trace");
    assert_eq!(cyclegc::referents(&a).len(), 1);
    assert_eq!(traces(), 1);
    drop(a);
    // Collected through `trace_exact` alone (with no edges from it, the
    // cycle would be kept).
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!(traces(), 1, "the collector ran Trace::trace");
    assert!(weak.upgrade().is_none());
    assert_eq!(inexact(), before, "exact: one pass");
}

#[test]
fn only_collections_with_inexact_objects_run_traces_first() {
    const { assert!(Node::EXACT.is_exact()) };
    const { assert!(!HandNode::EXACT.is_exact()) };
    cyclegc::collect();
    let inexact = || cyclegc::stats()[2].inexact;
    let before = inexact();

    let a = Gc::new(Node {
        label: "a".into(),
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(inexact(), before, "derived types: one pass");

    let h = Gc::new(HandNode {
        next: RefCell::new(None),
    });
    *h.next.borrow_mut() = Some(h.clone());
    drop(h);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(inexact(), before + 1, "a hand-written impl: traced first");

    // One inexact object among the candidates is enough, even if the
    // garbage itself is all exact.
    let keep = Gc::new(HandNode {
        next: RefCell::new(None),
    });
    let b = Gc::new(Node {
        label: "b".into(),
        next: RefCell::new(None),
    });
    *b.next.borrow_mut() = Some(b.clone());
    drop(b);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(inexact(), before + 2);
    drop(keep);
}
