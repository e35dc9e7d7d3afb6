//! Adversarial hand-written `Trace` impls the collector withstands: traces
//! that name `'static` places or another object's parts, initialise cells,
//! drop or move handles, re-enter the collector or panic, and finalizers
//! and drops that want the cells a trace borrowed. Each test checks that no
//! object with a live handle had its value dropped.
//!
//! Run these under AddressSanitizer too. Each test frees what it leaked,
//! breaks the cycles it made and drops its handles, so that LeakSanitizer
//! stays quiet.

use std::cell::{Cell, LazyCell, OnceCell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{DynTrace, Finalize, Gc, Trace, Tracer, Weak};

/// Whether `gc`'s value has not been dropped.
fn not_dropped<T: ?Sized>(gc: &Gc<T>) -> bool {
    Gc::try_deref(gc).is_some()
}

/// Asserts that this thread's collector tracks no object: the test left
/// nothing behind.
fn assert_nothing_left() {
    assert_eq!(cyclegc::object_counts(), (0, 0, 0), "objects left behind");
}

/// Names its `next`, then, through the `'static` reference in `leaked`, the
/// leaked object's `next` (twice): its own `next` again when it is the
/// leaked object, another object's `next` when it is not.
struct NamesStaticPlaces {
    next: RefCell<Option<Gc<NamesStaticPlaces>>>,
    leaked: OnceCell<&'static NamesStaticPlaces>,
}

impl Trace for NamesStaticPlaces {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.place(&self.next);
        if let Some(leaked) = self.leaked.get() {
            tracer.place(&leaked.next);
            tracer.place(&leaked.leaked.get().expect("set by the test").next);
        }
    }
}

/// A two-object cycle whose traces name `'static` places through a leaked
/// handle to `a`: `a` names its own `next` a second time (one trace
/// error), `b` names `a`'s `next`, which is not in its value (ignored, no
/// error). Both objects are kept.
#[test]
fn static_places() {
    let a = Gc::new(NamesStaticPlaces {
        next: RefCell::new(None),
        leaked: OnceCell::new(),
    });
    let b = Gc::new(NamesStaticPlaces {
        next: RefCell::new(None),
        leaked: OnceCell::new(),
    });
    let leaked_a: &'static Gc<NamesStaticPlaces> = Box::leak(Box::new(a.clone()));
    assert!(a.leaked.set(&**leaked_a).is_ok(), "its own value");
    assert!(b.leaked.set(&**leaked_a).is_ok(), "a's value, from b");
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let (weak_a, weak_b) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    let errors = cyclegc::stats()[2].trace_errors;
    cyclegc::collect();
    assert_eq!(
        cyclegc::stats()[2].trace_errors,
        errors + 1,
        "only a's duplicate place is an error"
    );
    assert!(weak_a.upgrade().is_some_and(|g| not_dropped(&g)));
    assert!(weak_b.upgrade().is_some_and(|g| not_dropped(&g)));

    leaked_a.next.borrow_mut().take();
    assert!(
        weak_b.upgrade().is_none(),
        "b's last handle was in a's value"
    );
    // SAFETY: `leaked_a` came from `Box::leak` above. The references
    // derived from it lie in a's value, which is dropped with this handle
    // (its last), and in b's, dropped already; neither is used again.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(leaked_a).cast_mut()) });
    assert!(weak_a.upgrade().is_none());
    assert_nothing_left();
}

thread_local! {
    /// Handles that the first [`InitialisedWhileTraced`] to be traced moves
    /// into its own `OnceCell`.
    static TO_ADOPT: RefCell<Adopted> = const { RefCell::new(Vec::new()) };
}

/// The handles an [`InitialisedWhileTraced`] adopts.
type Adopted = Vec<Gc<InitialisedWhileTraced>>;

/// Initialises its `OnceCell` and `LazyCell` while being traced (taking
/// the handles in `TO_ADOPT`), then names their contents.
struct InitialisedWhileTraced {
    once: OnceCell<Adopted>,
    lazy: LazyCell<Adopted, fn() -> Adopted>,
}

impl Trace for InitialisedWhileTraced {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.once.get_or_init(adopt).trace(tracer);
        LazyCell::force(&self.lazy).trace(tracer);
    }
}

