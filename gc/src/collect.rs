//! One collection: CPython's trial deletion over the candidate generations,
//! PEP 442 finalization with a resurrection check, then dropping the values
//! of the garbage and freeing the boxes.
//!
//! The steps, as in CPython's `gc_collect_main`:
//! 1. Move generations `0..=g` into the collector's `young` list, oldest
//!    (`g`) first.
//! 2. and 3. `count_refs`, CPython's `update_refs` and `subtract_refs` fused
//!    into one pass (each pass traces every candidate, which is most of a
//!    collection's cost): on reaching a candidate, set its `gc_refs` to its
//!    strong count minus the edges already seen into it, set `COLLECTING`,
//!    pin it (one extra strong count, so that no user code run later in the
//!    collection can free it), then trace it: an edge to a candidate already
//!    reached takes one from its `gc_refs`, an edge to one not reached yet
//!    adds one to its count of edges seen. Candidates are recognised by
//!    their generation bits (see `list.rs`). What is left in `gc_refs`
//!    counts references from outside (the stack, older generations,
//!    untracked containers).
//! 4. `move_unreachable`: scan `young`; an object with `gc_refs > 0` is
//!    reachable, and so is everything it references (they are moved back
//!    from the tentatively unreachable list to the tail of `young`, which is
//!    how the scan serves as its own work list: no recursion, no allocation).
//!    Reachable objects are unpinned and move up a generation.
//! 5. Run the finalizers of the unreachable objects (once each), then, if
//!    any ran, repeat steps 2-4 on the unreachable set alone: objects a
//!    finalizer made reachable again (resurrected) survive.
//! 6. Trace the garbage once more and check it against the counts
//!    ([`verify_and_mark`]), unless every candidate's `Trace` is exact
//!    (`ExactTrace`: then the check cannot fail and is skipped); mark every
//!    garbage value `DROPPED`, drop them all, then unpin and free the
//!    boxes. A box that still has handles after its value was dropped is
//!    kept until those handles go (it reports `None` from `Gc::try_deref`)
//!    if every candidate was exact: a `Drop` moved a handle out of the
//!    garbage. With an inexact candidate it may instead be a `Trace` impl
//!    that moved a handle while being traced, and a `&T` into the dropped
//!    value may be held by the caller: the process aborts
//!    ([`leftover_handle_abort`]).
//!
//! # Invariants
//! - A box is pinned by the collector iff its `COLLECTING` flag is set.
//!   Before the first pass reaches a candidate it is not pinned: user code
//!   (a `Trace` impl) may release it, which simply unlinks it; the pass
//!   only ever holds a pointer to the (pinned) box it is tracing.
//! - Every candidate is in exactly one of the collector's lists (`young`,
//!   `unreachable`, `garbage`) until it is unpinned; user code never links
//!   or unlinks a pinned box, so these lists only change here.
//! - If a `Trace` impl panics, [`Run`]'s destructor puts every candidate back
//!   into a generation, unpinned, and the panic propagates; values are never
//!   dropped on that path. Panics from finalizers, drops and callbacks are
//!   caught, the collection completes, and the first one is re-raised.
//! - If tracing proves a count would go below zero, or the final check
//!   finds the garbage's edges do not match its counts, some `Trace` impl
//!   is wrong; the collection is abandoned the same way (nothing is
//!   dropped) and counted in `GenerationStats::trace_errors`.
//! - During the final check, an object with exactly two handles holds the
//!   address of the first one reported into it in its `prev` link; the
//!   links are restored before any list operation, on every path.
//! - `DROPPED` is set on a candidate only while no code but the collector's
//!   runs until the drops: by `move_unreachable` in an all-exact collection
//!   with no finalizer still to run (the tracer clears it from a box found
//!   reachable after all), or by the final check or `mark_dropped` on the
//!   garbage. A collection abandoned after marks were made clears them in
//!   `Run::restore` (tested in `tests/wrong_trace.rs` and
//!   `tests/finalize.rs`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use crate::collector::State;
use crate::gc::{
    self, DROPPED, FINALIZER, INEXACT, ONE, drain_release_queue, header_of_links, value_of_links,
};
use crate::hooks::{self, CollectionInfo, Phase};
use crate::list::{
    self, COLLECTING, EXPECT_MAX, EXPECT_SHIFT, FINALIZED, Links, OUTSIDE, PERSISTENT, REFS_SHIFT,
    UNREACHABLE,
};
use crate::trace::{Mode, Tracer};

