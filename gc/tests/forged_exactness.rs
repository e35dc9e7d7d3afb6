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
    fn trace(&self, _: &mut Tracer<'_>) {}
}

impl Trace for Liar {}

thread_local! {
    /// The outside handle to the victim, which `Liar` reports as its own.
    static HELD: RefCell<Option<Gc<Victim>>> = const { RefCell::new(None) };
    /// How often `Liar::trace` ran during a collection.
    static LIAR_TRACES: Cell<u32> = const { Cell::new(0) };
}

/// Reports the thread-local handle, which it does not own.
fn lie(tracer: &mut Tracer<'_>) {
    LIAR_TRACES.with(|n| n.set(n.get() + 1));
    HELD.with(|h| {
        if let Some(victim) = h.borrow().as_ref() {
            real::Trace::trace(victim, tracer);
        }
    });
}

/// A hand-written, inexact type that lies.
pub struct Liar;

impl real::Trace for Liar {
    fn trace(&self, tracer: &mut Tracer<'_>) {
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
    fn trace(&self, tracer: &mut Tracer<'_>) {
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
    fn trace(&self, tracer: &mut Tracer<'_>) {
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
    HELD.with(|h| *h.borrow_mut() = Some(victim.clone()));
    drop(victim);
    LIAR_TRACES.with(|n| n.set(0));
    // Counted under trust, `Liar`'s report of the outside handle would
    // leave the victim no outside reference: both objects would be found
    // unreachable and the victim's value dropped under `HELD`.
    assert_eq!(real::collect(), 0, "a live object was collected");
    assert_eq!(LIAR_TRACES.with(Cell::get), 0, "Liar::trace ran");
    HELD.with(|h| {
        let held = h.borrow();
        let victim = held.as_ref().expect("handle kept");
        assert_eq!(Gc::try_deref(victim).map(|v| v.value), Some(42));
        // Break the chain for a clean exit.
        victim.evil.borrow_mut().take();
    });
    HELD.with(|h| h.borrow_mut().take());
}