/// Takes the handles in `TO_ADOPT`.
fn adopt() -> Adopted {
    TO_ADOPT.with(|to_adopt| std::mem::take(&mut *to_adopt.borrow_mut()))
}

/// `OnceCell` and `LazyCell` places initialised during the trace, with
/// handles to both objects (one of them held here): nothing is dropped,
/// and the cycle the traces made is collected later.
#[test]
fn once_lazy_places() {
    let new_object = || {
        Gc::new(InitialisedWhileTraced {
            once: OnceCell::new(),
            lazy: LazyCell::new(adopt as fn() -> _),
        })
    };
    let (a, b) = (new_object(), new_object());
    TO_ADOPT.with(|to_adopt| to_adopt.borrow_mut().extend([a.clone(), b.clone()]));
    let (weak_a, weak_b) = (Gc::downgrade(&a), Gc::downgrade(&b));
    let keep = a.clone();
    drop((a, b));
    cyclegc::collect();
    assert!(
        TO_ADOPT.with(|to_adopt| to_adopt.borrow().is_empty()),
        "adopted"
    );
    assert!(not_dropped(&keep));
    assert!(weak_b.upgrade().is_some_and(|g| not_dropped(&g)));
    drop(keep);
    assert_eq!(cyclegc::collect(), 2, "the cycle the traces made");
    assert!(weak_a.upgrade().is_none() && weak_b.upgrade().is_none());
    assert_nothing_left();
}

thread_local! {
    /// The outside handles of every [`HandleShuffler`], which the first
    /// of their traces to run drops.
    static OUTSIDE_HANDLES: RefCell<Vec<Gc<HandleShuffler>>> =
        const { RefCell::new(Vec::new()) };
}

/// While being traced, drops the outside handles of every shuffler (its
/// own included) and moves handles between its `Cell`s and another's.
struct HandleShuffler {
    next: Cell<Option<Gc<HandleShuffler>>>,
    spare: Cell<Option<Gc<HandleShuffler>>>,
}

impl Trace for HandleShuffler {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        let outside = OUTSIDE_HANDLES
            .try_with(|handles| std::mem::take(&mut *handles.borrow_mut()))
            .unwrap_or_default();
        if let Some(first) = outside.first() {
            self.spare.set(Some(first.clone()));
            first.next.swap(&self.spare);
        }
        drop(outside);
        tracer.place(&self.next);
        tracer.place(&self.spare);
    }
}

/// A ring of six shufflers, one held here: a trace drops the last handles
/// of other candidates (traced or not) and its own object's outside
/// handle, and moves handles around. Whatever is left is intact.
#[test]
fn trace_drops_and_moves_handles() {
    let weaks: Vec<Weak<HandleShuffler>> = (0..6)
        .map(|_| {
            let shuffler = Gc::new(HandleShuffler {
                next: Cell::new(None),
                spare: Cell::new(None),
            });
            OUTSIDE_HANDLES.with(|handles| handles.borrow_mut().push(shuffler.clone()));
            Gc::downgrade(&shuffler)
        })
        .collect();
    for (i, weak) in weaks.iter().enumerate() {
        let shuffler = weak.upgrade().expect("held in OUTSIDE_HANDLES");
        shuffler.next.set(weaks[(i + 1) % 6].upgrade());
    }
    let keep = weaks[3].upgrade().expect("held in OUTSIDE_HANDLES");
    cyclegc::collect();
    cyclegc::collect();
    assert!(
        OUTSIDE_HANDLES.with(|handles| handles.borrow().is_empty()),
        "a trace dropped them"
    );
    // Everything still reachable from `keep` is intact (a dropped value
    // would not upgrade from a `Weak`, so walk the handles instead).
    let mut seen = vec![keep.clone()];
    let mut at = 0;
    while let Some(shuffler) = seen.get(at).cloned() {
        assert!(not_dropped(&shuffler));
        for cell in [&shuffler.next, &shuffler.spare] {
            let held = cell.take();
            if let Some(g) = &held
                && !seen.iter().any(|s| Gc::ptr_eq(s, g))
            {
                seen.push(g.clone());
            }
            cell.set(held);
        }
        at += 1;
    }
    drop(seen);

    let left: Vec<_> = weaks.iter().filter_map(Weak::upgrade).collect();
    for shuffler in &left {
        drop(shuffler.next.take());
        drop(shuffler.spare.take());
    }
    drop((left, keep));
    assert!(weaks.iter().all(|weak| weak.upgrade().is_none()));
    assert_nothing_left();
}