/// The first panic caught during a collection, re-raised when it ends.
pub(crate) type Panic = Option<Box<dyn Any + Send>>;

/// Keeps `payload` if it is the collection's first panic. A later one is
/// dropped at once, and its `Drop` is user code too: it runs under
/// `catch_unwind`, so that nothing unwinds out of a step that must
/// complete (the drops of the garbage, the check after them, the
/// bookkeeping that ends the collection).
pub(crate) fn keep_first(panic: &mut Panic, payload: Box<dyn Any + Send>) {
    if panic.is_none() {
        *panic = Some(payload);
    } else {
        drop_payload(payload);
    }
}

/// Drops a panic payload whose `Drop` may panic in turn, and then the
/// payload of that panic, and so on; a chain that goes on past a few is
/// leaked rather than followed for ever.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    let mut payload = payload;
    for _ in 0..4 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(again) => payload = again,
        }
    }
    std::mem::forget(payload);
}

/// Largest `gc_refs` the word can hold (far above any real count).
const MAX_REFS: usize = usize::MAX >> REFS_SHIFT;

/// Collects generations `0..=generation`; returns the number of objects
/// found unreachable. Returns 0 at once if a collection is running.
pub(crate) fn collect(st: &State, generation: usize) -> usize {
    if st.collecting.get() {
        return 0;
    }
    st.init();
    st.set_collecting(true);
    let started = Instant::now();
    let target = if generation < 2 { generation + 1 } else { 2 };
    let mut panic: Panic = None;
    let info = |phase, candidates, collected, uncollectable, duration| CollectionInfo {
        phase,
        generation,
        candidates,
        collected,
        uncollectable,
        duration,
    };
    // Counting the candidates up front costs a walk: only for observers.
    let announced = if st.debug.get() || st.callback_count.get() > 0 {
        (0..=generation).map(|g| st.len(g)).sum()
    } else {
        0
    };
    hooks::report(
        st,
        info(Phase::Start, announced, 0, 0, Duration::ZERO),
        &mut panic,
    );

    // CPython's bookkeeping: this collection counts towards the next
    // generation's threshold, and resets the counts it covers.
    if generation < 2 {
        st.counts[generation + 1].set(st.counts[generation + 1].get() + 1);
    }
    for count in &st.counts[..=generation] {
        count.set(0);
    }

    let mut run = Run {
        st,
        generation,
        target,
        armed: true,
    };
    // SAFETY: single-threaded access to this thread's lists; every pointer
    // followed below is a sentinel in `st` or a box in one of its lists.
    let outcome = unsafe { run.collect(&mut panic) };
    let Outcome {
        candidates,
        collected,
        uncollectable,
        survivors,
    } = outcome;

    // Releases queued meanwhile (or left by an earlier panic) run now. A
    // panicking `Drop` or finalizer among them must not skip the
    // bookkeeping below: `collecting` would stay set for good.
    while let Err(payload) = catch_unwind(AssertUnwindSafe(|| drain_release_queue(st))) {
        keep_first(&mut panic, payload);
    }
    if generation == 1 {
        st.long_lived_pending
            .set(st.long_lived_pending.get() + survivors);
    } else if generation == 2 {
        st.long_lived_pending.set(0);
        st.long_lived_total.set(survivors);
    }
    st.update_stats(generation, |stats| {
        stats.collections += 1;
        stats.collected += collected;
        stats.uncollectable += uncollectable;
    });
    let stop = info(
        Phase::Stop,
        candidates,
        collected,
        uncollectable,
        started.elapsed(),
    );
    hooks::report(st, stop, &mut panic);
    st.set_collecting(false);
    st.settle_after_collection();
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
    collected
}

