//! A crate that rebinds the name `cyclegc` decides what every path in the
//! derive's output means (`extern crate self as cyclegc;` makes `::cyclegc`
//! this test crate, whose root re-exports the real crate's items but one).
//! Here the stand-in is the trait `Trace`: the derive's `Trace` impl goes to
//! it, while its `unsafe impl ExactTrace` is the real one, so the real
//! `Trace` impl of the derived type is written by hand, claims exactness
//! (allowed: the type is `ExactTrace`) and lies. The collector must trust
//! only the derive's `trace_exact`, never that `trace`: a handle the lie
//! reports without owning it is never counted, and the object it refers
//! to is not dropped while that handle lives. Run under AddressSanitizer
//! too.

extern crate self as cyclegc;

extern crate cyclegc as real;

use std::cell::{Cell, RefCell};

pub use real::{Exact, ExactTrace, Finalize, Gc, Pass, Tracer};

/// The stand-in for `cyclegc::Trace` that the derive implements.
pub trait Trace {
    /// What the derive's impl sets.
    const MAY_CONTAIN_GC: bool = true;
    /// What the derive's impl sets.
    const EXACT: Exact<Self> = Exact::NO;
    /// What the derive's impl writes.
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
}

impl Trace for Liar {}

thread_local! {
    /// The outside handle to the victim (leaked, so that a trace can name
    /// it), which `Liar` reports as its own.
    static HELD: Cell<Option<&'static Gc<Victim>>> = const { Cell::new(None) };
    /// How often `Liar::trace` ran during a collection.
    static LIAR_TRACES: Cell<u32> = const { Cell::new(0) };
}

/// Reports the thread-local handle, which it does not own.
fn lie(tracer: &mut Tracer<'_>) {
    LIAR_TRACES.with(|n| n.set(n.get() + 1));
    if let Some(victim) = HELD.with(Cell::get) {
        real::Trace::trace(victim, tracer);
    }
}

/// A hand-written, inexact type that lies.
pub struct Liar;

impl real::Trace for Liar {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        lie(tracer)
    }
}

/// Derived (its `Trace` impl is of the stand-in, its `ExactTrace` real).
#[derive(real::Trace)]
pub struct Evil {
    liar: Liar,
}

/// The real `Trace` of `Evil`, by hand: exact by its `ExactTrace`, and
/// lying.
impl real::Trace for Evil {
    const EXACT: Exact<Self> = Exact::certified();
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        lie(tracer)
    }
}

/// Really exact; refers to the `Evil` object.
#[derive(real::Trace)]
pub struct Victim {
    evil: RefCell<Option<Gc<Evil>>>,
    value: u64,
}

impl Trace for RefCell<Option<Gc<Evil>>> {}
impl Trace for u64 {}

impl real::Trace for Victim {
    const EXACT: Exact<Self> = Exact::certified();
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        real::Trace::trace(&self.evil, tracer)
    }
}

#[test]
fn a_forged_exact_claim_does_not_run_the_field_trace_under_trust() {
    // The forgery took: `Evil` claims exactness with a lying trace.
    const { assert!(<Evil as real::Trace>::EXACT.is_exact()) };
    const { assert!(!<Liar as real::Trace>::EXACT.is_exact()) };
    real::collect();
    let victim = Gc::new(Victim {
        evil: RefCell::new(Some(Gc::new(Evil { liar: Liar }))),
        value: 42,
    });
    let held: &'static Gc<Victim> = Box::leak(Box::new(victim));
    HELD.with(|h| h.set(Some(held)));
    LIAR_TRACES.with(|n| n.set(0));
    // Counted under trust, `Liar`'s report of the outside handle would
    // leave the victim no outside reference: both objects would be found
    // unreachable and the victim's value dropped under `HELD`.
    assert_eq!(real::collect(), 0, "a live object was collected");
    assert_eq!(LIAR_TRACES.with(Cell::get), 0, "Liar::trace ran");
    assert_eq!(Gc::try_deref(held).map(|v| v.value), Some(42));
    // Break the chain for a clean exit.
    held.evil.borrow_mut().take();
    HELD.with(|h| h.set(None));
    // SAFETY: `held` came from `Box::leak` above, and nothing derived from
    // it is used after this.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(held).cast_mut()) });
}