thread_local! {
    /// Edges that `referents` found, called from [`ReentersCollector`]'s
    /// trace.
    static REFERENTS_FOUND: Cell<usize> = const { Cell::new(0) };
}

/// Its trace runs `collect()` and `referents()` on itself (two levels
/// deep), then names its contents.
struct ReentersCollector {
    children: RefCell<Vec<Box<dyn DynTrace>>>,
    me: RefCell<Option<Weak<ReentersCollector>>>,
}

impl Trace for ReentersCollector {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        thread_local!(static DEPTH: Cell<u32> = const { Cell::new(0) });
        if DEPTH.with(|depth| depth.replace(depth.get() + 1)) < 2 {
            // A real collection under the top-level `referents`; 0 when
            // nested in a collection.
            cyclegc::collect();
            if let Some(me) = self.me.borrow().as_ref().and_then(Weak::upgrade) {
                let found = cyclegc::referents(&me).len();
                REFERENTS_FOUND.with(|count| count.set(count.get() + found));
            }
        }
        DEPTH.with(|depth| depth.set(depth.get() - 1));
        self.children.trace(tracer);
    }
}

/// A self-cycle whose trace collects and takes referents, run from
/// `referents` at the top level and from a collection: nothing is dropped
/// under it, and it is collected once unreferenced.
#[test]
fn trace_runs_collect_and_referents() {
    let a = Gc::new(ReentersCollector {
        children: RefCell::new(vec![]),
        me: RefCell::new(None),
    });
    *a.me.borrow_mut() = Some(Gc::downgrade(&a));
    a.children.borrow_mut().push(Box::new(a.clone()));
    let weak = Gc::downgrade(&a);
    assert_eq!(cyclegc::referents(&a).len(), 1);
    assert!(
        REFERENTS_FOUND.with(Cell::get) > 0,
        "the nested referents ran"
    );
    assert!(not_dropped(&a));
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert!(weak.upgrade().is_none());
    assert_nothing_left();
}

/// How [`PanickingTrace`] panics.
#[derive(Clone, Copy)]
enum PanicMode {
    /// Returns normally.
    Never,
    /// Traces its contents again and panics inside a `catch_unwind`.
    CaughtInside,
    /// Panics out of the trace.
    Uncaught,
}

thread_local! {
    static PANIC_MODE: Cell<PanicMode> = const { Cell::new(PanicMode::Never) };
}

/// Names its contents (taking the cell's borrow), then panics as
/// `PANIC_MODE` says.
struct PanickingTrace {
    children: RefCell<Vec<Box<dyn DynTrace>>>,
}

impl Trace for PanickingTrace {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.children.trace(tracer);
        match PANIC_MODE.with(Cell::get) {
            PanicMode::Never => {}
            PanicMode::CaughtInside => {
                let caught = catch_unwind(AssertUnwindSafe(|| {
                    self.children.trace(tracer);
                    panic!("inside the trace");
                }));
                assert!(caught.is_err());
            }
            PanicMode::Uncaught => panic!("out of the trace"),
        }
    }
}

/// A self-cycle, held here, whose trace panics after its cell's borrow was
/// taken: caught inside the trace, then out of it (abandoning the
/// collection). Nothing is dropped, the borrow is released, and the
/// collector still collects it afterwards.
#[test]
fn panics_in_traces() {
    let a = Gc::new(PanickingTrace {
        children: RefCell::new(vec![]),
    });
    a.children.borrow_mut().push(Box::new(a.clone()));
    let weak = Gc::downgrade(&a);
    PANIC_MODE.with(|mode| mode.set(PanicMode::CaughtInside));
    cyclegc::collect();
    assert!(not_dropped(&a));
    PANIC_MODE.with(|mode| mode.set(PanicMode::Uncaught));
    assert!(catch_unwind(cyclegc::collect).is_err());
    assert!(not_dropped(&a));
    assert!(
        a.children.try_borrow_mut().is_ok(),
        "borrow released after the panic"
    );
    PANIC_MODE.with(|mode| mode.set(PanicMode::Never));
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert!(weak.upgrade().is_none());
    assert_nothing_left();
}