/// The figures of one collection.
#[derive(Default)]
struct Outcome {
    /// Objects examined.
    candidates: usize,
    /// Objects found unreachable (values dropped).
    collected: usize,
    /// Of those, boxes kept alive by handles that survived the drop.
    uncollectable: usize,
    /// Objects kept (they moved to the next generation).
    survivors: usize,
}

/// One collection in progress; dropping it while `armed` (a `Trace` impl
/// panicked) returns every candidate to a generation.
struct Run<'a> {
    st: &'a State,
    generation: usize,
    target: usize,
    armed: bool,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        if self.armed {
            // SAFETY: the lists are consistent at every point a `Trace` impl
            // can panic (list edits happen between trace calls, and the
            // `prev` links the final check borrows are restored by its own
            // guard before this runs).
            unsafe { self.restore() };
            self.st.set_collecting(false);
            self.st.settle_after_collection();
        }
    }
}

impl Run<'_> {
    /// Steps 1-6.
    ///
    /// # Safety
    /// The collector's scratch lists must be empty and `collecting` set.
    unsafe fn collect(&mut self, panic: &mut Panic) -> Outcome {
        let st = self.st;
        let young: *const Links = &st.young;
        let unreachable: *const Links = &st.unreachable;
        let garbage: *const Links = &st.garbage;
        // SAFETY: see the function contract and module invariants.
        unsafe {
            // Oldest first (CPython also puts the older generation first):
            // old objects usually refer to young ones, and the scan in
            // `move_unreachable` marks what a reachable object refers to
            // before reaching it, where the other order finds each young
            // object unreachable first, moves it out, and back again.
            for generation in (0..=self.generation).rev() {
                list::splice_back(&st.gens[generation], young);
            }
            let Counted {
                candidates,
                consistent,
                exact,
                finalizers,
            } = count_refs(young, self.generation);
            if !consistent {
                return Outcome {
                    candidates,
                    ..self.abandon(0)
                };
            }
            // Exact traces run no code that could see a `DROPPED` mark, so
            // the garbage can be marked as it is found (a box found
            // reachable after all is unmarked again), unless finalizers are
            // to run first.
            let mut marked = exact && !finalizers;
            let mut survivors = self.move_unreachable(young, unreachable, marked);
            list::splice_back(young, &st.gens[self.target]);

            if !list::is_empty(unreachable) {
                // (No candidate with a finalizer still to run: no walk.)
                if finalizers && finalize(unreachable, panic) {
                    // PEP 442: finalizers may have resurrected objects; only
                    // what is still unreachable from outside is garbage.
                    reset_refs(unreachable);
                    if !subtract_refs(unreachable) {
                        return Outcome {
                            candidates,
                            ..self.abandon(survivors)
                        };
                    }
                    marked = exact;
                    survivors += self.move_unreachable(unreachable, garbage, marked);
                    list::splice_back(unreachable, &st.gens[self.target]);
                } else {
                    list::splice_back(unreachable, garbage);
                }
            }
            if !list::is_empty(garbage) {
                if exact {
                    // Every trace that ran is exact (`ExactTrace`), so the
                    // counts are right and the check cannot fail.
                    if !marked {
                        mark_dropped(garbage);
                    }
                } else {
                    self.count_check();
                    if !verify_and_mark(garbage) {
                        return Outcome {
                            candidates,
                            ..self.abandon(survivors)
                        };
                    }
                }
            }
            // No `Trace` impl runs from here on.
            self.armed = false;
            let (collected, uncollectable) = self.drop_garbage(garbage, exact, panic);
            Outcome {
                candidates,
                collected,
                uncollectable,
                survivors,
            }
        }
    }

    /// The garbage is about to be checked by [`verify_and_mark`].
    fn count_check(&self) {
        self.st
            .update_stats(self.generation, |stats| stats.checked += 1);
    }

    /// A `Trace` impl reported edges that do not match the counts: keep
    /// everything. `survivors` is the number of objects already kept; the
    /// ones restored here add to it (for the 25% rule they are as
    /// long-lived as any other survivor).
    ///
    /// # Safety
    /// As for [`Run::restore`].
    unsafe fn abandon(&mut self, survivors: usize) -> Outcome {
        let st = self.st;
        st.update_stats(self.generation, |stats| stats.trace_errors += 1);
        if st.debug.get() {
            hooks::log_line(format_args!(
                "cyclegc: a Trace impl reported references that do not match the objects' \
                 counts (more than an object has, a handle twice, or different edges from one \
                 pass to the next); collection of generation {} abandoned",
                self.generation
            ));
        }
        // SAFETY: forwarded from `collect`.
        let kept = unsafe { self.restore() };
        self.armed = false;
        Outcome {
            survivors: survivors + kept,
            ..Outcome::default()
        }
    }

    /// Unpins every candidate still held, clears its scratch state and
    /// moves it to the target generation. Boxes whose count drops to zero
    /// are queued for release (no user code runs here; it may be called
    /// while unwinding). Returns the number of boxes moved.
    ///
    /// # Safety
    /// The collector's lists must be consistent rings (with every `prev`
    /// link restored) of live boxes.
    unsafe fn restore(&self) -> usize {
        let st = self.st;
        let mut kept = 0;
        for head in [&st.young, &st.unreachable, &st.garbage] {
            let head: *const Links = head;
            // SAFETY: the collector's lists are consistent rings of live
            // boxes; pinned boxes are alive.
            unsafe {
                if list::is_empty(head) {
                    continue;
                }
                let mut cur = (*head).next.get();
                while cur != head {
                    let next = (*cur).next.get();
                    let word = (*cur).word.get();
                    (*cur).word.set((word & FINALIZED) | self.target);
                    // `DROPPED` marks of a final check that failed part way
                    // (`verify_and_mark`) are taken back: no code saw them.
                    let header = &*header_of_links(cur);
                    header.strong.set(header.strong.get() & !DROPPED);
                    if word & COLLECTING != 0 && !unpin(cur) {
                        st.unlink_dying(cur);
                        st.queue_release(cur);
                    } else {
                        kept += 1;
                    }
                    cur = next;
                }
                list::splice_back(head, &st.gens[self.target]);
            }
        }
        kept
    }

    /// CPython's `move_unreachable`: splits `young` into the reachable
    /// (kept in `young`, unpinned, relabelled to the target generation) and
    /// the unreachable (moved to `unreachable`, still pinned, and with
    /// `mark`, marked `DROPPED`). Returns the number of reachable objects
    /// kept.
    ///
    /// # Safety
    /// `young` and `unreachable` must be collector lists as the steps
    /// before leave them; `mark` only if no code but exact traces runs
    /// before the garbage is dropped.
    unsafe fn move_unreachable(
        &self,
        young: *const Links,
        unreachable: *const Links,
        mark: bool,
    ) -> usize {
        let st = self.st;
        let mut tracer = Tracer::new(Mode::Reachable(young));
        let mut kept = 0;
        // SAFETY: `young` is a consistent ring of pinned live boxes; the
        // tracer only moves boxes from `unreachable` to the tail of `young`,
        // so `cur.next` read after tracing `cur` is still valid.
        unsafe {
            let mut cur = (*young).next.get();
            while cur != young {
                let l = &*cur;
                if l.refs() > 0 {
                    tracer.trace_box(cur, (*l.vtable).reach);
                    let next = l.next.get();
                    l.word.set((l.word.get() & FINALIZED) | self.target);
                    if unpin(cur) {
                        kept += 1;
                    } else {
                        // User code dropped every handle during the
                        // collection; release it once the collection is done.
                        st.unlink_dying(cur);
                        st.queue_release(cur);
                    }
                    cur = next;
                } else {
                    let next = l.next.get();
                    list::move_back(unreachable, cur);
                    // `gc_refs` (zero) is not needed any more: it takes the
                    // handle count for the final check before dropping
                    // (`verify_and_mark`), which saves that check a pass.
                    // Revived objects have it cleared by the tracer.
                    let header = &*header_of_links(cur);
                    let strong = header.strong.get();
                    let handles = (strong / ONE - 1).min(EXPECT_MAX);
                    if mark {
                        // Unmarked by the tracer if it is found reachable.
                        header.strong.set(strong | DROPPED);
                    }
                    l.word.set(
                        l.word.get()
                            | UNREACHABLE
                            | (handles << REFS_SHIFT)
                            | (handles << EXPECT_SHIFT),
                    );
                    cur = next;
                }
            }
        }
        kept
    }

    /// Step 6: drops every garbage value (all already marked `DROPPED` by
    /// [`verify_and_mark`], [`mark_dropped`] or `move_unreachable`), then
    /// unpins and frees the boxes. Returns (collected, uncollectable).
    ///
    /// A box that outlives the drops of a collection with an inexact
    /// candidate aborts the process ([`leftover_handle_abort`]); with exact
    /// traces only it is kept for its handles (a `Drop` moved one out).
    ///
    /// # Safety
    /// `garbage` must be the collector's garbage ring, every box pinned,
    /// marked and with an intact value, and no `Trace` impl may run from
    /// here on.
    unsafe fn drop_garbage(
        &self,
        garbage: *const Links,
        exact: bool,
        panic: &mut Panic,
    ) -> (usize, usize) {
        let st = self.st;
        let mut collected = 0;
        let mut uncollectable = 0;
        // SAFETY: `garbage` is a ring of pinned live boxes with intact
        // values; user code run by the drops cannot unlink pinned boxes.
        unsafe {
            let mut cur = (*garbage).next.get();
            while cur != garbage {
                collected += 1;
                let drop_value = (*(*cur).vtable).drop_value;
                let value = value_of_links(cur);
                // Each value is dropped exactly once, here; DROPPED keeps
                // every other path away from it.
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop_value(value))) {
                    keep_first(panic, payload);
                }
                cur = (*cur).next.get();
            }
            st.counts[0].set(st.counts[0].get().saturating_sub(collected));
            // No user code runs from here on (freeing a box runs no
            // `Drop`), so the ring is emptied at once and each box only
            // marked unlinked.
            let mut cur = (*garbage).next.get();
            list::init_empty(garbage);
            while cur != garbage {
                let next = (*cur).next.get();
                list::mark_unlinked(cur);
                // The scratch state cleared in one store to the word (a byte
                // store followed by a wider load of the same word stalls
                // store forwarding).
                (*cur).word.set(((*cur).word.get() & FINALIZED) | OUTSIDE);
                if !gc::unpin_dropped(cur) {
                    // Not freed: the box (and its vtable) is still there.
                    if !exact {
                        leftover_handle_abort(cur);
                    }
                    uncollectable += 1;
                    if st.debug.get() {
                        hooks::log_line(format_args!(
                            "cyclegc: uncollectable {}: handles survived the drop of its value",
                            ((*(*cur).vtable).type_name)()
                        ));
                    }
                }
                cur = next;
            }
        }
        (collected, uncollectable)
    }
}

