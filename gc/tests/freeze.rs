//! `freeze`, `unfreeze` and `freeze_count`.

use std::cell::RefCell;

use cyclegc::{Finalize, Gc, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
    })
}

fn self_cycle() -> cyclegc::Weak<Node> {
    let a = node();
    *a.next.borrow_mut() = Some(a.clone());
    Gc::downgrade(&a)
}

#[test]
fn frozen_garbage_is_ignored_until_unfrozen() {
    let keep: Vec<_> = (0..10).map(|_| node()).collect();
    let w = self_cycle();
    assert_eq!(cyclegc::count().0, 11);
    cyclegc::freeze();
    assert_eq!(cyclegc::freeze_count(), 11);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
    assert_eq!(cyclegc::count().0, 0);
    assert_eq!(cyclegc::collect(), 0);
    assert!(w.upgrade().is_some(), "frozen objects are never examined");
    assert!(cyclegc::is_tracked(&keep[0]));
    cyclegc::unfreeze();
    assert_eq!(cyclegc::freeze_count(), 0);
    assert_eq!(cyclegc::object_counts(), (0, 0, 11));
    assert_eq!(cyclegc::collect(), 1);
    assert!(w.upgrade().is_none());
}

#[test]
fn frozen_objects_count_as_outside_references() {
    let holder = node();
    cyclegc::freeze();
    let young = node();
    *young.next.borrow_mut() = Some(young.clone());
    *holder.next.borrow_mut() = Some(young.clone());
    let w = Gc::downgrade(&young);
    drop(young);
    assert_eq!(cyclegc::collect(), 0);
    assert!(w.upgrade().is_some());
    holder.next.borrow_mut().take();
    assert_eq!(cyclegc::collect(), 1);
}

#[test]
fn frozen_objects_still_die_by_reference_counting() {
    let a = node();
    let b = node();
    cyclegc::freeze();
    assert_eq!(cyclegc::freeze_count(), 2);
    drop(a);
    assert_eq!(cyclegc::freeze_count(), 1);
    drop(b);
    assert_eq!(cyclegc::freeze_count(), 0);
}

#[derive(Trace)]
#[trace(finalize)]
struct Freezer {
    me: RefCell<Option<Gc<Freezer>>>,
    #[trace(skip)]
    then_unfreeze: bool,
}

impl Finalize for Freezer {
    fn finalize(&self) {
        cyclegc::freeze();
        if self.then_unfreeze {
            cyclegc::unfreeze();
        }
    }
}

/// A garbage self-cycle whose finalizer calls `freeze` (and `unfreeze`).
fn dropped_freezer(then_unfreeze: bool) {
    let f = Gc::new(Freezer {
        me: RefCell::new(None),
        then_unfreeze,
    });
    *f.me.borrow_mut() = Some(f.clone());
}

#[test]
fn freeze_during_a_collection_takes_effect_after_it() {
    let survivor = node();
    dropped_freezer(false);
    assert_eq!(cyclegc::collect(), 1);
    // The survivor went to generation 2, then the deferred freeze moved it.
    assert_eq!(cyclegc::freeze_count(), 1);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
    drop(survivor);
    assert_eq!(cyclegc::freeze_count(), 0);
}

/// Both calls count, in order: the freeze moves every object to the
/// permanent generation and the unfreeze brings them all to the oldest, so
/// a survivor of a young collection ends in generation 2, not 1.
#[test]
fn freeze_then_unfreeze_during_a_collection_both_take_effect() {
    let survivor = node();
    dropped_freezer(true);
    assert_eq!(cyclegc::collect_generation(0), 1);
    assert_eq!(cyclegc::freeze_count(), 0);
    assert_eq!(cyclegc::object_counts(), (0, 0, 1));
    drop(survivor);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}
