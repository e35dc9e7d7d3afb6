//! PEP 442 finalization: once per object, before any drop, on intact
//! objects, with a resurrection check.

use std::cell::{Cell, RefCell};

use cyclegc::{Finalize, Gc, Trace, Weak};

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static SAVED: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    static RESURRECT: Cell<Option<usize>> = const { Cell::new(None) };
}

fn log(entry: String) {
    LOG.with(|l| l.borrow_mut().push(entry));
}

fn take_log() -> Vec<String> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

#[derive(Trace)]
#[trace(finalize)]
struct Node {
    #[trace(skip)]
    id: usize,
    #[trace(skip)]
    payload: String,
    next: RefCell<Option<Gc<Node>>>,
    me: RefCell<Weak<Node>>,
}

impl Finalize for Node {
    fn finalize(&self) {
        // Everything reachable is intact: walk the whole cycle.
        let mut seen = vec![self.id];
        let mut cur = self.next.borrow().clone();
        while let Some(n) = cur {
            if seen.contains(&n.id) {
                break;
            }
            assert_eq!(n.payload, format!("payload {}", n.id));
            seen.push(n.id);
            cur = n.next.borrow().clone();
        }
        log(format!("F{}", self.id));
        if RESURRECT.with(Cell::get) == Some(self.id) {
            let me = self
                .me
                .borrow()
                .upgrade()
                .expect("finalized objects still upgrade");
            SAVED.with(|s| s.borrow_mut().push(me));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        log(format!("D{}", self.id));
    }
}

fn node(id: usize) -> Gc<Node> {
    let g = Gc::new(Node {
        id,
        payload: format!("payload {id}"),
        next: RefCell::new(None),
        me: RefCell::new(Weak::new()),
    });
    *g.me.borrow_mut() = Gc::downgrade(&g);
    g
}

fn ring(n: usize) -> Vec<Gc<Node>> {
    let nodes: Vec<_> = (0..n).map(node).collect();
    for i in 0..n {
        *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
    }
    nodes
}

#[test]
fn finalizers_run_once_each_before_any_drop() {
    let nodes = ring(4);
    drop(nodes);
    assert_eq!(cyclegc::collect(), 4);
    let entries = take_log();
    assert_eq!(entries.len(), 8, "{entries:?}");
    let (fin, drops) = entries.split_at(4);
    assert!(fin.iter().all(|e| e.starts_with('F')), "{entries:?}");
    assert!(drops.iter().all(|e| e.starts_with('D')), "{entries:?}");
    let mut ids: Vec<&str> = fin.iter().map(|e| &e[1..]).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["0", "1", "2", "3"]);
}

#[test]
fn resurrected_objects_survive_and_are_not_finalized_twice() {
    let nodes = ring(3);
    let weak: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    RESURRECT.with(|r| r.set(Some(1)));
    drop(nodes);
    // Node 1 saves itself; the whole ring is reachable from it again.
    assert_eq!(cyclegc::collect(), 0);
    RESURRECT.with(|r| r.set(None));
    let entries = take_log();
    assert_eq!(
        entries.len(),
        3,
        "all three finalized, none dropped: {entries:?}"
    );
    assert!(weak.iter().all(|w| w.upgrade().is_some()));
    let saved = SAVED.with(|s| s.borrow_mut().pop()).expect("saved");
    assert_eq!(saved.id, 1);
    assert!(cyclegc::is_finalized(&saved));
    // Garbage again: dropped this time, without a second finalizer.
    drop(saved);
    assert_eq!(cyclegc::collect(), 3);
    let entries = take_log();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(entries.iter().all(|e| e.starts_with('D')), "{entries:?}");
    assert!(weak.iter().all(|w| w.upgrade().is_none()));
}

#[test]
fn resurrection_keeps_only_what_the_resurrected_object_reaches() {
    // Two separate rings; one member of the first saves itself.
    let first = ring(2);
    let second: Vec<_> = (10..12).map(node).collect();
    *second[0].next.borrow_mut() = Some(second[1].clone());
    *second[1].next.borrow_mut() = Some(second[0].clone());
    RESURRECT.with(|r| r.set(Some(0)));
    drop((first, second));
    assert_eq!(cyclegc::collect(), 2);
    RESURRECT.with(|r| r.set(None));
    let entries = take_log();
    let drops: Vec<&String> = entries.iter().filter(|e| e.starts_with('D')).collect();
    assert_eq!(drops.len(), 2);
    assert!(
        drops.iter().all(|d| *d == "D10" || *d == "D11"),
        "{entries:?}"
    );
    SAVED.with(|s| s.borrow_mut().clear());
    assert_eq!(cyclegc::collect(), 2);
}

#[test]
fn reference_counting_death_runs_the_finalizer_first() {
    let a = node(0);
    assert!(!cyclegc::is_finalized(&a));
    drop(a);
    assert_eq!(take_log(), ["F0", "D0"]);
    assert_eq!(cyclegc::collect(), 0);
}

#[test]
fn reference_counting_death_can_resurrect() {
    let a = node(5);
    let w = Gc::downgrade(&a);
    RESURRECT.with(|r| r.set(Some(5)));
    drop(a);
    RESURRECT.with(|r| r.set(None));
    assert_eq!(take_log(), ["F5"]);
    let back = w.upgrade().expect("resurrected");
    assert!(cyclegc::is_finalized(&back));
    assert!(cyclegc::is_tracked(&back));
    drop(back);
    SAVED.with(|s| s.borrow_mut().clear());
    assert_eq!(take_log(), ["D5"], "no second finalizer");
}

