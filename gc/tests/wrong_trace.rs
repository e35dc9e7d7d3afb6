//! Deliberately wrong `Trace` impls: they may leak or panic, never cause
//! undefined behaviour (run these under AddressSanitizer too). Each test
//! cleans up what it leaked so that LeakSanitizer stays quiet.
//!
//! Safe code cannot name a part it does not reach from `&'a self` (a
//! handle borrowed from a `RefCell` or a thread-local does not compile),
//! so the foreign handles here are leaked ones (`&'static`).

mod common;

use std::cell::{Cell, RefCell};

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{Gc, Trace, Tracer};

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Right) };
    static STASH: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    /// A leaked handle, which `Mode::ForgeFromZero` also names.
    static LEAKED: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Right,
    /// Reports nothing.
    Missing,
    /// Node 0 names its edges twice.
    Twice,
    /// Names its edges five times.
    Five,
    /// Drops the node's own edges while being traced.
    Mutate,
    /// Clones its edges into a thread-local stash.
    Stash,
    /// Allocates new tracked objects while being traced.
    Allocate,
    /// Calls `collect` from inside the trace.
    Reenter,
    /// Node 0 also names the leaked handle `LEAKED`, which it does not own.
    ForgeFromZero,
    /// Alternates between right and missing on every call.
    Flaky,
}

fn set_mode(m: Mode) {
    MODE.with(|c| c.set(m));
}

struct Node {
    id: usize,
    payload: Vec<u64>,
    next: RefCell<Vec<Gc<Node>>>,
}

impl Trace for Node {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        match MODE.with(Cell::get) {
            Mode::Right => self.next.trace(tracer),
            Mode::Missing => {}
            Mode::Twice => {
                self.next.trace(tracer);
                if self.id == 0 {
                    self.next.trace(tracer);
                }
            }
            Mode::Five => {
                for _ in 0..5 {
                    self.next.trace(tracer);
                }
            }
            Mode::Mutate => {
                if let Ok(mut v) = self.next.try_borrow_mut() {
                    v.clear();
                }
            }
            Mode::Stash => {
                let copies: Vec<_> = self.next.borrow().iter().cloned().collect();
                STASH.with(|s| s.borrow_mut().extend(copies));
                self.next.trace(tracer);
            }
            Mode::Allocate => {
                let extra = node(900);
                extra.next.borrow_mut().push(extra.clone());
                self.next.trace(tracer);
            }
            Mode::Reenter => {
                assert_eq!(cyclegc::collect(), 0);
                self.next.trace(tracer);
            }
            Mode::ForgeFromZero => {
                self.next.trace(tracer);
                if self.id == 0
                    && let Some(leaked) = LEAKED.with(Cell::get)
                {
                    leaked.trace(tracer);
                }
            }
            Mode::Flaky => {
                thread_local!(static FLIP: Cell<bool> = const { Cell::new(false) });
                if FLIP.with(|f| f.replace(!f.get())) {
                    self.next.trace(tracer);
                }
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Reads its own heap data: ASan flags it if this ran on freed memory.
        assert_eq!(self.payload.len(), 3);
        if let Some(watched) = WATCHED.with(Cell::get)
            && !std::ptr::eq(watched, self)
        {
            assert_eq!(watched.payload, [1, 2, 3], "watched node intact");
        }
        record_drop(self.id);
    }
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        payload: vec![1, 2, 3],
        next: RefCell::new(Vec::new()),
    })
}

fn pair() -> (Gc<Node>, Gc<Node>) {
    let a = node(0);
    let b = node(1);
    a.next.borrow_mut().push(b.clone());
    b.next.borrow_mut().push(a.clone());
    (a, b)
}

/// Breaks whatever cycle these nodes are in and drops them.
fn cleanup(nodes: &[&Gc<Node>]) {
    for n in nodes {
        if let Some(n) = Gc::try_deref(n) {
            n.next.borrow_mut().clear();
        }
    }
}

