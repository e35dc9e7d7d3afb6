//! One thread's collector, like one CPython interpreter's `gcstate`: the
//! generation lists, the allocation count and thresholds that trigger
//! collections, freezing, and the thread-exit collection.
//!
//! # Invariants
//! - `STATE` is a `const`-initialised thread local without a destructor, so
//!   it is reachable from every destructor that runs at thread exit and its
//!   address never changes; `state()` hands out references to it that never
//!   leave the thread (`State` is `!Sync`).
//! - Generation sizes are not maintained (that would cost every allocation
//!   and release); like CPython's `gc_list_size`, they are counted by
//!   walking the lists when asked for.
//! - `counts[0]` is tracked allocations minus deallocations since the last
//!   collection; `counts[1]` and `counts[2]` count collections of the
//!   generation below since the last collection of their own, as in CPython.
//! - `trigger` is threshold 0 plus one while automatic collection may run,
//!   `usize::MAX` while it may not, and 0 until the state is initialised, so
//!   `Gc::new` needs one comparison (`counts[0] >= trigger`) to find both
//!   the first allocation and a due collection.
//! - While `collecting` is set no collection starts (nested calls return 0).
//! - A thread that used the collector gets two exit collections: one when
//!   `EXIT`, a thread-local, is destroyed, and one in a pthread key
//!   destructor, which glibc runs after every thread-local destructor, for
//!   cycles whose last root was a thread-local destroyed after `EXIT`.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use crate::collect as collection;
use crate::gc::Gc;
use crate::hooks::GenerationStats;
use crate::list::{self, COLLECTING, FINALIZED, FLAGS, GEN_MASK, Links, NEWBORN, OUTSIDE};

/// Default thresholds: CPython 3.13's.
const DEFAULT_THRESHOLDS: [usize; 3] = [2000, 10, 10];

/// The per-thread collector state.
pub(crate) struct State {
    /// Generations 0, 1, 2 and the permanent generation (frozen objects).
    pub(crate) gens: [Links; 4],
    /// Candidates of the running collection.
    pub(crate) young: Links,
    /// Tentatively unreachable candidates.
    pub(crate) unreachable: Links,
    /// Confirmed garbage, after finalizers and the resurrection check.
    pub(crate) garbage: Links,
    /// CPython's per-generation counts (`gc.get_count()`).
    pub(crate) counts: [Cell<usize>; 3],
    /// CPython's thresholds (`gc.get_threshold()`).
    pub(crate) thresholds: [Cell<usize>; 3],
    /// See the module invariants.
    trigger: Cell<usize>,
    pub(crate) enabled: Cell<bool>,
    pub(crate) collecting: Cell<bool>,
    pub(crate) debug: Cell<bool>,
    /// Survivors of the last full collection.
    pub(crate) long_lived_total: Cell<usize>,
    /// Objects that reached generation 2 since then.
    pub(crate) long_lived_pending: Cell<usize>,
    pub(crate) stats: [Cell<GenerationStats>; 3],
    /// Number of registered callbacks (saves touching their storage).
    pub(crate) callback_count: Cell<usize>,
    /// `NEWBORN` while a collection runs, else 0: the word of a box linked
    /// into generation 0.
    newborn_mark: Cell<usize>,
    /// What `freeze`/`unfreeze` calls made during a collection add up to.
    deferred_freeze: Cell<Deferred>,
    /// Set while a tracked release runs; nested ones are queued.
    pub(crate) releasing: Cell<bool>,
    /// Intrusive stack of boxes awaiting release, linked through `next`.
    release_queue: Cell<*const Links>,
    initialized: Cell<bool>,
}

thread_local! {
    static STATE: State = const { State::new() };
    static EXIT: ExitCollection = const { ExitCollection };
}

/// This thread's collector.
#[inline]
pub(crate) fn state() -> &'static State {
    // SAFETY: `STATE` has no destructor and lives as long as the thread; the
    // reference is `!Send`, so it cannot outlive the thread elsewhere.
    STATE.with(|s| unsafe { &*(s as *const State) })
}

/// The net effect of the `freeze`/`unfreeze` calls made during a
/// collection, applied when it ends: a later `freeze` overrides everything
/// before it, a later `unfreeze` keeps an earlier `freeze`'s move.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Deferred {
    Nothing,
    Freeze,
    Unfreeze,
    FreezeThenUnfreeze,
}

