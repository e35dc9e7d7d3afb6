//! A global allocator whose `dealloc` calls back into safe user code (a
//! tracking allocator): the collector must run no such code between the
//! moment it starts counting and the drops, and must release the `RefCell`
//! borrows it holds for hand-written traces with no call in between
//! (freeing anything runs the allocator). Each test below was a
//! use-after-free under AddressSanitizer, or dropped a value with a live
//! handle, when those borrows were boxed and freed one by one (found by
//! review). Run these under AddressSanitizer too.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};

use cyclegc::{DynTrace, Finalize, Gc, Trace, Weak};

/// `System`, plus a callback after each deallocation.
struct Tracking;

thread_local! {
    static HOOK: Cell<Option<fn()>> = const { Cell::new(None) };
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call to `System`; the callback runs after the
// deallocation, never re-entrantly, and the callbacks here do not panic.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) };
        let _ = HOOK.try_with(|h| {
            if let Some(f) = h.get()
                && !IN_HOOK.with(|g| g.replace(true))
            {
                f();
                IN_HOOK.with(|g| g.set(false));
            }
        });
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Runs `body` with `hook` called after every deallocation.
fn with_hook<R>(hook: fn(), body: impl FnOnce() -> R) -> R {
    HOOK.with(|h| h.set(Some(hook)));
    let out = body();
    HOOK.with(|h| h.set(None));
    out
}

/// Derived, but not exact: `dyn DynTrace` could be anything, so the
/// collector traces its cells' contents from borrows it holds.
#[derive(Trace)]
struct Two {
    a: RefCell<Vec<Box<dyn DynTrace>>>,
    b: RefCell<Vec<Box<dyn DynTrace>>>,
}

thread_local! {
    static SLOT: RefCell<Option<Gc<Two>>> = const { RefCell::new(None) };
    /// Whether a `Two` found one of its cells borrowed when it was dropped.
    static DROPPED_BORROWED: Cell<Option<bool>> = const { Cell::new(None) };
}

impl Drop for Two {
    fn drop(&mut self) {
        let borrowed = self.a.try_borrow_mut().is_err() || self.b.try_borrow_mut().is_err();
        DROPPED_BORROWED.with(|d| d.set(Some(borrowed)));
    }
}

/// Drops the last handle of the object in `SLOT`, if any.
fn drop_slot() {
    drop(SLOT.with(|s| s.borrow_mut().take()));
}

/// A survivor whose cells the collector borrowed, freed by a callback as
/// soon as anything is freed: never while a borrow of its cells is held.
#[test]
fn a_survivor_freed_by_the_allocator_mid_collection() {
    let two = Gc::new(Two {
        a: RefCell::new(vec![Box::new(1u8)]),
        b: RefCell::new(vec![Box::new(Gc::new(2u8))]),
    });
    let weak = Gc::downgrade(&two);
    SLOT.with(|s| *s.borrow_mut() = Some(two));
    DROPPED_BORROWED.with(|d| d.set(None));
    with_hook(drop_slot, cyclegc::collect);
    assert!(SLOT.with(|s| s.borrow().is_none()), "the callback ran");
    assert!(weak.upgrade().is_none());
    assert_eq!(
        DROPPED_BORROWED.with(Cell::get),
        Some(false),
        "dropped while the collector held a borrow of its cells"
    );
}

type Inner = RefCell<Vec<Box<dyn DynTrace>>>;

/// Cells in a cell: the collector borrows the outer one, then the inner.
#[derive(Trace)]
struct Nested {
    outer: RefCell<Vec<Inner>>,
}

thread_local! {
    static NESTED: RefCell<Option<Gc<Nested>>> = const { RefCell::new(None) };
}

/// Frees the inner cells, if the outer one is free to borrow mutably.
fn free_inner() {
    NESTED.with(|v| {
        if let Some(n) = v.borrow().as_ref()
            && let Ok(mut outer) = n.outer.try_borrow_mut()
        {
            *outer = Vec::new();
        }
    });
}

fn nested() -> Gc<Nested> {
    let inner: Inner = RefCell::new(vec![Box::new(Gc::new(1u8))]);
    let n = Gc::new(Nested {
        outer: RefCell::new(vec![inner]),
    });
    NESTED.with(|v| *v.borrow_mut() = Some(n.clone()));
    n
}

/// The inner cell's borrow is released no later than the outer one's,
/// with nothing in between: the callback cannot free the inner cell under
/// its borrow.
#[test]
fn nested_borrows_are_released_inner_first_in_referents() {
    let n = nested();
    let refs = with_hook(free_inner, || cyclegc::referents(&n));
    assert!(n.outer.borrow().is_empty(), "the callback ran");
    // Seen before the callback freed the inner cell, or not at all; the
    // handle is intact either way. (The bug this guards against corrupted
    // the heap: glibc aborted, or ASan reported the write.)
    for r in &refs {
        assert_eq!(*r.downcast::<u8>().expect("a Gc<u8>"), 1);
    }
    NESTED.with(|v| v.borrow_mut().take());
}

#[test]
fn nested_borrows_are_released_inner_first_in_a_collection() {
    let n = nested();
    with_hook(free_inner, cyclegc::collect);
    assert!(n.outer.borrow().is_empty(), "the callback ran");
    NESTED.with(|v| v.borrow_mut().take());
}

/// A self-cycle through a cell the collector borrows.
#[derive(Trace)]
struct Looped {
    me: RefCell<Vec<Box<dyn DynTrace>>>,
}

/// Any type with a finalizer among the candidates: the garbage is then
/// marked dropped only after the finalizers, not while it is found.
#[derive(Trace)]
#[trace(finalize)]
struct Finalized {
    _g: Option<Gc<u8>>,
}

impl Finalize for Finalized {
    fn finalize(&self) {}
}

thread_local! {
    static WEAK: RefCell<Option<Weak<Looped>>> = const { RefCell::new(None) };
    static STASH: RefCell<Option<Gc<Looped>>> = const { RefCell::new(None) };
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Upgrades the `Weak` to the garbage into `STASH`, once.
fn resurrect() {
    CALLS.with(|c| c.set(c.get() + 1));
    if STASH.with(|s| s.borrow().is_some()) {
        return;
    }
    if let Some(g) = WEAK.with(|w| w.borrow().as_ref().and_then(Weak::upgrade)) {
        STASH.with(|s| *s.borrow_mut() = Some(g));
    }
}

/// No user code runs between the counting and the drops, so nothing can
/// make a handle to the garbage meanwhile: a `Weak` upgraded by the
/// allocator's callback either finds the value gone, or (before counting)
/// makes it reachable.
#[test]
fn no_allocator_callback_between_counting_and_the_drops() {
    let _finalized = Gc::new(Finalized { _g: None });
    let x = Gc::new(Looped {
        me: RefCell::new(Vec::new()),
    });
    x.me.borrow_mut().push(Box::new(x.clone()));
    WEAK.with(|w| *w.borrow_mut() = Some(Gc::downgrade(&x)));
    drop(x);
    CALLS.with(|c| c.set(0));
    let collected = with_hook(resurrect, cyclegc::collect);
    assert!(CALLS.with(Cell::get) > 0, "the callback never ran");
    let stash = STASH.with(|s| s.borrow_mut().take());
    match &stash {
        Some(x) => {
            assert!(
                Gc::try_deref(x).is_some(),
                "the value of an object with a live handle was dropped"
            );
            assert_eq!(collected, 0, "made reachable before the counting");
        }
        None => assert_eq!(collected, 1),
    }
    if let Some(x) = stash {
        x.me.borrow_mut().clear();
    }
    WEAK.with(|w| w.borrow_mut().take());
}
