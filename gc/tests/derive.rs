//! `#[derive(Trace)]`: structs, enums, generics, `skip`, `finalize`,
//! `tracked`, and the computed `MAY_CONTAIN_GC` and `EXACT`. The file
//! forbids unsafe code: the derive's `unsafe impl ExactTrace` must not
//! need the user's crate to allow it.

#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

use cyclegc::{DynTrace, Finalize, Gc, Trace, Tracer, Weak};

fn edges<T: Trace + 'static>(value: T) -> usize {
    cyclegc::referents(&Gc::new(value)).len()
}

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Leaf {
    a: u32,
    b: String,
    c: Vec<(u8, bool)>,
}

#[derive(Trace)]
#[allow(dead_code)] // the skipped field is never read: that is the point
struct Tuple(Gc<u8>, #[trace(skip)] Gc<u8>, Option<Gc<u8>>);

#[derive(Trace)]
struct Generic<T, U: Clone>
where
    U: Default,
{
    t: T,
    u: U,
    extra: Vec<T>,
}

#[derive(Trace)]
struct PhantomOnly<T: 'static> {
    _marker: PhantomData<T>,
    n: u8,
}

#[derive(Trace)]
#[allow(dead_code)] // the skipped field is never read: that is the point
enum Shape {
    Empty,
    One(Gc<u8>),
    Two {
        first: Gc<u8>,
        second: Option<Gc<u8>>,
    },
    Skipped(#[trace(skip)] Gc<u8>, u8),
}

#[derive(Trace)]
struct List {
    value: Option<Gc<u8>>,
    next: Option<Box<List>>,
}

#[derive(Trace)]
struct Plain {
    next: Option<Box<Plain>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct ForcedTracked(u8);

#[derive(Trace)]
struct Borrowing<'a, const N: usize> {
    name: &'a str,
    items: [Option<Gc<u8>>; N],
}

#[derive(Trace)]
struct Parent {
    child: Option<Gc<Child>>,
}

#[derive(Trace)]
struct Child {
    parent: Weak<Parent>,
    cells: Cell<u32>,
}

#[test]
fn may_contain_gc_is_computed_from_the_fields() {
    const { assert!(!Unit::MAY_CONTAIN_GC) };
    const { assert!(!Leaf::MAY_CONTAIN_GC) };
    const { assert!(Tuple::MAY_CONTAIN_GC) };
    const { assert!(!<Generic<u8, String>>::MAY_CONTAIN_GC) };
    const { assert!(<Generic<Gc<u8>, String>>::MAY_CONTAIN_GC) };
    const { assert!(<Generic<u8, Option<Gc<u8>>>>::MAY_CONTAIN_GC) };
    const { assert!(!<PhantomOnly<Gc<u8>>>::MAY_CONTAIN_GC) };
    const { assert!(Shape::MAY_CONTAIN_GC) };
    const { assert!(List::MAY_CONTAIN_GC) };
    // Recursion through Box counts as "may" (asking would be a cycle).
    const { assert!(Plain::MAY_CONTAIN_GC) };
    const { assert!(ForcedTracked::MAY_CONTAIN_GC) };
    const { assert!(Parent::MAY_CONTAIN_GC) };
    // Only a Weak and a Cell of plain data: untracked.
    const { assert!(!Child::MAY_CONTAIN_GC) };
    const { assert!(!Unit::FINALIZE) };
}

/// A correct hand-written impl: not exact, since nothing vouches for it.
struct Manual(Option<Gc<u8>>);

impl Trace for Manual {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
}

#[derive(Trace)]
struct HoldsManual {
    exact: RefCell<Vec<Gc<u8>>>,
    manual: Manual,
}

#[derive(Trace)]
#[allow(dead_code)] // the skipped field is never read: that is the point
struct SkipsManual {
    exact: Cell<Option<Gc<u8>>>,
    #[trace(skip)]
    manual: Manual,
}

#[derive(Trace)]
struct HoldsDyn {
    any: Vec<Box<dyn DynTrace>>,
}

#[test]
fn exact_is_computed_from_the_traced_fields() {
    const { assert!(Unit::EXACT.is_exact()) };
    const { assert!(Leaf::EXACT.is_exact()) };
    const { assert!(Tuple::EXACT.is_exact()) };
    const { assert!(<Generic<Gc<u8>, String>>::EXACT.is_exact()) };
    const { assert!(!<Generic<Manual, String>>::EXACT.is_exact()) };
    const { assert!(Shape::EXACT.is_exact()) };
    const { assert!(Parent::EXACT.is_exact()) };
    const { assert!(<Borrowing<'static, 2>>::EXACT.is_exact()) };
    const { assert!(!Manual::EXACT.is_exact()) };
    const { assert!(!HoldsManual::EXACT.is_exact()) };
    // A skipped field's impl never runs.
    const { assert!(SkipsManual::EXACT.is_exact()) };
    const { assert!(!HoldsDyn::EXACT.is_exact()) };
    // Recursion outside a `Gc` would make asking a cycle: not exact (the
    // collector then checks; nothing is lost but time).
    const { assert!(!List::EXACT.is_exact()) };
    const { assert!(!ForcedTracked::EXACT.is_exact()) };
}

#[test]
fn traces_every_field_but_skipped_ones() {
    let g = || Gc::new(1u8);
    assert_eq!(edges(Unit), 0);
    assert_eq!(edges(Tuple(g(), g(), Some(g()))), 2);
    assert_eq!(edges(Tuple(g(), g(), None)), 1);
    let generic = Generic {
        t: g(),
        u: Some(g()),
        extra: vec![g(), g()],
    };
    assert_eq!(edges(generic), 4);
    assert_eq!(edges(Shape::Empty), 0);
    assert_eq!(edges(Shape::One(g())), 1);
    assert_eq!(
        edges(Shape::Two {
            first: g(),
            second: Some(g())
        }),
        2
    );
    assert_eq!(edges(Shape::Skipped(g(), 1)), 0);
    let borrowing = Borrowing {
        name: "static",
        items: [Some(g()), None, Some(g())],
    };
    assert_eq!(borrowing.name.len(), 6);
    assert_eq!(edges(borrowing), 2);
    const { assert!(<Borrowing<'static, 1>>::MAY_CONTAIN_GC) };
    let list = List {
        value: Some(g()),
        next: Some(Box::new(List {
            value: Some(g()),
            next: None,
        })),
    };
    assert_eq!(edges(list), 2);
}

#[test]
fn derived_cycles_are_collected() {
    #[derive(Trace)]
    struct Pair<T: 'static> {
        value: T,
        other: RefCell<Option<Gc<Pair<T>>>>,
    }
    let a = Gc::new(Pair {
        value: String::from("a"),
        other: RefCell::new(None),
    });
    let b = Gc::new(Pair {
        value: String::from("b"),
        other: RefCell::new(Some(a.clone())),
    });
    *a.other.borrow_mut() = Some(b.clone());
    assert_eq!(a.value, "a");
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
}

thread_local!(static FINALIZED: Cell<u32> = const { Cell::new(0) });

#[derive(Trace)]
#[trace(finalize)]
struct WithFinalizer {
    me: RefCell<Option<Gc<WithFinalizer>>>,
}

impl Finalize for WithFinalizer {
    fn finalize(&self) {
        FINALIZED.with(|f| f.set(f.get() + 1));
    }
}

#[test]
fn finalize_attribute_forwards_to_finalize() {
    const { assert!(WithFinalizer::FINALIZE) };
    let a = Gc::new(WithFinalizer {
        me: RefCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(FINALIZED.with(Cell::get), 1);
}