/// A garbage box still has handles after every garbage value was dropped,
/// in a collection where some `Trace` impl is not exact. Either a `Drop`
/// moved a handle out of the garbage, or a `Trace` impl moved an existing
/// handle while being traced (its own between two reports, or one from
/// outside into its value and back, through a `Cell` or `RefCell`) so that
/// an outside reference was counted as internal. (A handle that is not in
/// memory the object owns when reported is never counted, and one that
/// exists only while reported fails the final check: see `trace.rs`.) In
/// the second case the caller of the collection may hold a `&T` into the
/// value just dropped, derived from that outside handle (safe code cannot
/// destroy a handle while a borrow derived from it lives, which is why
/// every handle present before the drops must be gone after them). The
/// two cases cannot be told apart, and unwinding could run code that reads
/// through such a `&T`: abort, naming the type. What this cannot undo:
/// the drops have already run, and a `Drop` among them may have read the
/// wrongly dropped value through a reference kept from before; and a
/// caller's reference held as a function argument was invalidated when the
/// value was dropped. Those remain undefined behaviour, with a hand-written
/// `Trace` that mutates handles only.
///
/// # Safety
/// `links` must be a live tracked box.
#[cold]
#[inline(never)]
unsafe fn leftover_handle_abort(links: *const Links) -> ! {
    use std::io::Write;
    // SAFETY: forwarded from the caller; the vtable lives as long as the box.
    let name = unsafe { ((*(*links).vtable).type_name)() };
    let _ = writeln!(
        std::io::stderr(),
        "cyclegc: fatal: a {name} found unreachable still has handles after the garbage \
         was dropped. A Trace impl that is not ExactTrace may have moved a Gc while being \
         traced (so that a handle it does not keep was counted), and a reference into the \
         dropped value may still be in use; a Drop that moves a handle out of garbage looks \
         the same. Aborting."
    );
    std::process::abort()
}