impl State {
    /// Updates the statistics of `generation` in place.
    pub(crate) fn update_stats(
        &self,
        generation: usize,
        update: impl FnOnce(&mut GenerationStats),
    ) {
        let mut stats = self.stats[generation].get();
        update(&mut stats);
        self.stats[generation].set(stats);
    }

    const fn new() -> State {
        State {
            gens: [const { Links::sentinel() }; 4],
            young: Links::sentinel(),
            unreachable: Links::sentinel(),
            garbage: Links::sentinel(),
            counts: [const { Cell::new(0) }; 3],
            thresholds: [
                Cell::new(DEFAULT_THRESHOLDS[0]),
                Cell::new(DEFAULT_THRESHOLDS[1]),
                Cell::new(DEFAULT_THRESHOLDS[2]),
            ],
            trigger: Cell::new(0),
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            debug: Cell::new(false),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            stats: [const { Cell::new(GenerationStats::ZERO) }; 3],
            callback_count: Cell::new(0),
            newborn_mark: Cell::new(0),
            deferred_freeze: Cell::new(Deferred::Nothing),
            releasing: Cell::new(false),
            release_queue: Cell::new(std::ptr::null()),
            initialized: Cell::new(false),
        }
    }

    /// Links the sentinels to themselves and arranges the thread-exit
    /// collection. Runs once per thread, on first use.
    #[cold]
    pub(crate) fn init(&self) {
        if self.initialized.replace(true) {
            return;
        }
        for head in self
            .gens
            .iter()
            .chain([&self.young, &self.unreachable, &self.garbage])
        {
            // SAFETY: the sentinels live in `STATE`, which never moves.
            unsafe { list::init(head) };
        }
        // Touching `EXIT` registers its destructor. If the thread is already
        // exiting this fails, and only the late collection runs.
        let _ = EXIT.try_with(|_| {});
        if let Some(key) = late_exit_key() {
            // SAFETY: the key is valid; the value only has to be non-null
            // for glibc to run the destructor. If glibc cannot store it,
            // only the late collection is missed.
            unsafe { libc::pthread_setspecific(key, std::ptr::without_provenance_mut(1)) };
        }
        self.update_trigger();
    }

    /// Recomputes `trigger` after any change to its inputs.
    pub(crate) fn update_trigger(&self) {
        let t0 = self.thresholds[0].get();
        let on = self.enabled.get() && !self.collecting.get() && t0 != 0;
        self.trigger.set(if !self.initialized.get() {
            0
        } else if on {
            t0.saturating_add(1)
        } else {
            usize::MAX
        });
    }

    /// Whether no generation holds a box: a collection would find nothing.
    pub(crate) fn is_empty(&self) -> bool {
        // SAFETY: the sentinels live in this state (one never initialised
        // reads as empty).
        self.gens[..3].iter().all(|g| unsafe { list::is_empty(g) })
    }

    /// The number of boxes in generation list `generation` (a walk).
    pub(crate) fn len(&self, generation: usize) -> usize {
        // SAFETY: the sentinel lives in this state.
        unsafe { list::len(&self.gens[generation]) }
    }

    /// Marks the start or end of a collection for boxes linked meanwhile.
    pub(crate) fn set_collecting(&self, on: bool) {
        self.collecting.set(on);
        self.newborn_mark.set(if on { NEWBORN } else { 0 });
        self.update_trigger();
    }

    /// Clears `NEWBORN` from generation 0 (which holds only boxes linked
    /// during the collection that just ended) and applies a `freeze` or
    /// `unfreeze` requested meanwhile.
    pub(crate) fn settle_after_collection(&self) {
        let head: *const Links = &self.gens[0];
        // SAFETY: the sentinel lives in this state; `is_empty` reads an
        // uninitialised one as empty, and the ring keeps its nodes live.
        unsafe {
            if !list::is_empty(head) {
                let mut cur = (*head).next.get();
                while cur != head {
                    let l = &*cur;
                    l.set_flags(l.word() & FLAGS & !NEWBORN);
                    cur = l.next.get();
                }
            }
        }
        match self.deferred_freeze.replace(Deferred::Nothing) {
            Deferred::Nothing => {}
            Deferred::Freeze => freeze(),
            Deferred::Unfreeze => unfreeze(),
            Deferred::FreezeThenUnfreeze => {
                freeze();
                unfreeze();
            }
        }
    }