#[test]
fn missing_edges_leak_but_stay_intact() {
    reset_drops(2);
    set_mode(Mode::Missing);
    let (a, b) = pair();
    let wa = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(
        cyclegc::collect(),
        0,
        "the cycle looks referenced from outside"
    );
    assert_eq!(drops_of(0) + drops_of(1), 0);
    let a = wa.upgrade().expect("leaked, alive");
    assert_eq!(a.payload, [1, 2, 3]);
    set_mode(Mode::Right);
    cleanup(&[&a]);
    drop(a);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

/// Node 0 names its edge list twice: counted twice, that would match node
/// 1's count while `b` is held here, and trial deletion would find both
/// unreachable. The collector sees the overlap and counts none of node 0's
/// edges (a trace error), so a borrow held across it stays valid.
#[test]
fn a_part_named_twice_is_not_counted() {
    reset_drops(2);
    set_mode(Mode::Twice);
    let (a, b) = pair();
    drop(a);
    let errors = cyclegc::stats()[2].trace_errors;
    let borrowed: &Node = &b;
    let found = cyclegc::collect();
    set_mode(Mode::Right);
    assert_eq!(found, 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!((drops_of(0), drops_of(1)), (0, 0));
    assert_eq!(borrowed.payload, [1, 2, 3], "the borrow is still valid");
    assert!(cyclegc::is_tracked(&b));
    assert_eq!(Gc::strong_count(&b), 2, "pins released");
    cleanup(&[&b]);
    drop(b);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

thread_local! {
    /// A node some `Drop` reads through a plain reference.
    static WATCHED: Cell<Option<&'static Node>> = const { Cell::new(None) };
}

/// A handle the trace does not own (a leaked one) would match the target's
/// count as well as an owned one: counted, it would drop the value while a
/// `&'static Node` to it is in use, here by the `Drop` of the garbage
/// around it. It does not lie in the reporting value, so it is not
/// counted: the target is kept, and the garbage is still collected.
#[test]
fn foreign_handle_is_not_counted() {
    reset_drops(3);
    let victim = leaked_victim();
    // Made after the victim, so their values are dropped after its would be.
    for id in [0, 1] {
        let n = node(id);
        n.next.borrow_mut().push(n.clone());
    }
    set_mode(Mode::ForgeFromZero);
    assert_eq!(cyclegc::collect(), 2);
    set_mode(Mode::Right);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
    free_leaked_victim(victim);
}

/// Node 2, leaked (the leaked handle is its only one), in `LEAKED` and
/// `WATCHED`.
fn leaked_victim() -> &'static Gc<Node> {
    let victim: &'static Gc<Node> = Box::leak(Box::new(node(2)));
    LEAKED.with(|l| l.set(Some(victim)));
    WATCHED.with(|w| w.set(Some(&**victim)));
    victim
}

/// Checks that the leaked victim is intact and was never dropped, then
/// frees it.
fn free_leaked_victim(victim: &'static Gc<Node>) {
    WATCHED.with(|w| w.set(None));
    LEAKED.with(|l| l.set(None));
    assert_eq!(drops_of(2), 0);
    assert_eq!(victim.payload, [1, 2, 3]);
    // SAFETY: `victim` came from `Box::leak` in `leaked_victim`, and no
    // reference derived from it is used after this.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(victim).cast_mut()) });
    assert_eq!(drops_of(2), 1);
}

/// Clones the leaked handle into its own value, names it there and drops
/// the clone again: while it is named, the clone lies in memory the
/// object owns, and by the end of each trace the count is back to normal.
struct Cloner {
    me: RefCell<Option<Gc<Cloner>>>,
    slot: RefCell<Option<Gc<Node>>>,
}

impl Trace for Cloner {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        if let Some(leaked) = LEAKED.with(Cell::get) {
            *self.slot.borrow_mut() = Some(leaked.clone());
            self.slot.trace(tracer);
            self.slot.borrow_mut().take();
        }
    }
}

impl Drop for Cloner {
    fn drop(&mut self) {
        if let Some(watched) = WATCHED.with(Cell::get) {
            assert_eq!(watched.payload, [1, 2, 3], "watched node intact");
        }
    }
}

/// Counted while it is named, the clone would stand in for the leaked
/// handle, the target's only one. But nothing is counted before every
/// trace has run, and by then the slot is empty: the cloner is collected,
/// the target kept, and nothing was wrong.
#[test]
fn trace_that_names_a_clone_it_drops_again() {
    reset_drops(3);
    let victim = leaked_victim();
    let c = Gc::new(Cloner {
        me: RefCell::new(None),
        slot: RefCell::new(None),
    });
    *c.me.borrow_mut() = Some(c.clone());
    drop(c);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 1, "the cloner");
    assert_eq!(cyclegc::stats()[2].trace_errors, errors);
    assert_eq!(drops_of(2), 0);
    assert_eq!(victim.payload, [1, 2, 3]);
    LEAKED.with(|l| l.set(None));
    free_leaked_victim(victim);
}

/// While being traced, names one vector, moves its handles to another and
/// names that: one handle named from two places of its value. With `same`,
/// it moves them to a new buffer of the same vector and names it again.
struct Mover {
    me: RefCell<Option<Gc<Mover>>>,
    held: RefCell<Vec<Gc<Node>>>,
    other: RefCell<Vec<Gc<Node>>>,
    same: Cell<bool>,
}