/// Steps 2 and 3 fused (see the module documentation).
///
/// # Safety
/// `head` must be a consistent ring of live tracked boxes whose generation
/// bits are at most `generation`, with zero scratch state, and every other
/// box must say a generation above `generation` or be `NEWBORN`.
unsafe fn count_refs(head: *const Links, generation: usize) -> Counted {
    let mut tracer = Tracer::new(Mode::Count(generation));
    let mut candidates = 0;
    let mut flags = 0;
    // SAFETY: forwarded from the caller. `cur` is pinned before its trace
    // runs, so it stays linked and `cur.next` is valid afterwards even if
    // the trace released other (not yet pinned) candidates.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            let header = &*header_of_links(cur);
            let word = l.word.get();
            let strong = header.strong.get();
            let seen = word >> REFS_SHIFT;
            let count = strong / ONE;
            if seen > count {
                tracer.overcount = true;
            }
            let refs = count.saturating_sub(seen).min(MAX_REFS);
            l.word
                .set((word & FINALIZED) | generation | COLLECTING | (refs << REFS_SHIFT));
            header.strong.set(strong + ONE);
            candidates += 1;
            let vtable = &*l.vtable;
            flags |= vtable.flags;
            tracer.trace_box(cur, vtable.count);
            cur = l.next.get();
        }
    }
    Counted {
        candidates,
        consistent: !tracer.overcount,
        exact: flags & INEXACT == 0,
        finalizers: flags & FINALIZER != 0,
    }
}