thread_local! {
    /// The object whose cell [`BorrowsInDrop`]'s `Drop` tries to borrow.
    static GUARDED: RefCell<Option<Gc<DropsVictim>>> = const { RefCell::new(None) };
    /// The victim's only handle, which [`DropsVictim`]'s trace drops.
    static VICTIM: RefCell<Option<Gc<BorrowsInDrop>>> = const { RefCell::new(None) };
    /// Whether the victim's `Drop` found `GUARDED`'s cell borrowed.
    static FOUND_BORROWED: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Names its cell (the collector holds its borrow until the counting is
/// done), then drops the victim's only handle.
struct DropsVictim {
    cell: RefCell<Vec<Box<dyn DynTrace>>>,
}

impl Trace for DropsVictim {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.cell.trace(tracer);
        VICTIM.with(|victim| victim.borrow_mut().take());
    }
}

/// Its `Drop` wants `GUARDED`'s cell mutably, and records whether it was
/// borrowed.
#[derive(Trace)]
struct BorrowsInDrop {
    _tracked: Option<Gc<u8>>,
}

impl Drop for BorrowsInDrop {
    fn drop(&mut self) {
        GUARDED.with(|guarded| {
            if let Some(guarded) = guarded.borrow().as_ref() {
                let borrowed = guarded.cell.try_borrow_mut().is_err();
                FOUND_BORROWED.with(|found| found.set(Some(borrowed)));
            }
        });
    }
}

/// A [`DropsVictim`] with something in its cell, in `GUARDED`.
fn guarded() -> Gc<DropsVictim> {
    let guarded = Gc::new(DropsVictim {
        cell: RefCell::new(vec![Box::new(Gc::new(1u8))]),
    });
    GUARDED.with(|g| *g.borrow_mut() = Some(guarded.clone()));
    guarded
}

/// After a collection: the cell is no longer borrowed, and the guarded
/// object goes with nothing left behind.
fn release_guarded(guarded: Gc<DropsVictim>) {
    assert!(guarded.cell.try_borrow_mut().is_ok());
    GUARDED.with(|g| g.borrow_mut().take());
    assert_eq!(Gc::strong_count(&guarded), 1);
    drop(guarded);
    assert_nothing_left();
}

/// Puts a new [`BorrowsInDrop`] in `VICTIM`, and forgets what an earlier
/// one found.
fn set_victim() {
    FOUND_BORROWED.with(|found| found.set(None));
    let victim = Gc::new(BorrowsInDrop { _tracked: None });
    assert!(cyclegc::is_tracked(&victim));
    VICTIM.with(|v| *v.borrow_mut() = Some(victim));
}

/// A trace drops the last handle of a victim that is not a candidate (it
/// is in an older generation), whose `Drop` runs right there, during
/// discovery, and wants the cell the collector borrowed for the trace: it
/// finds it borrowed, and it is released once the collection is done.
#[test]
fn drop_during_discovery_sees_guard() {
    set_victim();
    cyclegc::collect();
    let guarded = guarded();
    cyclegc::collect_generation(0);
    assert!(VICTIM.with(|v| v.borrow().is_none()), "the trace ran");
    assert_eq!(FOUND_BORROWED.with(Cell::get), Some(true));
    release_guarded(guarded);
}

/// The victim is a candidate of the collection instead: pinned, it
/// outlives its last handle, and its `Drop` runs with the garbage, after
/// the collector released the cell's borrow.
#[test]
fn candidate_dropped_by_a_trace_is_dropped_after_the_guards_are_released() {
    set_victim();
    let guarded = guarded();
    assert_eq!(cyclegc::collect(), 1, "the victim");
    assert!(VICTIM.with(|v| v.borrow().is_none()), "the trace ran");
    assert_eq!(FOUND_BORROWED.with(Cell::get), Some(false));
    release_guarded(guarded);
}

/// Names overlapping places (a pair, then its first element) and a
/// zero-sized place, twice, at the address of a real one.
struct NamesOverlappingPlaces {
    pair: (Gc<PointsBack>, Gc<PointsBack>),
    empty: [Gc<PointsBack>; 0],
}

impl Trace for NamesOverlappingPlaces {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.place(&self.pair);
        tracer.place(&self.pair.0);
        tracer.place(&self.empty);
        tracer.place(&self.empty);
    }
}