impl Trace for Mover {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        self.held.trace(tracer);
        let to = if self.same.get() {
            &self.held
        } else {
            &self.other
        };
        if let Ok(mut held) = self.held.try_borrow_mut() {
            let mut moved = Vec::with_capacity(held.len());
            moved.append(&mut held);
            drop(held);
            to.borrow_mut().append(&mut moved);
        }
        to.trace(tracer);
    }
}

/// A garbage [`Mover`] in a cycle with itself, holding `x`.
fn mover_cycle(x: &Gc<Node>, same: bool) -> cyclegc::Weak<Mover> {
    let m = Gc::new(Mover {
        me: RefCell::new(None),
        held: RefCell::new(vec![x.clone()]),
        other: RefCell::new(Vec::new()),
        same: Cell::new(same),
    });
    *m.me.borrow_mut() = Some(m.clone());
    Gc::downgrade(&m)
}

/// Counted as it is named, the moved handle would be counted twice, and
/// `x`'s value dropped while the caller holds a reference into it (this
/// used to abort the process after the drops). Counted once every trace has
/// run, it is counted once, where it ended up.
#[test]
fn trace_that_moves_a_handle_between_two_parts() {
    reset_drops(6);
    let x = node(5);
    let borrowed: &Node = &x;
    mover_cycle(&x, false);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 1, "the mover");
    assert_eq!(cyclegc::stats()[2].trace_errors, errors);
    assert_eq!(borrowed.payload, [1, 2, 3]);
    assert_eq!(drops_of(5), 0);
    assert_eq!(Gc::strong_count(&x), 1, "the mover's handle went with it");
}

/// Moving the handles within one part and naming it again names the same
/// part twice: none of the mover's edges count (a trace error), so it
/// leaks while it does that, and `x` is kept.
#[test]
fn trace_that_names_a_part_again_after_moving_its_handles() {
    reset_drops(6);
    let x = node(5);
    let borrowed: &Node = &x;
    let weak = mover_cycle(&x, true);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!(borrowed.payload, [1, 2, 3]);
    weak.upgrade().expect("kept").same.set(false);
    assert_eq!(
        cyclegc::collect(),
        1,
        "the mover, once it names each part once"
    );
    assert_eq!(Gc::strong_count(&x), 1);
}

/// Steals the handles of the leaked victim's edge list into its own value
/// while being traced, and names them there.
struct Thief {
    me: RefCell<Option<Gc<Thief>>>,
    loot: RefCell<Vec<Gc<Node>>>,
}

impl Trace for Thief {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        if let Some(victim) = LEAKED.with(Cell::get) {
            let stolen = std::mem::take(&mut *victim.next.borrow_mut());
            self.loot.borrow_mut().extend(stolen);
        }
        self.loot.trace(tracer);
    }
}

/// A handle moved from another object (one the collector may have
/// traced already) into the thief's value is counted once, where it is
/// when the counting starts.
#[test]
fn trace_that_steals_a_handle_from_another_object() {
    reset_drops(6);
    let victim = leaked_victim();
    let x = node(5);
    victim.next.borrow_mut().push(x.clone());
    let borrowed: &Node = &x;
    let thief = Gc::new(Thief {
        me: RefCell::new(None),
        loot: RefCell::new(Vec::new()),
    });
    *thief.me.borrow_mut() = Some(thief.clone());
    drop(thief);
    assert_eq!(cyclegc::collect(), 1, "the thief");
    assert_eq!(borrowed.payload, [1, 2, 3]);
    assert_eq!(
        Gc::strong_count(&x),
        1,
        "the stolen handle went with the thief"
    );
    assert!(victim.next.borrow().is_empty());
    free_leaked_victim(victim);
}

/// Both nodes name their edges five times: none of them is counted.
#[test]
fn overcounting_is_not_counted() {
    reset_drops(2);
    set_mode(Mode::Five);
    let (a, b) = pair();
    drop((a.clone(), b));
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 2);
    assert_eq!(drops_of(0) + drops_of(1), 0);
    assert_eq!(a.payload, [1, 2, 3]);
    assert_eq!(Gc::strong_count(&a), 2, "pins released");
    set_mode(Mode::Right);
    drop(a);
    assert_eq!(cyclegc::collect(), 2);
}

#[test]
fn trace_that_mutates_the_graph() {
    reset_drops(3);
    set_mode(Mode::Mutate);
    let (a, b) = pair();
    let c = node(2);
    c.next.borrow_mut().push(c.clone());
    drop((a, b, c));
    // Tracing empties the edge lists: values are released by reference
    // counting in the middle of the collection, which must cope.
    cyclegc::collect();
    set_mode(Mode::Right);
    cyclegc::collect();
    assert_eq!((drops_of(0), drops_of(1), drops_of(2)), (1, 1, 1));
}