/// What the first pass found.
struct Counted {
    /// The number of candidates.
    candidates: usize,
    /// Whether every count stayed at or above zero.
    consistent: bool,
    /// Whether every candidate's `Trace` is exact.
    exact: bool,
    /// Whether some candidate has a finalizer (that may not have run yet).
    finalizers: bool,
}

/// Step 2 again for the resurrection check: the objects are already pinned,
/// so `gc_refs` is the strong count minus the pin.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes.
unsafe fn reset_refs(head: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            let strong = (*header_of_links(cur)).strong.get();
            let refs = (strong / ONE - 1).min(MAX_REFS);
            l.word
                .set((l.word.get() & PERSISTENT) | COLLECTING | (refs << REFS_SHIFT));
            cur = l.next.get();
        }
    }
}

/// Step 3; returns false if some count would have gone below zero.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes.
unsafe fn subtract_refs(head: *const Links) -> bool {
    let mut tracer = Tracer::new(Mode::Subtract);
    // SAFETY: forwarded from the caller; subtracting never moves boxes.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            tracer.trace_box(cur, (*l.vtable).trace);
            cur = l.next.get();
        }
    }
    !tracer.overcount
}

/// The last check before any value is dropped, and the first step of
/// dropping: every garbage object's handles must be exactly the edges that
/// tracing the garbage reports into it now, with no handle reported twice
/// and no handle made or dropped meanwhile. If that holds, every garbage
/// object is marked `DROPPED` (all of them before any value is dropped, so
/// that a drop that reaches another garbage object through a handle sees
/// it as gone, a panic or `None` from `try_deref`, instead of reading a
/// dropped value) and it returns true. No user code runs between its last
/// trace and the drops.
///
/// Trial deletion alone trusts every `Trace` impl: a handle traced twice,
/// or traces that differ between passes or that clone or drop handles, can
/// make an object look unreachable while a handle outside the garbage still
/// refers to it, and a `&T` borrowed through that handle and held across
/// the collection would dangle once the value is dropped. This check
/// catches those (the collection is then abandoned: a leak and a trace
/// error, never a drop). A handle the reporting object does not own is not
/// counted at all (the tracer checks where it lies), and at each report
/// the target's handle count must still be the one recorded when it was
/// found unreachable, so a clone that exists only while it is reported is
/// caught. What this check cannot catch is a trace that moves an existing
/// handle between reports (its own, or one from outside that it puts
/// back): that looks like owned handles. It is caught after the drops
/// instead, by the handle left over ([`leftover_handle_abort`]).
///
/// The cost is one more trace of the garbage only (live objects are never
/// looked at); the walk after it replaces the marking walk. It is skipped
/// (for [`mark_dropped`], or marking while the garbage is found) when
/// every candidate's `Trace` is exact (`ExactTrace`): such impls report
/// exactly the handles they own and run no other code, so none of the
/// above can happen. Finding a
/// handle reported twice needs the addresses of the handles reported into
/// each object with two or more handles: for an object with exactly two (a
/// doubly linked list, a parent pointer), the first address waits in its
/// `prev` link, which only this collector reads and which is restored
/// afterwards (by a guard, if a `Trace` panics); only those reported into
/// objects with three or more go to a vector that is sorted.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes with intact
/// values, the only `COLLECTING` boxes, each moved there by
/// `move_unreachable` (which set up its word; a handle made or dropped
/// since then fails the check).
unsafe fn verify_and_mark(head: *const Links) -> bool {
    /// Restores the `prev` links of the ring (`Mode::Verify` parks
    /// addresses there) if a `Trace` impl panics.
    struct RepairPrev(*const Links, bool);
    impl Drop for RepairPrev {
        fn drop(&mut self) {
            if self.1 {
                // SAFETY: the ring's `next` links are intact.
                unsafe { repair_prev(self.0) };
            }
        }
    }
    // Room for every address `Mode::Verify` keeps (each box with three or
    // more handles takes at most that many before the check fails), so
    // that no push allocates during the trace: the global allocator may
    // run user code, which must not run inside an exact trace.
    // SAFETY: forwarded from the caller.
    let mut many = Vec::with_capacity(unsafe { addresses_to_keep(head) });
    // SAFETY: forwarded from the caller; tracing never moves boxes, and a
    // box that user code could release is pinned, hence never unlinked, so
    // nothing but this function reads the `prev` links it borrows. Each
    // box's word holds its handle count twice (see `EXPECT_SHIFT`), set when
    // `move_unreachable` moved it here.
    unsafe {
        let mut guard = RepairPrev(head, true);
        let mut tracer = Tracer::new(Mode::Verify(&mut many));
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            tracer.trace_box(cur, (*l.vtable).trace);
            cur = l.next.get();
        }
        let mut ok = !tracer.overcount;
        if ok && many.len() > 1 {
            many.sort_unstable();
            ok = many.windows(2).all(|w| w[0] != w[1]);
        }
        // One walk: restore `prev`, check the counts, mark. If a box fails,
        // the marks made before it are taken back by `Run::restore`, which
        // abandoning the collection runs next; no code sees them meanwhile.
        guard.1 = false;
        let mut prev = head;
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            l.prev.set(prev);
            if ok {
                let word = l.word.get();
                let header = &*header_of_links(cur);
                let strong = header.strong.get();
                if (word >> REFS_SHIFT) & EXPECT_MAX != 0
                    || word >> EXPECT_SHIFT != strong / ONE - 1
                {
                    ok = false;
                } else {
                    header.strong.set(strong | DROPPED);
                }
            }
            prev = cur;
            cur = l.next.get();
        }
        ok
    }
}

