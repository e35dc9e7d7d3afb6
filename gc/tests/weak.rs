//! Weak pointers: counts, upgrades, and how they see the collector.

mod common;

use std::cell::RefCell;

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{Gc, Trace, Weak};

#[derive(Trace)]
struct Node {
    #[trace(skip)]
    id: usize,
    next: RefCell<Option<Gc<Node>>>,
    parent: RefCell<Weak<Node>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        record_drop(self.id);
    }
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        next: RefCell::new(None),
        parent: RefCell::new(Weak::new()),
    })
}

#[test]
fn counts_and_upgrade_like_rc() {
    reset_drops(1);
    let a = node(0);
    let w = Gc::downgrade(&a);
    let w2 = w.clone();
    assert_eq!((Gc::strong_count(&a), Gc::weak_count(&a)), (1, 2));
    assert_eq!((w.strong_count(), w.weak_count()), (1, 2));
    let up = w.upgrade().expect("alive");
    assert!(Gc::ptr_eq(&up, &a));
    assert_eq!(Gc::strong_count(&a), 2);
    drop((up, a));
    assert_eq!(drops_of(0), 1);
    assert!(w.upgrade().is_none());
    assert_eq!((w.strong_count(), w.weak_count()), (0, 0));
    assert!(w.ptr_eq(&w2));
    drop((w, w2)); // frees the box
}

#[test]
fn weak_pointers_are_not_edges() {
    reset_drops(2);
    let parent = node(0);
    let child = node(1);
    *child.parent.borrow_mut() = Gc::downgrade(&parent);
    *parent.next.borrow_mut() = Some(child.clone());
    drop(child);
    // parent -> child strongly, child -> parent weakly: no cycle at all.
    drop(parent);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
    assert_eq!(cyclegc::collect(), 0);
}

#[test]
fn weak_to_garbage_never_upgrades_again() {
    reset_drops(2);
    let a = node(0);
    let b = node(1);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    assert!(wa.upgrade().is_some(), "uncollected garbage still upgrades");
    assert_eq!(cyclegc::collect(), 2);
    assert!(wa.upgrade().is_none());
    assert!(wb.upgrade().is_none());
    assert_eq!(wa.strong_count(), 0);
    // The boxes stay allocated for the weak pointers, then go with them.
    drop((wa, wb));
}

/// Upgrades weak pointers to other members of its cycle while being
/// dropped: they must all fail, so no dropped value is ever reached.
#[derive(Trace)]
struct Upgrader {
    peers: RefCell<Vec<Weak<Upgrader>>>,
    strong: RefCell<Option<Gc<Upgrader>>>,
    #[trace(skip)]
    log: std::rc::Rc<RefCell<Vec<bool>>>,
}

impl Drop for Upgrader {
    fn drop(&mut self) {
        for w in self.peers.borrow().iter() {
            self.log.borrow_mut().push(w.upgrade().is_some());
        }
    }
}

#[test]
fn weak_upgrade_during_garbage_drop_fails() {
    let log = std::rc::Rc::new(RefCell::new(Vec::new()));
    let make = || {
        Gc::new(Upgrader {
            peers: RefCell::default(),
            strong: RefCell::new(None),
            log: log.clone(),
        })
    };
    let (a, b, c) = (make(), make(), make());
    *a.strong.borrow_mut() = Some(b.clone());
    *b.strong.borrow_mut() = Some(c.clone());
    *c.strong.borrow_mut() = Some(a.clone());
    for x in [&a, &b, &c] {
        for y in [&a, &b, &c] {
            x.peers.borrow_mut().push(Gc::downgrade(y));
        }
    }
    drop((a, b, c));
    assert_eq!(cyclegc::collect(), 3);
    assert_eq!(*log.borrow(), vec![false; 9]);
}

#[derive(Trace)]
struct SelfRef {
    me: Weak<SelfRef>,
    value: u32,
}

#[test]
fn new_cyclic_gives_a_weak_that_upgrades_afterwards() {
    let g = Gc::new_cyclic(|w: &Weak<SelfRef>| {
        assert!(w.upgrade().is_none(), "not yet constructed");
        SelfRef {
            me: w.clone(),
            value: 7,
        }
    });
    let again = g.me.upgrade().expect("constructed");
    assert!(Gc::ptr_eq(&g, &again));
    assert_eq!(again.value, 7);
    assert_eq!(Gc::weak_count(&g), 1);
    // Weak fields make no edges, and this type holds only a Weak: untracked.
    assert!(!cyclegc::is_tracked(&g));
}

#[test]
fn new_cyclic_panicking_closure_frees_the_box() {
    let leaked: RefCell<Option<Weak<SelfRef>>> = RefCell::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Gc::new_cyclic(|w: &Weak<SelfRef>| {
            *leaked.borrow_mut() = Some(w.clone());
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    let w = leaked.borrow_mut().take().expect("stored");
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    drop(w); // last weak: frees the never-initialised box
}

#[test]
fn new_cyclic_tracked_cycle_is_collected() {
    #[derive(Trace)]
    struct Cyc {
        me: RefCell<Option<Gc<Cyc>>>,
        weak: Weak<Cyc>,
    }
    let g = Gc::new_cyclic(|w| Cyc {
        me: RefCell::new(None),
        weak: w.clone(),
    });
    *g.me.borrow_mut() = g.weak.upgrade();
    let w = Gc::downgrade(&g);
    drop(g);
    assert_eq!(cyclegc::collect(), 1);
    assert!(w.upgrade().is_none());
}

#[test]
fn weak_new_is_dangling() {
    let w: Weak<Node> = Weak::new();
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    let d: Weak<u8> = Weak::default();
    assert!(d.clone().upgrade().is_none());
}