    /// Puts an unlinked box with an intact value into generation 0.
    ///
    /// # Safety
    /// `links` must be a live, unlinked tracked box; `init` must have run.
    pub(crate) unsafe fn link_young(&self, links: *const Links) {
        // SAFETY: forwarded from the caller.
        unsafe {
            let l = &*links;
            l.set_flags((l.word() & FINALIZED) | self.newborn_mark.get());
            list::push_back(&self.gens[0], links);
        }
    }

    /// Takes a box that is about to be freed out of its generation.
    ///
    /// # Safety
    /// `links` must be a live, linked tracked box.
    #[inline]
    pub(crate) unsafe fn unlink_dying(&self, links: *const Links) {
        // SAFETY: forwarded from the caller.
        unsafe {
            list::remove(links);
            self.forget_dying(links);
        }
    }

    /// [`State::unlink_dying`] for a box its list has already let go of
    /// (the collector's scan unlinks boxes itself).
    ///
    /// # Safety
    /// `links` must be a live tracked box that no list holds.
    #[inline]
    pub(crate) unsafe fn forget_dying(&self, links: *const Links) {
        // SAFETY: forwarded from the caller.
        unsafe {
            list::mark_unlinked(links);
            let l = &*links;
            l.set_flags((l.word() & FLAGS) | OUTSIDE);
        }
        // CPython: deallocations count against allocations, down to zero.
        self.counts[0].set(self.counts[0].get().saturating_sub(1));
    }

    /// Queues an unlinked box with a zero strong count for release.
    ///
    /// # Safety
    /// `links` must be live, unlinked, with a zero count and intact value.
    pub(crate) unsafe fn queue_release(&self, links: *const Links) {
        // SAFETY: an unlinked box's `next` is free for the queue.
        unsafe { (*links).next.set(self.release_queue.get()) };
        self.release_queue.set(links);
    }

    /// Pops the next box awaiting release.
    pub(crate) fn pop_release(&self) -> Option<*const Links> {
        let head = self.release_queue.get();
        if head.is_null() {
            return None;
        }
        // SAFETY: queued boxes stay allocated until released.
        self.release_queue.set(unsafe { (*head).next.get() });
        Some(head)
    }

    /// Relabels every box of `from` as generation `to` and moves them there.
    fn move_generation(&self, from: usize, to: usize) {
        let head: *const Links = &self.gens[from];
        // SAFETY: initialised sentinels; the ring keeps every node live.
        unsafe {
            if list::is_empty(head) {
                return;
            }
            let mut cur = (*head).next.get();
            while cur != head {
                let l = &*cur;
                l.set_flags((l.word() & FLAGS & !GEN_MASK) | to);
                cur = l.next.get();
            }
            list::splice_back(head, &self.gens[to]);
        }
    }
}

/// Called by `Gc::new` for tracked types before allocating: initialises
/// the thread's state on first use, and runs an automatic collection when
/// the allocation count passes threshold 0.
#[inline]
pub(crate) fn before_tracked_alloc() -> &'static State {
    let st = state();
    if st.counts[0].get() >= st.trigger.get() {
        automatic(st);
    }
    st
}

/// CPython's `gc_collect_generations`: collect the oldest generation whose
/// count exceeds its threshold, except that generation 2 also waits until
/// the objects awaiting their first full collection exceed 25% of the
/// long-lived ones (which keeps full collections linear overall).
#[cold]
#[inline(never)]
fn automatic(st: &State) {
    if !st.initialized.get() {
        st.init();
        return;
    }
    if !st.enabled.get() || st.collecting.get() || st.thresholds[0].get() == 0 {
        return;
    }
    for generation in (0..3).rev() {
        if st.counts[generation].get() > st.thresholds[generation].get() {
            if generation == 2 && st.long_lived_pending.get() < st.long_lived_total.get() / 4 {
                continue;
            }
            collection::collect(st, generation);
            return;
        }
    }
}

/// Puts a freshly built tracked box into generation 0.
///
/// # Safety
/// `links` must be a live, unlinked tracked box with an intact value, and
/// `st` must have come from [`before_tracked_alloc`] (so it is initialised).
#[inline]
pub(crate) unsafe fn track_new(st: &State, links: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        (*links).set_flags(st.newborn_mark.get());
        list::push_back(&st.gens[0], links);
    }
    st.counts[0].set(st.counts[0].get() + 1);
}

