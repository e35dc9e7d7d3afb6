//! Deliberately wrong `Trace` impls: they may leak or panic, never cause
//! undefined behaviour (run these under AddressSanitizer too). Each test
//! cleans up what it leaked so that LeakSanitizer stays quiet.

mod common;

use std::cell::{Cell, RefCell};

use common::{drops_of, record_drop, reset_drops};
use cyclegc::{Gc, Trace, Tracer};

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Right) };
    static STASH: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    static FORGED: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
    /// A leaked handle, which `Mode::ForgeFromZero` also reports.
    static LEAKED: Cell<Option<&'static Gc<Node>>> = const { Cell::new(None) };
    static ZERO_CALLS: Cell<u32> = const { Cell::new(0) };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Right,
    /// Reports nothing.
    Missing,
    /// Node 0 reports every edge twice.
    Twice,
    /// Reports every edge five times.
    Five,
    /// Drops the node's own edges while being traced.
    Mutate,
    /// Clones its edges into a thread-local stash.
    Stash,
    /// Allocates new tracked objects while being traced.
    Allocate,
    /// Calls `collect` from inside the trace.
    Reenter,
    /// Also reports the thread-local `FORGED` handle, which it does not own.
    Forge,
    /// Only node 0 also reports `FORGED` and `LEAKED`.
    ForgeFromZero,
    /// Alternates between right and missing on every call.
    Flaky,
    /// Node 0 reports nothing from its second call on (in a collection of
    /// one garbage pair, the final check: it fails at node 1, after node 0
    /// passed and was marked).
    LateMissFromZero,
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
    fn trace(&self, tracer: &mut Tracer<'_>) {
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
            Mode::Forge => {
                self.next.trace(tracer);
                FORGED.with(|f| f.borrow().trace(tracer));
            }
            Mode::ForgeFromZero => {
                self.next.trace(tracer);
                if self.id == 0 {
                    FORGED.with(|f| f.borrow().trace(tracer));
                    if let Some(leaked) = LEAKED.with(Cell::get) {
                        leaked.trace(tracer);
                    }
                }
            }
            Mode::LateMissFromZero => {
                let first = self.id != 0 || ZERO_CALLS.with(|c| c.replace(c.get() + 1)) == 0;
                if first {
                    self.next.trace(tracer);
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

/// Node 0 traces its edge to node 1 twice, which matches node 1's count
/// while `b` is held here: trial deletion alone finds both unreachable.
/// The final check before dropping sees the handle reported twice and
/// abandons the collection, so a borrow held across it stays valid.
#[test]
fn duplicate_edges_are_caught_before_anything_is_dropped() {
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

const FATAL: &str = "cyclegc: fatal: a wrong_trace::Node found unreachable still has handles";

/// A handle the trace does not own (here one in a thread-local) matches
/// the target's count as well as an owned one would, so counting it would
/// drop the value under the caller's `&Node`. It lies outside the memory
/// the reporting object owns, so it is not counted: the target is kept,
/// and the garbage around it is still collected.
#[test]
fn foreign_handle_is_not_counted() {
    reset_drops(2);
    let a = node(0);
    let x = node(1);
    a.next.borrow_mut().push(a.clone());
    a.next.borrow_mut().push(x.clone());
    FORGED.with(|f| *f.borrow_mut() = Some(x.clone()));
    drop((a, x));
    set_mode(Mode::ForgeFromZero);
    FORGED.with(|f| {
        let held = f.borrow();
        let borrowed: &Node = held.as_ref().expect("set above");
        assert_eq!(cyclegc::collect(), 1, "node 0 only");
        // Were the forged edge counted, this would read a dropped `Vec`.
        assert_eq!(borrowed.payload, [1, 2, 3]);
    });
    set_mode(Mode::Right);
    assert_eq!((drops_of(0), drops_of(1)), (1, 0));
    let x = FORGED.with(|f| f.borrow_mut().take()).expect("still there");
    assert_eq!(Gc::strong_count(&x), 1);
    drop(x);
    assert_eq!(drops_of(1), 1);
}

thread_local! {
    /// A node some `Drop` reads through a plain reference.
    static WATCHED: Cell<Option<&'static Node>> = const { Cell::new(None) };
}

/// The same forged edge, with the target read during the collection by a
/// `Drop` of other garbage, through a `&'static Node` taken from a leaked
/// handle before it. Nothing the collector checks after the drops could
/// help here; not counting the forged edge keeps the target intact.
#[test]
fn foreign_handle_read_by_a_drop_of_other_garbage() {
    reset_drops(4);
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

/// Clones the leaked handle into its own value, reports it there and drops
/// the clone again: while it is reported, the clone lies in memory the
/// object owns, and by the end of each trace the count is back to normal.
struct Cloner {
    me: RefCell<Option<Gc<Cloner>>>,
    slot: RefCell<Option<Gc<Node>>>,
}

impl Trace for Cloner {
    fn trace(&self, tracer: &mut Tracer<'_>) {
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

/// The clone stands in for the leaked handle, the target's only one, in
/// both the counting and the final check; but the final check sees the
/// extra handle while it is reported, and abandons the collection.
#[test]
fn trace_that_reports_a_clone_it_drops_again() {
    reset_drops(3);
    let victim = leaked_victim();
    let c = Gc::new(Cloner {
        me: RefCell::new(None),
        slot: RefCell::new(None),
    });
    *c.me.borrow_mut() = Some(c.clone());
    drop(c);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!(drops_of(2), 0);
    assert_eq!(victim.payload, [1, 2, 3]);
    LEAKED.with(|l| l.set(None));
    assert_eq!(cyclegc::collect(), 1, "the cloner alone, once it stops");
    free_leaked_victim(victim);
}

/// Holds handles in a vector and, while being traced, reports them, moves
/// them to a new buffer and reports them again: each handle is reported
/// twice, from two addresses in memory it owns. Counts cannot tell that
/// from two owned handles; the handle this hides is found after the drops.
/// With `bomb`, its `Drop` panics with a [`PayloadBomb`].
struct Mover {
    me: RefCell<Option<Gc<Mover>>>,
    held: RefCell<Vec<Gc<Node>>>,
    bomb: bool,
}

impl Trace for Mover {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.me.trace(tracer);
        self.held.trace(tracer);
        if let Ok(mut held) = self.held.try_borrow_mut() {
            let mut moved = Vec::with_capacity(held.len());
            moved.append(&mut held);
            *held = moved;
        }
        self.held.trace(tracer);
    }
}

impl Drop for Mover {
    fn drop(&mut self) {
        if self.bomb {
            std::panic::panic_any(PayloadBomb);
        }
    }
}

/// A garbage [`Mover`] in a cycle with itself, holding `x`.
fn mover_cycle(x: &Gc<Node>, bomb: bool) {
    let m = Gc::new(Mover {
        me: RefCell::new(None),
        held: RefCell::new(vec![x.clone()]),
        bomb,
    });
    *m.me.borrow_mut() = Some(m.clone());
}

/// The one case of a wrong `Trace` the collector finds only after the
/// drops: a trace that moves handles between two reports of them. The
/// caller's handle outlives the drops, and the process aborts before the
/// collection returns.
#[test]
fn trace_that_moves_a_handle_between_two_reports_aborts() {
    common::expect_abort(
        "trace_that_moves_a_handle_between_two_reports_aborts",
        FATAL,
        || {
            let x = node(5);
            mover_cycle(&x, false);
            cyclegc::collect();
            // Without the abort this reads a dropped `Vec`.
            println!("still readable: {:?}", x.payload);
        },
    );
}

/// A panic payload whose own `Drop` panics.
struct PayloadBomb;

impl Drop for PayloadBomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics");
    }
}

/// The abort after the drops cannot be skipped: a second panic during the
/// drops, whose payload panics again when the collector drops it (a
/// collection keeps only the first), used to unwind out of the drops,
/// past the check, and back to the caller holding a reference into the
/// dropped value (found by review, a use-after-free under ASan).
#[test]
fn a_panicking_panic_payload_does_not_skip_the_abort() {
    common::expect_abort(
        "a_panicking_panic_payload_does_not_skip_the_abort",
        FATAL,
        || {
            let x = node(6);
            mover_cycle(&x, true);
            // Keeps a first panic, so that the bomb is the second.
            let id = cyclegc::add_callback(|info| {
                if info.phase == cyclegc::Phase::Start {
                    panic!("first panic");
                }
            });
            let r: &Node = &x;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(cyclegc::collect));
            cyclegc::remove_callback(id);
            println!("still readable: {:?}", r.payload);
        },
    );
}

#[test]
fn overcounting_is_detected_and_abandons_the_collection() {
    reset_drops(2);
    set_mode(Mode::Five);
    let (a, b) = pair();
    drop((a.clone(), b));
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
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
fn trace_that_forges_a_foreign_handle() {
    reset_drops(3);
    let victim = node(2);
    victim.next.borrow_mut().push(victim.clone()); // self-cycle
    FORGED.with(|f| *f.borrow_mut() = Some(victim.clone()));
    let weak_victim = Gc::downgrade(&victim);
    drop(victim);
    set_mode(Mode::Forge);
    let (a, b) = pair();
    drop((a, b));
    cyclegc::collect();
    set_mode(Mode::Right);
    // The victim (held by a thread-local the trace does not own) may have
    // been dropped; its handle must say so rather than read freed data.
    let forged = FORGED.with(|f| f.borrow_mut().take()).expect("still there");
    match Gc::try_deref(&forged) {
        Some(v) => {
            assert_eq!(v.payload, [1, 2, 3]);
            cleanup(&[&forged]);
        }
        None => assert!(weak_victim.upgrade().is_none()),
    }
    drop(forged);
    cyclegc::collect();
    assert_eq!((drops_of(0), drops_of(1), drops_of(2)), (1, 1, 1));
}

#[test]
fn a_check_failing_after_marks_were_made_takes_them_back() {
    reset_drops(2);
    let errors = cyclegc::stats()[2].trace_errors;
    let (a, b) = pair();
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    ZERO_CALLS.with(|c| c.set(0));
    set_mode(Mode::LateMissFromZero);
    assert_eq!(cyclegc::collect(), 0, "abandoned");
    set_mode(Mode::Right);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    // Neither looks dropped: the mark the check put on node 0 before it
    // failed at node 1 is gone.
    let (a, b) = (
        wa.upgrade().expect("a intact"),
        wb.upgrade().expect("b intact"),
    );
    assert_eq!((a.payload.len(), b.payload.len()), (3, 3));
    drop((a, b));
    assert_eq!(cyclegc::collect(), 2);
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
    fn trace(&self, tracer: &mut Tracer<'_>) {
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
    static VICTIM_STASH: RefCell<Vec<Gc<Victim>>> = const { RefCell::new(Vec::new()) };
    static STASHED: Cell<usize> = const { Cell::new(0) };
}

/// Has a finalizer that, on the reference-counting path, upgrades its own
/// `Weak` into `STASHED` handles in a thread-local and runs a collection.
struct Victim {
    id: usize,
    me: RefCell<cyclegc::Weak<Victim>>,
}

impl Trace for Victim {
    const FINALIZE: bool = true;
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn finalize(&self) {
        for _ in 0..STASHED.with(Cell::get) {
            let me = self.me.borrow().upgrade().expect("finalizing: upgrades");
            VICTIM_STASH.with(|s| s.borrow_mut().push(me));
        }
        cyclegc::collect();
        if STASHED.with(Cell::get) == 1 {
            // Leave the box held by the temporary count alone.
            drop(VICTIM_STASH.with(|s| s.borrow_mut().pop()));
        }
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        record_drop(self.id);
    }
}

/// In a cycle with itself; also reports the stashed `Victim` handles,
/// which it does not own, and the first of them a second time after moving
/// them all to a new buffer. With the finalizer's temporary count (which
/// no handle stands for) that matches the victim's count, and the handle
/// reported twice has two addresses: were such handles counted, neither
/// the trial deletion nor the final check could tell.
struct Forger {
    me: RefCell<Option<Gc<Forger>>>,
}

impl Trace for Forger {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.me.trace(tracer);
        let _ = VICTIM_STASH.try_with(|s| {
            let Ok(mut stash) = s.try_borrow_mut() else {
                return;
            };
            if stash.is_empty() {
                return;
            }
            stash.trace(tracer);
            let mut moved = Vec::with_capacity(stash.len());
            moved.append(&mut stash);
            *stash = moved;
            stash[0].trace(tracer);
        });
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
/// reports from a thread-local: counted, they would match the victim's
/// count and let the nested collection drop the value under its running
/// finalizer. Not counted, the victim is kept; it dies by reference
/// counting once its finalizer returns, or lives on in the stash
/// (resurrected), and its finalizer never runs again.
fn victim_survives_its_finalizer(stashed: usize) {
    reset_drops(3);
    let before = cyclegc::stats()[2].collected;
    drop(victim_and_forger(2, stashed));
    assert_eq!(cyclegc::stats()[2].collected, before + 1, "the forger only");
    let stash = VICTIM_STASH.with(|s| std::mem::take(&mut *s.borrow_mut()));
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
}

#[test]
fn forged_handles_leave_a_finalizing_value_alone() {
    victim_survives_its_finalizer(1);
}

#[test]
fn forged_handles_leave_a_finalizing_value_alone_and_it_resurrects() {
    victim_survives_its_finalizer(2);
}

/// A collection abandoned for a trace error keeps every object, so the
/// survivors still count as long-lived for CPython's 25% rule (they used to
/// reset it to zero, letting every later full collection through).
#[test]
fn abandoned_full_collection_keeps_the_long_lived_count() {
    reset_drops(2);
    set_mode(Mode::Right);
    let keep: Vec<_> = (0..1000).map(|_| node(10)).collect();
    let (a, b) = pair();
    cyclegc::collect();
    set_mode(Mode::Five);
    let errors = cyclegc::stats()[2].trace_errors;
    assert_eq!(cyclegc::collect(), 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
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

/// Node 0 reports its edge to node 1 twice; node 1 has three handles (from
/// nodes 0 and 3, and `held`), so the check has to find the duplicate
/// among the addresses it sorts.
#[test]
fn duplicate_edge_into_an_object_with_three_handles_is_caught() {
    reset_drops(4);
    set_mode(Mode::Twice);
    let n: Vec<_> = [0, 1, 3].into_iter().map(node).collect();
    let (n0, n1, n3) = (&n[0], &n[1], &n[2]);
    n0.next.borrow_mut().push(n1.clone());
    n1.next.borrow_mut().push(n0.clone());
    n1.next.borrow_mut().push(n3.clone());
    n3.next.borrow_mut().push(n1.clone());
    let held = n1.clone();
    drop(n);
    let errors = cyclegc::stats()[2].trace_errors;
    let borrowed: &Node = &held;
    // The duplicate hides `held`: trial deletion finds all three
    // unreachable.
    let found = cyclegc::collect();
    set_mode(Mode::Right);
    assert_eq!(found, 0);
    assert_eq!(cyclegc::stats()[2].trace_errors, errors + 1);
    assert_eq!(borrowed.payload, [1, 2, 3]);
    assert_eq!(common::total_drops(), 0);
    cleanup(&[&held]);
    drop(held);
    assert_eq!((drops_of(0), drops_of(1), drops_of(3)), (1, 1, 1));
}