/// Closes the cycle with a [`NamesOverlappingPlaces`].
#[derive(Trace)]
struct PointsBack {
    back: RefCell<Option<Gc<NamesOverlappingPlaces>>>,
}

/// A cycle through an object naming overlapping and zero-sized places:
/// one trace error, its edges are ignored and the cycle is kept, while the
/// collection goes on (unrelated garbage beside it is collected).
#[test]
fn overlapping_places() {
    let x = Gc::new(PointsBack {
        back: RefCell::new(None),
    });
    let o = Gc::new(NamesOverlappingPlaces {
        pair: (x.clone(), x.clone()),
        empty: [],
    });
    *x.back.borrow_mut() = Some(o.clone());
    let errors = cyclegc::stats()[2].trace_errors;
    let (weak_o, weak_x) = (Gc::downgrade(&o), Gc::downgrade(&x));
    drop((o, x));
    let g = Gc::new(SelfCycle {
        me: RefCell::new(None),
    });
    *g.me.borrow_mut() = Some(g.clone());
    drop(g);
    assert_eq!(
        cyclegc::collect(),
        1,
        "unrelated garbage is still collected"
    );
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    let o = weak_o.upgrade().expect("kept: its edges were ignored");
    assert!(not_dropped(&o));
    assert!(weak_x.upgrade().is_some_and(|g| not_dropped(&g)));

    o.pair.0.back.borrow_mut().take();
    drop(o);
    assert!(weak_o.upgrade().is_none() && weak_x.upgrade().is_none());
    assert_nothing_left();
}

/// An element of [`Outer`]'s `Box<dyn DynTrace>` vector that reaches back
/// into the outer value (through a leaked handle) and names places there.
struct ReachesOuter {
    outer: &'static Outer,
}

impl Trace for ReachesOuter {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.place(&self.outer.a);
        tracer.place(&self.outer.b);
    }
}

/// Names `a`, then its elements, one of which names `a` again and `b`.
struct Outer {
    a: RefCell<Option<Gc<Outer>>>,
    b: RefCell<Option<Gc<Outer>>>,
    elements: OnceCell<Vec<Box<dyn DynTrace>>>,
}

impl Trace for Outer {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.place(&self.a);
        if let Some(elements) = self.elements.get() {
            elements.trace(tracer);
        }
    }
}

/// A `Box<dyn DynTrace>` element whose concrete type names places of the
/// outer value (`'static`, via a leaked handle): the object is kept.
#[test]
fn dyn_element_reaching_outward() {
    let o = Gc::new(Outer {
        a: RefCell::new(None),
        b: RefCell::new(None),
        elements: OnceCell::new(),
    });
    let leaked: &'static Gc<Outer> = Box::leak(Box::new(o.clone()));
    let element: Box<dyn DynTrace> = Box::new(ReachesOuter { outer: leaked });
    assert!(o.elements.set(vec![element]).is_ok());
    *o.a.borrow_mut() = Some(o.clone());
    *o.b.borrow_mut() = Some(o.clone());
    assert_eq!(cyclegc::referents(&o).len(), 1);
    let weak = Gc::downgrade(&o);
    drop(o);
    cyclegc::collect();
    assert!(not_dropped(leaked));

    leaked.a.borrow_mut().take();
    leaked.b.borrow_mut().take();
    // SAFETY: `leaked` came from `Box::leak` above. The only reference
    // derived from it lies in the object's value, which is dropped with
    // this handle (its last) and not used again.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(leaked).cast_mut()) });
    assert!(weak.upgrade().is_none());
    assert_nothing_left();
}

/// A vector of handles in an `Rc`, shared by several objects.
type Shared = Rc<RefCell<Vec<Box<dyn DynTrace>>>>;

/// Names the contents of an `Rc` that another object shares.
struct SharesRc {
    shared: Shared,
}

impl Trace for SharesRc {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        (*self.shared).trace(tracer);
    }
}