#[test]
fn trace_that_stashes_handles() {
    reset_drops(2);
    set_mode(Mode::Stash);
    let (a, b) = pair();
    drop((a, b));
    cyclegc::collect();
    set_mode(Mode::Right);
    // The stash holds handles made during the collection. Whatever the
    // collector decided, using them is safe.
    let stash = STASH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    assert!(!stash.is_empty());
    for g in &stash {
        if let Some(n) = Gc::try_deref(g) {
            assert_eq!(n.payload, [1, 2, 3]);
        }
    }
    let refs: Vec<&Gc<Node>> = stash.iter().collect();
    cleanup(&refs);
    drop(stash);
    cyclegc::collect();
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[test]
fn trace_that_allocates() {
    reset_drops(1000);
    set_mode(Mode::Allocate);
    let (a, b) = pair();
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
    set_mode(Mode::Right);
    // The objects born during that collection were not candidates of it.
    assert!(drops_of(900) == 0);
    cyclegc::collect();
    assert!(drops_of(900) >= 2);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[test]
fn trace_that_reenters_the_collector() {
    reset_drops(2);
    set_mode(Mode::Reenter);
    let (a, b) = pair();
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
    set_mode(Mode::Right);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[test]
fn flaky_trace() {
    reset_drops(2);
    set_mode(Mode::Flaky);
    let (a, b) = pair();
    drop((a, b));
    for _ in 0..6 {
        cyclegc::collect();
    }
    set_mode(Mode::Right);
    cyclegc::collect();
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

/// Claims it cannot hold a `Gc`, but does.
struct Liar {
    next: RefCell<Option<Gc<Liar>>>,
}

impl Trace for Liar {
    const MAY_CONTAIN_GC: bool = false;
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.next.trace(tracer);
    }
}

#[test]
fn wrong_may_contain_gc_only_leaks() {
    let a = Gc::new(Liar {
        next: RefCell::new(None),
    });
    assert!(!cyclegc::is_tracked(&a));
    *a.next.borrow_mut() = Some(a.clone());
    let w = Gc::downgrade(&a);
    drop(a);
    assert_eq!(cyclegc::collect(), 0);
    let a = w.upgrade().expect("leaked, not freed");
    a.next.borrow_mut().take();
    drop(a);
    assert!(w.upgrade().is_none());
}

thread_local! {
    /// Leaked while a test runs, so that a trace can name it.
    static VICTIM_STASH: Cell<Option<&'static RefCell<Vec<Gc<Victim>>>>> =
        const { Cell::new(None) };
    static STASHED: Cell<usize> = const { Cell::new(0) };
}

/// The victims' stash.
fn victim_stash() -> &'static RefCell<Vec<Gc<Victim>>> {
    VICTIM_STASH.with(Cell::get).expect("set by the test")
}

/// Has a finalizer that, on the reference-counting path, upgrades its own
/// `Weak` into `STASHED` handles in a thread-local and runs a collection.
struct Victim {
    id: usize,
    me: RefCell<cyclegc::Weak<Victim>>,
}

impl Trace for Victim {
    const FINALIZE: bool = true;
    fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
    fn finalize(&self) {
        for _ in 0..STASHED.with(Cell::get) {
            let me = self.me.borrow().upgrade().expect("finalizing: upgrades");
            victim_stash().borrow_mut().push(me);
        }
        cyclegc::collect();
        if STASHED.with(Cell::get) == 1 {
            // Leave the box held by the temporary count alone.
            drop(victim_stash().borrow_mut().pop());
        }
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        record_drop(self.id);
    }
}

/// In a cycle with itself; also names the stash of `Victim` handles,
/// which it does not own, twice, moving them to a new buffer in between.
/// With the finalizer's temporary count (which no handle stands for),
/// counted twice, they would match the victim's count.
struct Forger {
    me: RefCell<Option<Gc<Forger>>>,
}

impl Trace for Forger {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.me.trace(tracer);
        let Some(stash) = VICTIM_STASH.try_with(Cell::get).ok().flatten() else {
            return;
        };
        stash.trace(tracer);
        if let Ok(mut held) = stash.try_borrow_mut() {
            let mut moved = Vec::with_capacity(held.len());
            moved.append(&mut held);
            *held = moved;
        }
        stash.trace(tracer);
    }
}

fn victim_and_forger(id: usize, stashed: usize) -> Gc<Victim> {
    STASHED.with(|s| s.set(stashed));
    let forger = Gc::new(Forger {
        me: RefCell::new(None),
    });
    *forger.me.borrow_mut() = Some(forger.clone());
    drop(forger);
    let v = Gc::new(Victim {
        id,
        me: RefCell::new(cyclegc::Weak::new()),
    });
    *v.me.borrow_mut() = Gc::downgrade(&v);
    v
}

/// The finalizer's temporary count is an outside reference (the finalizer
/// holds `&self`), and so are the stashed handles, which the `Forger`
/// names outside its value: counted, they would match the victim's
/// count and let the nested collection drop the value under its running
/// finalizer. Not counted, the victim is kept; it dies by reference
/// counting once its finalizer returns, or lives on in the stash
/// (resurrected), and its finalizer never runs again.
fn victim_survives_its_finalizer(stashed: usize) {
    reset_drops(3);
    let leaked: &'static RefCell<Vec<Gc<Victim>>> = Box::leak(Box::default());
    VICTIM_STASH.with(|s| s.set(Some(leaked)));
    let before = cyclegc::stats()[2].collected;
    drop(victim_and_forger(2, stashed));
    assert_eq!(cyclegc::stats()[2].collected, before + 1, "the forger only");
    let stash = std::mem::take(&mut *leaked.borrow_mut());
    // The finalizer takes back its one stashed handle, and keeps two.
    assert_eq!(stash.len(), if stashed == 1 { 0 } else { stashed });
    if let Some(v) = stash.first() {
        assert_eq!(drops_of(2), 0, "resurrected");
        assert_eq!(v.id, 2);
        assert!(cyclegc::is_finalized(v));
    }
    STASHED.with(|s| s.set(0));
    drop(stash);
    assert_eq!(drops_of(2), 1);
    VICTIM_STASH.with(|s| s.set(None));
    // SAFETY: `leaked` came from `Box::leak` above, and nothing derived
    // from it is used after this.
    drop(unsafe { Box::from_raw(std::ptr::from_ref(leaked).cast_mut()) });
}

#[test]
fn forged_handles_leave_a_finalizing_value_alone() {
    victim_survives_its_finalizer(1);
}

#[test]
fn forged_handles_leave_a_finalizing_value_alone_and_it_resurrects() {
    victim_survives_its_finalizer(2);
}

/// A collection with trace errors keeps the objects whose edges it could
/// not count, and they count as long-lived for CPython's 25% rule. (The
/// abandoned collection, which a hand-written trace no longer causes, is
/// tested the same way in `overcount.rs`.)
#[test]
fn a_collection_with_trace_errors_keeps_the_long_lived_count() {
    reset_drops(2);
    set_mode(Mode::Right);
    let keep: Vec<_> = (0..1000).map(|_| node(10)).collect();
    let (a, b) = pair();
    cyclegc::collect();
    set_mode(Mode::Five);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(
        cyclegc::stats()[2].trace_errors,
        errors + 1002,
        "every node named its parts five times"
    );
    set_mode(Mode::Right);
    let full_before = cyclegc::stats()[2].collections;
    cyclegc::set_threshold(2, 1, 0);
    let more: Vec<_> = (0..30).map(|_| node(11)).collect();
    cyclegc::set_threshold(2000, 10, 10);
    assert_eq!(
        cyclegc::stats()[2].collections,
        full_before,
        "30 new survivors are far below 25% of 1000 long-lived objects"
    );
    cleanup(&[&a, &b]);
    drop((a, b, keep, more));
}

/// Names its (empty) vector twice: a trace error, with no edge lost.
struct NamesTwice {
    v: Vec<Gc<NamesTwice>>,
}

impl Trace for NamesTwice {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.v.trace(tracer);
        self.v.trace(tracer);
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct Finalized {
    me: RefCell<Option<Gc<Finalized>>>,
    other: RefCell<Option<Gc<NamesTwice>>>,
}

impl cyclegc::Finalize for Finalized {
    fn finalize(&self) {}
}

/// The resurrection check after the finalizers runs the hand-written
/// traces again; the object that named a part twice is one trace error all
/// the same (found by review: it counted twice).
#[test]
fn one_wrong_object_is_one_trace_error_per_collection() {
    cyclegc::collect();
    let f = Gc::new(Finalized {
        me: RefCell::new(None),
        other: RefCell::new(Some(Gc::new(NamesTwice { v: Vec::new() }))),
    });
    *f.me.borrow_mut() = Some(f.clone());
    drop(f);
    let before = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 2);
    assert_eq!(cyclegc::stats()[2].trace_errors, before + 1);
}
