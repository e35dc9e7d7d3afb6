//! The global allocator can be user code: tracking and profiling
//! allocators call safe callbacks on every allocation. Exact traces are
//! trusted to run no user code (that is what lets `RefCell`'s be borrowed
//! without a guard and `Cell`'s be traced in place), so nothing may
//! allocate while one runs: `referents` counts the edges first, reserves
//! its vector, and wraps the handles only after the traces; a collection
//! allocates only while it runs hand-written traces, before any exact
//! one. Each test here has an allocator callback that mutates the value
//! being traced; were it called under an exact trace, it would free memory
//! under it (AddressSanitizer, which CI runs these tests under, would
//! flag it), and the trace would see the value half changed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

use cyclegc::{Gc, Trace, Tracer, Weak};

/// A tracking allocator: `System`, plus a callback after each allocation.
struct Tracking;

thread_local! {
    static HOOK: Cell<Option<fn()>> = const { Cell::new(None) };
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
    static MUTATED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call to `System`; the callback runs after the
// allocation, never re-entrantly, and the callbacks here do not panic.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { System.alloc(layout) };
        let _ = HOOK.try_with(|h| {
            if let Some(f) = h.get()
                && !IN_HOOK.with(|g| g.replace(true))
            {
                f();
                IN_HOOK.with(|g| g.set(false));
            }
        });
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Runs `body` with `hook` called on every allocation.
fn with_hook<R>(hook: fn(), body: impl FnOnce() -> R) -> R {
    MUTATED.with(|m| m.set(false));
    HOOK.with(|h| h.set(Some(hook)));
    let out = body();
    HOOK.with(|h| h.set(None));
    out
}

#[derive(Trace)]
struct Node {
    children: RefCell<Vec<Gc<u64>>>,
}

thread_local! {
    static VICTIM: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

/// Frees the `Vec` that a trace of the victim may be iterating, if the
/// `RefCell` can be borrowed.
fn clear_victim() {
    VICTIM.with(|v| {
        if let Some(node) = v.borrow().as_ref()
            && let Ok(mut children) = node.children.try_borrow_mut()
        {
            MUTATED.with(|m| m.set(true));
            *children = Vec::new();
        }
    });
}

/// The callback empties the cell at the first allocation, which comes
/// before any trace looks into the cell: `referents` sees it empty, never
/// half-way.
#[test]
fn referents_allocate_only_while_no_refcell_is_looked_into() {
    const { assert!(<Node as Trace>::EXACT.is_exact()) };
    let node = Gc::new(Node {
        children: RefCell::new((0..64).map(Gc::new).collect()),
    });
    VICTIM.with(|v| *v.borrow_mut() = Some(node.clone()));
    let refs = with_hook(clear_victim, || cyclegc::referents(&node));
    assert!(MUTATED.with(Cell::get), "the callback ran");
    // The first allocation is the discovery's record of the node's place,
    // before any trace looks into the cell: the edges are counted after
    // the callback emptied it.
    assert!(refs.is_empty(), "{} edges", refs.len());
    VICTIM.with(|v| v.borrow_mut().take());
}

#[derive(Trace)]
struct CellNode {
    children: Cell<Vec<Gc<u64>>>,
}

thread_local! {
    static CELL_VICTIM: RefCell<Option<Gc<CellNode>>> = const { RefCell::new(None) };
}

/// Empties the victim's `Cell` (freeing its buffer, if it is there).
fn take_cell() {
    CELL_VICTIM.with(|v| {
        if let Some(node) = v.borrow().as_ref() {
            MUTATED.with(|m| m.set(true));
            drop(node.children.take());
        }
    });
}

/// The same with a `Cell`, which an exact trace reads in place.
#[test]
fn referents_allocate_only_while_no_cell_is_looked_into() {
    let node = Gc::new(CellNode {
        children: Cell::new((0..64).map(Gc::new).collect()),
    });
    CELL_VICTIM.with(|v| *v.borrow_mut() = Some(node.clone()));
    let refs = with_hook(take_cell, || cyclegc::referents(&node));
    assert!(MUTATED.with(Cell::get), "the callback ran");
    // As above: emptied before any trace.
    assert!(refs.is_empty(), "{} edges", refs.len());
    CELL_VICTIM.with(|v| v.borrow_mut().take());
}

#[derive(Trace)]
struct Cyc {
    children: RefCell<Vec<Gc<Cyc>>>,
}

/// Hand-written, so not exact: a collection that examines it runs its
/// trace first, which allocates to keep the place it names.
struct Inexact(Option<Gc<u8>>);

impl Trace for Inexact {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
}

thread_local! {
    static CYC: RefCell<Option<Weak<Cyc>>> = const { RefCell::new(None) };
}

/// Drops the handles in `a`'s children, once, if the cell can be borrowed.
fn clear_cycle() {
    CYC.with(|w| {
        if let Some(a) = w.borrow().as_ref().and_then(Weak::upgrade)
            && let Ok(mut children) = a.children.try_borrow_mut()
        {
            HOOK.with(|h| h.set(None));
            MUTATED.with(|m| m.set(true));
            *children = Vec::new();
        }
    });
}

/// The first allocation of the collection keeps the place the `Inexact`
/// names, before anything is counted: the callback breaks the cycle then.
/// The two objects are pinned by then, so they do not go by reference
/// counting; the counting, which sees the cell as the callback left it,
/// finds them garbage.
#[test]
fn a_collection_allocates_only_before_it_counts() {
    cyclegc::collect();
    let _inexact = Gc::new(Inexact(Some(Gc::new(7))));
    let a = Gc::new(Cyc {
        children: RefCell::new(Vec::new()),
    });
    let t = Gc::new(Cyc {
        children: RefCell::new(vec![a.clone()]),
    });
    a.children
        .borrow_mut()
        .extend([t.clone(), t.clone(), t.clone(), t.clone()]);
    CYC.with(|w| *w.borrow_mut() = Some(Gc::downgrade(&a)));
    drop((a, t));
    let errors = cyclegc::stats()[2].trace_errors;
    let collected = with_hook(clear_cycle, cyclegc::collect);
    assert!(MUTATED.with(Cell::get));
    assert_eq!(collected, 2);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors);
    assert!(CYC.with(|w| w.borrow().as_ref().unwrap().upgrade().is_none()));
}