/// Two objects name the contents of the `Rc` they share, which holds
/// their handles: not owned by either, not counted (no trace error, no
/// count below zero), so both are kept.
#[test]
fn rc_contents_are_not_owned() {
    let shared: Shared = Rc::new(RefCell::new(vec![]));
    let a = Gc::new(SharesRc {
        shared: shared.clone(),
    });
    let b = Gc::new(SharesRc {
        shared: shared.clone(),
    });
    shared.borrow_mut().push(Box::new(a.clone()));
    shared.borrow_mut().push(Box::new(b.clone()));
    let (weak_a, weak_b) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b, shared));
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(
        cyclegc::stats()[2].trace_errors,
        errors,
        "not counted, so nothing to abandon"
    );
    assert!(weak_a.upgrade().is_some_and(|g| not_dropped(&g)));
    assert!(weak_b.upgrade().is_some_and(|g| not_dropped(&g)));

    let a = weak_a.upgrade().expect("kept");
    a.shared.borrow_mut().clear();
    drop(a);
    assert!(weak_a.upgrade().is_none() && weak_b.upgrade().is_none());
    assert_nothing_left();
}

thread_local! {
    static FINALIZED: Cell<u32> = const { Cell::new(0) };
    static DROPPED: Cell<u32> = const { Cell::new(0) };
}

/// Its finalizer and its `Drop` borrow the cell its (derived) trace names
/// mutably, and push to it.
#[derive(Trace)]
#[trace(finalize)]
struct BorrowsWhenFinalized {
    cell: RefCell<Vec<Box<dyn DynTrace>>>,
}

impl Finalize for BorrowsWhenFinalized {
    fn finalize(&self) {
        self.cell.borrow_mut().push(Box::new(7u8));
        FINALIZED.with(|count| count.set(count.get() + 1));
    }
}

impl Drop for BorrowsWhenFinalized {
    fn drop(&mut self) {
        assert!(self.cell.try_borrow_mut().is_ok(), "no borrow left behind");
        self.cell.borrow_mut().push(Box::new(8u8));
        DROPPED.with(|count| count.set(count.get() + 1));
    }
}

/// A self-cycle whose finalizer and `Drop` borrow its traced cell
/// mutably: the collector holds no borrow by then, and both run once.
#[test]
fn finalizer_borrows_guarded_cell() {
    let a = Gc::new(BorrowsWhenFinalized {
        cell: RefCell::new(vec![]),
    });
    a.cell.borrow_mut().push(Box::new(a.clone()));
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(FINALIZED.with(Cell::get), 1);
    assert_eq!(DROPPED.with(Cell::get), 1);
    assert_nothing_left();
}

/// Made by `Gc::new_cyclic`; holds a weak handle to itself and boxed
/// handles to others.
#[derive(Trace)]
struct MadeCyclic {
    me: Weak<MadeCyclic>,
    others: RefCell<Vec<Box<dyn DynTrace>>>,
}

/// `new_cyclic` whose closure collects and takes the referents of a
/// self-cycle while its own box is not initialised yet.
#[test]
fn new_cyclic_collects() {
    let other = Gc::new(MadeCyclic {
        me: Weak::new(),
        others: RefCell::new(vec![]),
    });
    other.others.borrow_mut().push(Box::new(other.clone()));
    let c = Gc::new_cyclic(|weak| {
        assert!(weak.upgrade().is_none());
        cyclegc::collect();
        assert_eq!(cyclegc::referents(&other).len(), 1);
        MadeCyclic {
            me: weak.clone(),
            others: RefCell::new(vec![Box::new(other.clone())]),
        }
    });
    let weak_other = Gc::downgrade(&other);
    drop(other);
    cyclegc::collect();
    assert!(not_dropped(&c));
    assert!(c.me.upgrade().is_some());
    assert!(weak_other.upgrade().is_some_and(|g| not_dropped(&g)));
    assert_eq!(cyclegc::collect(), 0);
    let weak_c = Gc::downgrade(&c);
    drop(c);
    assert_eq!(cyclegc::collect(), 1, "other's self-cycle");
    assert!(weak_c.upgrade().is_none() && weak_other.upgrade().is_none());
    assert_nothing_left();
}

/// Derived (so exact): garbage beside the wrong objects, which must still
/// be collected.
#[derive(Trace)]
struct SelfCycle {
    me: RefCell<Option<Gc<SelfCycle>>>,
}