/// Runs the final collections when the thread exits, while the thread's
/// other thread-locals are being destroyed (so that a `Drop` run by the
/// collection can still use most of them).
struct ExitCollection;

impl Drop for ExitCollection {
    fn drop(&mut self) {
        exit_collections();
    }
}

/// Full collections until one finds nothing (finalizers may create new
/// garbage; a few rounds settle it). Panics are reported, not raised.
fn exit_collections() {
    let st = state();
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(|| collection::collect(st, 2))) {
            Ok(0) => break,
            Ok(_) => {}
            Err(payload) => {
                crate::hooks::log_line(format_args!(
                    "cyclegc: a Drop or finalizer panicked during the thread-exit collection"
                ));
                collection::drop_payload(payload);
            }
        }
    }
}

/// The pthread key whose destructor runs the thread's last collection.
///
/// Thread-locals are destroyed in the reverse order of their registration,
/// so one first used before the collector was (a thread-local cache of
/// `Gc`s) is destroyed after `EXIT`'s collection, and a cycle it was the
/// last root of would leak. glibc runs pthread key destructors after every
/// thread-local destructor (`__call_tls_dtors` comes first), so this one
/// finds those cycles. By then thread-locals with destructors are gone: a
/// `Drop` that uses one panics, which is reported like any other.
fn late_exit_key() -> Option<libc::pthread_key_t> {
    static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: plain key creation; the destructor never unwinds.
        let rc = unsafe { libc::pthread_key_create(&mut key, Some(late_exit_collection)) };
        (rc == 0).then_some(key)
    })
}

/// The destructor of [`late_exit_key`].
extern "C" fn late_exit_collection(_: *mut std::ffi::c_void) {
    if state().is_empty() {
        return;
    }
    exit_collections();
}

/// Runs a full collection and returns the number of unreachable objects
/// found (and freed). CPython: `gc.collect()`.
///
/// Works whether or not automatic collection is enabled. Returns 0 when
/// called from inside a collection (a `Drop`, finalizer or callback).
///
/// # Panics
/// If a `Drop`, finalizer, `Trace` impl or callback panics; the collection
/// still completes (or, for a panicking hand-written `Trace`, is abandoned
/// with every object kept), and the collector stays usable.
pub fn collect() -> usize {
    collect_generation(2)
}

/// Collects generations `0..=generation` and returns the number of
/// unreachable objects found. CPython: `gc.collect(generation)`.
///
/// ```
/// assert_eq!(cyclegc::collect_generation(0), 0);
/// ```
///
/// # Panics
/// If `generation > 2` (CPython raises `ValueError`), and as [`collect`].
pub fn collect_generation(generation: usize) -> usize {
    assert!(
        generation <= 2,
        "cyclegc::collect_generation: invalid generation {generation} (must be 0, 1 or 2)"
    );
    collection::collect(state(), generation)
}

/// Turns automatic collection on. CPython: `gc.enable()`.
pub fn enable() {
    let st = state();
    st.enabled.set(true);
    st.update_trigger();
}

/// Turns automatic collection off; reference counting and explicit
/// [`collect`] still work. CPython: `gc.disable()`.
pub fn disable() {
    let st = state();
    st.enabled.set(false);
    st.update_trigger();
}

/// Whether automatic collection is on. CPython: `gc.isenabled()`.
pub fn is_enabled() -> bool {
    state().enabled.get()
}

/// The collection thresholds. CPython: `gc.get_threshold()`.
pub fn threshold() -> (usize, usize, usize) {
    let t = &state().thresholds;
    (t[0].get(), t[1].get(), t[2].get())
}

/// Sets the thresholds. CPython: `gc.set_threshold(t0, t1, t2)`.
///
/// Generation 0 is collected when tracked allocations minus deallocations
/// exceed `t0` (0 turns automatic collection off), generation 1 every `t1`
/// collections of generation 0, generation 2 every `t2` collections of
/// generation 1 (and only when enough new long-lived objects accumulated).
///
/// ```
/// let old = cyclegc::threshold();
/// cyclegc::set_threshold(700, 10, 10);
/// assert_eq!(cyclegc::threshold(), (700, 10, 10));
/// cyclegc::set_threshold(old.0, old.1, old.2);
/// ```
pub fn set_threshold(t0: usize, t1: usize, t2: usize) {
    let st = state();
    for (cell, value) in st.thresholds.iter().zip([t0, t1, t2]) {
        cell.set(value);
    }
    st.update_trigger();
}

