//! Edge cases of a collection that keeps `gc_refs` in the `prev` links
//! (written by a reviewer of that change): a count below zero in a young
//! collection with older objects around, and in the recount after
//! finalizers ran; objects that a start callback makes, which land among
//! the candidates marked newborn. Each leaves nothing behind.

use std::cell::{Cell, RefCell};

use cyclegc::{Exact, ExactTrace, Gc, Pass, Trace, Tracer, Weak};

thread_local! {
    static LIE: Cell<bool> = const { Cell::new(false) };
    static LIE_IN_FINALIZER: Cell<bool> = const { Cell::new(false) };
    static DROPS: Cell<usize> = const { Cell::new(0) };
    static SAVED: RefCell<Vec<Gc<Liar>>> = const { RefCell::new(Vec::new()) };
}

struct Liar {
    lies: bool,
    finalize_lies: bool,
    me: RefCell<Weak<Liar>>,
    edges: RefCell<Vec<Gc<Liar>>>,
}

impl Trace for Liar {
    const FINALIZE: bool = true;
    const EXACT: Exact<Self> = Exact::certified().and(<RefCell<Vec<Gc<Liar>>> as Trace>::EXACT);
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.edges.trace(tracer);
    }
    fn finalize(&self) {
        if self.finalize_lies {
            LIE.with(|l| l.set(LIE_IN_FINALIZER.with(Cell::get)));
        }
    }
}

// SAFETY: deliberately broken while LIE is set.
unsafe impl ExactTrace for Liar {
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        let times = if self.lies && LIE.with(Cell::get) {
            3
        } else {
            1
        };
        for _ in 0..times {
            tracer.field::<P, _>(&self.edges);
        }
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

fn liar(lies: bool, finalize_lies: bool) -> Gc<Liar> {
    let g = Gc::new(Liar {
        lies,
        finalize_lies,
        me: RefCell::new(Weak::new()),
        edges: RefCell::new(Vec::new()),
    });
    *g.me.borrow_mut() = Gc::downgrade(&g);
    g
}

/// Walks every generation list through its `next` pointers (a corrupt
/// list shows as a crash, a hang or a wrong count here, or under
/// AddressSanitizer), and checks where the objects are.
fn lists_hold(generations: (usize, usize, usize)) {
    assert_eq!(cyclegc::object_counts(), generations);
    assert_eq!(cyclegc::freeze_count(), 0);
}

/// Overcount in a young collection, with older objects around: abandoned,
/// nothing dropped, lists consistent, everything collected later.
#[test]
fn overcount_in_a_young_collection() {
    cyclegc::collect();
    DROPS.with(|d| d.set(0));
    // Old objects in generation 2.
    let old: Vec<Gc<Liar>> = (0..5).map(|_| liar(false, false)).collect();
    for w in old.windows(2) {
        w[0].edges.borrow_mut().push(w[1].clone());
    }
    cyclegc::collect();
    // Young garbage: a liar over-reporting a held object.
    let l = liar(true, false);
    let held = liar(false, false);
    held.edges.borrow_mut().push(old[0].clone());
    l.edges.borrow_mut().push(held);
    l.edges.borrow_mut().push(l.clone());
    old[4].edges.borrow_mut().push(liar(false, false)); // young, held by old
    drop(l);
    LIE.with(|x| x.set(true));
    assert_eq!(cyclegc::collect_generation(0), 0);
    LIE.with(|x| x.set(false));
    assert_eq!(DROPS.with(Cell::get), 0);
    // An abandoned young collection keeps its 3 candidates, one
    // generation up.
    lists_hold((0, 3, 5));
    for o in &old {
        assert!(cyclegc::is_tracked(o));
        assert!(Gc::try_deref(o).is_some());
    }
    assert_eq!(cyclegc::collect_generation(1), 2);
    assert_eq!(DROPS.with(Cell::get), 2);
    old[4].edges.borrow_mut().clear();
    drop(old);
    cyclegc::collect();
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}

/// The finalizer turns the lie on: the resurrection count sees it.
#[test]
fn overcount_in_the_resurrection_count() {
    cyclegc::collect();
    DROPS.with(|d| d.set(0));
    let l = liar(true, true);
    let held = liar(false, false);
    l.edges.borrow_mut().push(held);
    l.edges.borrow_mut().push(l.clone());
    let w = Gc::downgrade(&l);
    drop(l);
    LIE_IN_FINALIZER.with(|x| x.set(true));
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!(DROPS.with(Cell::get), 0);
    LIE.with(|x| x.set(false));
    LIE_IN_FINALIZER.with(|x| x.set(false));
    // Abandoned: the two kept in generation 2.
    lists_hold((0, 0, 2));
    let g = w.upgrade().expect("kept");
    assert!(cyclegc::is_tracked(&g));
    assert!(cyclegc::is_finalized(&g));
    drop(g);
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!(DROPS.with(Cell::get), 2);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}

/// Objects made by a start callback (NEWBORN, spliced into the candidates).
#[test]
fn objects_made_by_a_start_callback() {
    cyclegc::collect();
    DROPS.with(|d| d.set(0));
    let id = cyclegc::add_callback(|info| {
        if info.phase == cyclegc::Phase::Start {
            let a = liar(false, false);
            let b = liar(false, false);
            a.edges.borrow_mut().push(b.clone());
            b.edges.borrow_mut().push(a.clone());
            SAVED.with(|s| s.borrow_mut().push(a));
        }
    });
    let x = liar(false, false);
    x.edges.borrow_mut().push(x.clone());
    drop(x);
    assert_eq!(cyclegc::collect_generation(0), 1, "x alone");
    assert_eq!(DROPS.with(Cell::get), 1, "x only");
    cyclegc::remove_callback(id);
    let saved = SAVED.with(|s| std::mem::take(&mut *s.borrow_mut()));
    for s in &saved {
        assert!(Gc::try_deref(s).is_some());
        assert!(Gc::try_deref(&s.edges.borrow()[0]).is_some());
    }
    // The callback's two, candidates of the collection, survived it.
    lists_hold((0, 2, 0));
    drop(saved);
    cyclegc::collect();
    cyclegc::collect();
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}