/// How many handle addresses [`verify_and_mark`] may keep in its vector:
/// the handles of each box of the ring with three or more.
///
/// # Safety
/// `head` must be a consistent ring of live boxes, each moved there by
/// `move_unreachable`.
unsafe fn addresses_to_keep(head: *const Links) -> usize {
    let mut total = 0;
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let expected = (*cur).word.get() >> EXPECT_SHIFT;
            if expected >= 3 {
                total += expected;
            }
            cur = (*cur).next.get();
        }
    }
    total
}

/// Marks every box of the ring `DROPPED`, in place of [`verify_and_mark`]
/// when every candidate of the collection is exact.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes.
unsafe fn mark_dropped(head: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let header = &*header_of_links(cur);
            header.strong.set(header.strong.get() | DROPPED);
            cur = (*cur).next.get();
        }
    }
}

/// Relinks every `prev` of the ring `head` from its `next` links.
///
/// # Safety
/// `head` must be a live sentinel whose ring of `next` links is intact.
unsafe fn repair_prev(head: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut prev = head;
        let mut cur = (*head).next.get();
        while cur != head {
            (*cur).prev.set(prev);
            prev = cur;
            cur = (*cur).next.get();
        }
    }
}

/// Step 5: runs each finalizer not yet run; returns whether any ran.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes with intact values.
unsafe fn finalize(head: *const Links, panic: &mut Panic) -> bool {
    let mut ran = false;
    // SAFETY: forwarded from the caller; finalizers cannot unlink pinned
    // boxes, so the ring is stable while they run.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            if let Some(finalize) = (*l.vtable).finalize
                && l.word.get() & FINALIZED == 0
            {
                l.word.set(l.word.get() | FINALIZED);
                ran = true;
                let value = value_of_links(cur);
                // The value is intact and the box pinned.
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| finalize(value))) {
                    keep_first(panic, payload);
                }
            }
            cur = l.next.get();
        }
    }
    ran
}