/// The current collection counts. CPython: `gc.get_count()`.
///
/// The first is tracked allocations minus deallocations since the last
/// collection; the others count collections of the next younger generation
/// since the last collection of their own.
pub fn count() -> (usize, usize, usize) {
    let c = &state().counts;
    (c[0].get(), c[1].get(), c[2].get())
}

/// The number of tracked objects in each generation, CPython's
/// `len(gc.get_objects(generation=i))` for `i` in 0, 1, 2 (frozen objects
/// are counted by [`freeze_count`]). Walks the lists; only exact outside a
/// collection.
pub fn object_counts() -> (usize, usize, usize) {
    let st = state();
    (st.len(0), st.len(1), st.len(2))
}

/// Moves every tracked object into the permanent generation, which no
/// collection examines (their references count as outside references).
/// CPython: `gc.freeze()`. Costs a walk over the tracked objects. Called
/// during a collection (from a finalizer, drop or callback), it takes effect
/// when the collection ends.
pub fn freeze() {
    let st = state();
    if st.collecting.get() {
        st.deferred_freeze.set(Deferred::Freeze);
        return;
    }
    if !st.initialized.get() {
        st.init();
    }
    for generation in 0..3 {
        st.move_generation(generation, OUTSIDE);
    }
    st.counts[0].set(0);
}

/// Moves the permanent generation back into the oldest generation.
/// CPython: `gc.unfreeze()`. Deferred like [`freeze`] during a collection.
pub fn unfreeze() {
    let st = state();
    if st.collecting.get() {
        // An earlier freeze in the same collection still moves everything
        // (the unfreeze then brings it all to the oldest generation).
        let after = match st.deferred_freeze.get() {
            Deferred::Freeze | Deferred::FreezeThenUnfreeze => Deferred::FreezeThenUnfreeze,
            Deferred::Nothing | Deferred::Unfreeze => Deferred::Unfreeze,
        };
        st.deferred_freeze.set(after);
        return;
    }
    if !st.initialized.get() {
        st.init();
    }
    st.move_generation(OUTSIDE, 2);
}

/// The number of frozen objects (a walk). CPython: `gc.get_freeze_count()`.
///
/// ```
/// assert_eq!(cyclegc::freeze_count(), 0);
/// ```
pub fn freeze_count() -> usize {
    state().len(OUTSIDE)
}

/// Whether the collector tracks this object. CPython: `gc.is_tracked(obj)`.
///
/// Types that can never hold a `Gc` are not tracked (their boxes have no
/// collector header at all), as CPython untracks atomic objects. A value
/// dropped by the collector is no longer tracked.
///
/// ```
/// use cyclegc::{Gc, Trace};
/// #[derive(Trace)]
/// struct Node { next: Option<Gc<Node>> }
///
/// assert!(!cyclegc::is_tracked(&Gc::new(5u64)));
/// assert!(!cyclegc::is_tracked(&Gc::new(String::new())));
/// assert!(cyclegc::is_tracked(&Gc::new(Node { next: None })));
/// ```
pub fn is_tracked<T: ?Sized + 'static>(gc: &Gc<T>) -> bool {
    // SAFETY: the handle keeps the box (and its links) alive.
    // (A candidate of a running collection has `gc_refs` in its `prev`.)
    gc.links()
        .is_some_and(|l| unsafe { (*l).word() & COLLECTING != 0 || list::is_linked(l) })
}

/// Whether this object's finalizer has run. CPython: `gc.is_finalized(obj)`.
///
/// Only objects whose type has a finalizer (`Trace::FINALIZE`) are ever
/// finalized; a resurrected object stays finalized, so its finalizer never
/// runs twice.
pub fn is_finalized<T: ?Sized + 'static>(gc: &Gc<T>) -> bool {
    // SAFETY: the handle keeps the box (and its links) alive.
    gc.links()
        .is_some_and(|l| unsafe { (*l).word() & FINALIZED != 0 })
}
