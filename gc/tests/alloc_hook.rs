//! The global allocator can be user code: tracking and profiling
//! allocators call safe callbacks on every allocation. Exact traces are
//! trusted to run no user code (that is what lets `RefCell`'s be borrowed
//! without a guard and `Cell`'s be traced in place), so nothing may
//! allocate while one runs: `referents` (whose reports allocate) never
//! runs exact traces, and the collector's final check reserves its vector
//! before tracing. Each test here has an allocator callback that mutates
//! the value being traced; before that rule they freed memory under the
//! trace (found by AddressSanitizer, which CI runs these tests under).
//! From a review of the change that made exact traces trusted.

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

#[test]
fn referents_allocate_only_while_a_refcell_is_borrowed_with_a_guard() {
    const { assert!(<Node as Trace>::EXACT.is_exact()) };
    let node = Gc::new(Node {
        children: RefCell::new((0..64).map(Gc::new).collect()),
    });
    VICTIM.with(|v| *v.borrow_mut() = Some(node.clone()));
    let refs = with_hook(clear_victim, || cyclegc::referents(&node));
    assert!(
        !MUTATED.with(Cell::get),
        "the callback borrowed the cell mutably while it was traced"
    );
    assert_eq!(refs.len(), 64);
    assert_eq!(node.children.borrow().len(), 64);
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

#[test]
fn referents_trace_a_cell_from_a_copy_while_they_allocate() {
    let node = Gc::new(CellNode {
        children: Cell::new((0..64).map(Gc::new).collect()),
    });
    CELL_VICTIM.with(|v| *v.borrow_mut() = Some(node.clone()));
    let refs = with_hook(take_cell, || cyclegc::referents(&node));
    // The callback ran (the reports allocate) and emptied the cell, which
    // held no value then: it was being traced from a copy, put back after.
    assert!(MUTATED.with(Cell::get));
    assert_eq!(refs.len(), 64);
    let back = node.children.take();
    assert_eq!(back.len(), 64, "the traced value was not put back");
    CELL_VICTIM.with(|v| v.borrow_mut().take());
}

#[derive(Trace)]
struct Cyc {
    children: RefCell<Vec<Gc<Cyc>>>,
}

/// Hand-written, so not exact: a collection that examines it runs the
/// final check of the garbage, which keeps addresses in a vector.
struct Inexact;

impl Trace for Inexact {
    fn trace(&self, _: &mut Tracer<'_>) {}
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

#[test]
fn the_final_check_allocates_before_it_traces() {
    cyclegc::collect();
    let _inexact = Gc::new(Inexact);
    let a = Gc::new(Cyc {
        children: RefCell::new(Vec::new()),
    });
    let t = Gc::new(Cyc {
        children: RefCell::new(vec![a.clone()]),
    });
    // `t` has four handles, all in `a`: the check keeps their addresses.
    a.children
        .borrow_mut()
        .extend([t.clone(), t.clone(), t.clone(), t.clone()]);
    CYC.with(|w| *w.borrow_mut() = Some(Gc::downgrade(&a)));
    drop((a, t));
    let errors = cyclegc::stats()[2].trace_errors;
    let collected = with_hook(clear_cycle, cyclegc::collect);
    // The first allocation of the collection is the check's vector, before
    // its trace: the callback changes the garbage then (which the check
    // sees, and abandons the collection), not under the trace.
    assert!(MUTATED.with(Cell::get));
    assert_eq!(collected, 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    // Abandoned, the two were kept; with `a`'s children dropped they went
    // by reference counting.
    assert!(CYC.with(|w| w.borrow().as_ref().unwrap().upgrade().is_none()));
}