#[derive(Trace)]
#[trace(finalize)]
struct Plain {
    #[trace(skip)]
    ran: std::rc::Rc<Cell<u32>>,
}

impl Finalize for Plain {
    fn finalize(&self) {
        self.ran.set(self.ran.get() + 1);
    }
}

#[test]
fn a_finalizer_makes_even_a_leaf_type_tracked() {
    let ran = std::rc::Rc::new(Cell::new(0));
    let p = Gc::new(Plain { ran: ran.clone() });
    assert!(cyclegc::is_tracked(&p));
    drop(p);
    assert_eq!(ran.get(), 1);
}

#[derive(Trace)]
#[trace(finalize)]
struct Spawner {
    me: RefCell<Option<Gc<Spawner>>>,
    #[trace(skip)]
    generation: u32,
}

impl Finalize for Spawner {
    fn finalize(&self) {
        // A nested collection is refused, and new garbage waits its turn.
        assert_eq!(cyclegc::collect(), 0);
        if self.generation < 3 {
            let child = Gc::new(Spawner {
                me: RefCell::new(None),
                generation: self.generation + 1,
            });
            *child.me.borrow_mut() = Some(child.clone());
        }
    }
}

#[test]
fn finalizers_may_create_new_garbage() {
    let s = Gc::new(Spawner {
        me: RefCell::new(None),
        generation: 0,
    });
    *s.me.borrow_mut() = Some(s.clone());
    drop(s);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(cyclegc::collect(), 0);
}

/// Half of a garbage pair whose `Drop` looks at the other half.
#[derive(Trace)]
struct Peeker {
    other: RefCell<Option<Gc<Peeker>>>,
}

thread_local!(static SAW_INTACT: Cell<u32> = const { Cell::new(0) });

impl Drop for Peeker {
    fn drop(&mut self) {
        if let Some(o) = self.other.borrow().as_ref()
            && Gc::try_deref(o).is_some()
        {
            SAW_INTACT.with(|s| s.set(s.get() + 1));
        }
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Finalizable;

impl Finalize for Finalizable {
    fn finalize(&self) {}
}

#[test]
fn garbage_is_marked_dropped_before_any_drop_beside_a_live_finalizable() {
    // All exact, but a (reachable) candidate has a finalizer: the garbage is
    // not marked while it is found, so it must be marked before the drops.
    let keep = Gc::new(Finalizable);
    let a = Gc::new(Peeker {
        other: RefCell::new(None),
    });
    let b = Gc::new(Peeker {
        other: RefCell::new(Some(a.clone())),
    });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    let inexact_before = cyclegc::stats()[2].inexact;
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!(
        cyclegc::stats()[2].inexact,
        inexact_before,
        "exact: one pass"
    );
    assert_eq!(
        SAW_INTACT.with(Cell::get),
        0,
        "a garbage value's Drop saw another garbage value as intact"
    );
    drop(keep);
}

#[derive(Trace)]
struct Link {
    next: RefCell<Option<Gc<Link>>>,
}

#[derive(Trace)]
#[trace(finalize)]
struct Builder {
    me: RefCell<Option<Gc<Builder>>>,
}

thread_local! {
    static BUILT: RefCell<Vec<Weak<Link>>> = const { RefCell::new(Vec::new()) };
}

impl Finalize for Builder {
    /// Builds a garbage two-cycle while the collection runs.
    fn finalize(&self) {
        let a = Gc::new(Link {
            next: RefCell::new(None),
        });
        let b = Gc::new(Link {
            next: RefCell::new(Some(a.clone())),
        });
        *a.next.borrow_mut() = Some(b.clone());
        BUILT.with(|w| {
            w.borrow_mut()
                .extend([Gc::downgrade(&a), Gc::downgrade(&b)])
        });
    }
}

/// Objects born during a collection are not its candidates; once it ends
/// they are ordinary members of generation 0. (If they stayed marked as
/// newborn, the next collection would count the edge from the first into
/// the second as an outside reference, and keep the cycle.)
#[test]
fn objects_born_during_a_collection_are_candidates_of_the_next() {
    let f = Gc::new(Builder {
        me: RefCell::new(None),
    });
    *f.me.borrow_mut() = Some(f.clone());
    drop(f);
    assert_eq!(cyclegc::collect(), 1);
    let built = BUILT.with(|w| std::mem::take(&mut *w.borrow_mut()));
    assert!(
        built.iter().all(|w| w.upgrade().is_some()),
        "not candidates"
    );
    assert_eq!(cyclegc::collect_generation(0), 2);
    assert!(built.iter().all(|w| w.upgrade().is_none()));
}

/// CPython's `gc.get_count()[0]`: tracked allocations minus deallocations
/// since the last collection, so a box freed by reference counting takes
/// one back.
#[test]
fn count_zero_takes_back_boxes_freed_by_reference_counting() {
    cyclegc::collect();
    let nodes: Vec<_> = (0..5)
        .map(|_| {
            Gc::new(Link {
                next: RefCell::new(None),
            })
        })
        .collect();
    assert_eq!(cyclegc::count().0, 5);
    drop(nodes);
    assert_eq!(cyclegc::count().0, 0);
}