/// Removes the collector's pin; returns whether handles remain.
///
/// # Safety
/// `links` must be a pinned live box.
unsafe fn unpin(links: *const Links) -> bool {
    // SAFETY: forwarded from the caller.
    let header = unsafe { &*header_of_links(links) };
    let strong = header.strong.get() - ONE;
    header.strong.set(strong);
    strong >= ONE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::state;
    use crate::{Gc, Trace, Tracer};
    use std::cell::RefCell;

    struct Node {
        edges: RefCell<Vec<Gc<Node>>>,
    }

    impl Trace for Node {
        fn trace(&self, tracer: &mut Tracer<'_>) {
            self.edges.trace(tracer);
        }
    }

    fn node() -> Gc<Node> {
        Gc::new(Node {
            edges: RefCell::new(Vec::new()),
        })
    }

    #[test]
    fn scratch_lists_are_empty_and_pins_released_after_collection() {
        let st = state();
        let a = node();
        let b = node();
        a.edges.borrow_mut().push(b.clone());
        b.edges.borrow_mut().push(a.clone());
        let c = node();
        c.edges.borrow_mut().push(c.clone());
        drop(c);
        assert_eq!(collect(st, 2), 1);
        // SAFETY: the sentinels live in the thread's state.
        unsafe {
            assert!(list::is_empty(&st.young));
            assert!(list::is_empty(&st.unreachable));
            assert!(list::is_empty(&st.garbage));
        }
        assert_eq!((Gc::strong_count(&a), Gc::strong_count(&b)), (2, 2));
        // SAFETY: `a` is live and tracked.
        let word = unsafe { (*a.links().unwrap()).word.get() };
        assert_eq!(word & !PERSISTENT, 0, "scratch bits cleared");
        assert_eq!(word & list::GEN_MASK, 2);
        a.edges.borrow_mut().clear();
    }

    #[test]
    fn generations_move_up_and_lists_stay_consistent() {
        let st = state();
        collect(st, 2);
        let before: Vec<usize> = (0..4).map(|g| st.len(g)).collect();
        let keep: Vec<Gc<Node>> = (0..5).map(|_| node()).collect();
        assert_eq!(st.len(0), before[0] + 5);
        collect(st, 0);
        assert_eq!(st.len(0), 0);
        assert_eq!(st.len(1), before[1] + before[0] + 5);
        for k in &keep {
            // SAFETY: `k` is live and tracked.
            let word = unsafe { (*k.links().unwrap()).word.get() };
            assert_eq!(word & list::GEN_MASK, 1);
        }
        drop(keep);
        assert_eq!(st.len(1), before[1] + before[0]);
    }
}
