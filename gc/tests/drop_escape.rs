//! A `Drop` that moves a handle out of a garbage value it is dropping: the
//! handle outlives the collection that found its target unreachable.

mod common;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use cyclegc::{Gc, Trace, Tracer};

thread_local! {
    static ESCAPED: RefCell<Vec<Gc<Exact>>> = const { RefCell::new(Vec::new()) };
    static ESCAPED_INEXACT: RefCell<Vec<Gc<Inexact>>> = const { RefCell::new(Vec::new()) };
}

/// Derived, so exact.
#[derive(Trace)]
struct Exact {
    payload: Vec<u64>,
    next: RefCell<Option<Gc<Exact>>>,
}

impl Drop for Exact {
    fn drop(&mut self) {
        if let Some(next) = self.next.borrow_mut().take() {
            ESCAPED.with(|e| e.borrow_mut().push(next));
        }
    }
}

/// The same with a hand-written `Trace`.
struct Inexact {
    next: RefCell<Option<Gc<Inexact>>>,
}

impl Trace for Inexact {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

impl Drop for Inexact {
    fn drop(&mut self) {
        if let Some(next) = self.next.borrow_mut().take() {
            ESCAPED_INEXACT.with(|e| e.borrow_mut().push(next));
        }
    }
}

/// Drops `a`, a self-cycle whose `Drop` moves its handle out (`escaped`
/// takes it back), collects, and checks that the box is kept for that
/// handle, reported uncollectable, and seen by it as gone. Returns the
/// handle and how many collections took the inexact path.
fn collect_escaping<T: Trace + 'static>(
    a: Gc<T>,
    escaped: impl Fn() -> Option<Gc<T>>,
) -> (Gc<T>, usize) {
    drop(a);
    let before = cyclegc::stats()[2];
    assert_eq!(cyclegc::collect(), 1);
    let after = cyclegc::stats()[2];
    assert_eq!(after.uncollectable, before.uncollectable + 1);
    let escaped = escaped().expect("escaped");
    assert!(Gc::try_deref(&escaped).is_none());
    assert!(!cyclegc::is_tracked(&escaped));
    assert!(Gc::downgrade(&escaped).upgrade().is_none());
    (escaped, after.inexact - before.inexact)
}

/// A handle left after the drops can only have been moved out of the
/// garbage by a `Drop` (no `&T` into the value can be held from outside):
/// the box is kept for it, and a deref panics with a clear message.
#[test]
fn exact_garbage_keeps_a_box_whose_handle_escaped() {
    let a = Gc::new(Exact {
        payload: vec![1, 2, 3],
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    let (escaped, inexact) = collect_escaping(a, || ESCAPED.with(|e| e.borrow_mut().pop()));
    assert_eq!(inexact, 0, "exact: one pass");
    let err = catch_unwind(AssertUnwindSafe(|| escaped.payload.len())).expect_err("panics");
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .expect("a message");
    assert!(
        msg.contains("already dropped by the cycle collector"),
        "{msg}"
    );
    drop(escaped); // frees the box
}

/// The same with a hand-written `Trace`: its edges are counted once every
/// trace has run, as exactly as a derived one's, so the escape is handled
/// the same way.
#[test]
fn inexact_garbage_keeps_a_box_whose_handle_escaped() {
    let a = Gc::new(Inexact {
        next: RefCell::new(None),
    });
    *a.next.borrow_mut() = Some(a.clone());
    let (escaped, inexact) = collect_escaping(a, || ESCAPED_INEXACT.with(|e| e.borrow_mut().pop()));
    assert_eq!(inexact, 1);
    drop(escaped); // frees the box
}
