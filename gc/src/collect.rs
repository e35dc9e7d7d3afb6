//! One collection: CPython's trial deletion over the candidate generations,
//! PEP 442 finalization with a resurrection check, then dropping the values
//! of the garbage and freeing the boxes.
//!
//! The steps, as in CPython's `gc_collect_main`:
//! 1. Move generations `0..=g` into the collector's `young` list, oldest
//!    (`g`) first.
//! 2. and 3. `count_refs`, CPython's `update_refs` and `subtract_refs` fused
//!    into one pass (each pass traces every candidate, which is most of a
//!    collection's cost). `gc_refs` lives in a candidate's `prev` link, as
//!    in CPython (`list.rs`). Every edge to a candidate takes one from its
//!    `prev`; on reaching a candidate, the pass knows the pointer that was
//!    there (the box it came from), so the distance below it is the edges
//!    seen so far: it stores the strong count minus those as `gc_refs`,
//!    sets `COLLECTING`, then traces it. Candidates are recognised by
//!    their generation bits (see `list.rs`). What is left in `gc_refs`
//!    counts references from outside (the stack, older generations,
//!    untracked containers); below zero, it proves that a trace reported
//!    an edge that does not exist, which step 4 looks for.
//! 4. `move_unreachable`: scan `young`; an object with `gc_refs > 0` is
//!    reachable, and so is everything it references (they are moved back
//!    from the tentatively unreachable list to the tail of `young`, which is
//!    how the scan serves as its own work list: no recursion, no allocation).
//!    Reachable objects get their `prev` back and move up a generation;
//!    the others are pinned as they are moved out (see the invariants).
//! 5. Run the finalizers of the unreachable objects (once each), then, if
//!    any ran, repeat steps 2-4 on the unreachable set alone: objects a
//!    finalizer made reachable again (resurrected) survive.
//! 6. Mark every garbage value `DROPPED`, drop them all, then unpin and
//!    free the boxes. A box that still has handles after its value was
//!    dropped (a `Drop` moved one out of the garbage) is kept until those
//!    handles go; it reports `None` from `Gc::try_deref`.
//!
//! A candidate whose `Trace` is not exact is not traced in those passes:
//! if the first pass met one (its vtable's `count` does nothing), its
//! counts are thrown away, and `discover` runs the `Trace::trace` of every
//! such candidate, which names its *places* (see `trace.rs`); `reset_refs`
//! and `subtract_refs` then do steps 2 and 3 unfused, tracing those places
//! through their exact traces. So no user code runs between the first
//! edge of the counts that are used and the drops, except finalizers
//! (whose effects step 5's second count sees); the hand-written traces
//! run while the first pass's thrown-away counts sit in the `prev` links,
//! with every candidate pinned.
//!
//! # Invariants
//! - A box is pinned by the collector (one extra strong count, so that no
//!   user code can free it) iff its `PINNED` flag is set, and a candidate
//!   is pinned whenever user code can run: from the first pass to the end
//!   of the scan none runs but hand-written traces, and if a candidate has
//!   one, every candidate is pinned (`pin_all`) before `discover` runs
//!   them; they can release boxes that are not candidates (new ones, older
//!   generations) but no candidate. Otherwise the scan pins each box it
//!   takes for unreachable, before finalizers and drops run, and the
//!   reachable ones leave the collection without a pin: two stores per
//!   object fewer on the usual path.
//! - Every candidate is in exactly one of the collector's lists (`young`,
//!   `unreachable`, `garbage`) until it leaves the collection; user code
//!   never links or unlinks a candidate (pinned whenever user code runs),
//!   so these lists only change here. That is what
//!   lets `gc_refs` take the place of `prev` from the first pass to the
//!   scan: meanwhile the lists are walked and edited through `next` only,
//!   and [`Run::restore`] rebuilds the `prev`s of a collection that stops
//!   early.
//! - If a hand-written `Trace` impl panics (an `ExactTrace` must not: see
//!   its safety contract), [`Run`]'s destructor puts every candidate back
//!   into a generation, unpinned, and the panic propagates; values are never
//!   dropped on that path. Panics from finalizers, drops and callbacks are
//!   caught, the collection completes, and the first one is re-raised.
//! - If a count is below zero once every edge is counted (an `unsafe impl
//!   ExactTrace` reported a handle it does not own), the collection is
//!   abandoned the same way (nothing is dropped) and counted in
//!   `GenerationStats::trace_errors`. The reachability scan looks at every
//!   candidate's final count (when it scans it, or when an edge revives
//!   it first), so it is the one place that checks.
//! - Every count is taken after the last `Trace::trace` of the collection
//!   has run, through exact traces only, and from then on to the drops no
//!   user code runs (nothing is allocated or freed: `Discovery::clear`
//!   frees nothing) but finalizers, after which everything is discovered
//!   and counted again. So the counts describe one state of the heap: an
//!   object found unreachable has no handle outside the garbage (until a
//!   `Drop` makes one).
//! - `DROPPED` is set on a candidate only while no code but the collector's
//!   runs until the drops: by `move_unreachable` when no finalizer is still
//!   to run (the tracer clears it from a box found reachable after all), or
//!   by `mark_dropped` on the garbage. A collection abandoned after marks
//!   were made clears them in `Run::restore` (tested in
//!   `tests/finalize.rs` and `tests/overcount.rs`).

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::{Duration, Instant};

use crate::collector::State;
use crate::gc::{
    self, DROPPED, FINALIZER, INEXACT, ONE, drain_release_queue, header_of_links, value_of_links,
};
use crate::hooks::{self, CollectionInfo, Phase};
use crate::list::{
    self, COLLECTING, FINALIZED, FLAGS, Links, OUTSIDE, PERSISTENT, PINNED, UNREACHABLE,
};
use crate::trace::{AnyPass, Discovery, Mode, Pass, Place, ReachPass, Tracer};

/// The first panic caught during a collection, re-raised when it ends.
pub(crate) type Panic = Option<Box<dyn Any + Send>>;

/// Keeps `payload` if it is the collection's first panic. A later one is
/// dropped at once, and its `Drop` is user code too: it runs under
/// `catch_unwind`, so that nothing unwinds out of a step that must
/// complete (the drops of the garbage, the bookkeeping that ends the
/// collection).
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
        found: Discovery::default(),
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
    /// The places of the inexact candidates, sorted by owner and address
    /// (empty if every candidate is exact), and the borrows that keep
    /// some of them valid.
    found: Discovery,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        // Borrows held for the places go first, while every value is there.
        self.found.clear();
        if self.armed {
            // SAFETY: the lists are consistent at every point a `Trace` impl
            // can panic (list edits happen between trace calls).
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
            let mut counted = count_refs(young, self.generation);
            if counted.inexact {
                // Before any user code runs.
                pin_all(young);
                // User code (the inexact traces) runs before anything is
                // counted: what the first pass counted is counted again.
                // (Stopping the first pass at the first inexact candidate
                // instead costs the all-exact case a test per object.)
                st.update_stats(self.generation, |stats| stats.inexact += 1);
                counted = self.discover(young, true);
                reset_refs(young);
                if !subtract_refs(young, &self.found.places) {
                    return Outcome {
                        candidates: counted.candidates,
                        ..self.abandon(0)
                    };
                }
            }
            // (On the fused path, `move_unreachable` looks for a count below
            // zero.)
            let Counted {
                candidates,
                finalizers,
                ..
            } = counted;
            // No code but the collector's runs before the drops unless
            // finalizers are to run first, so the garbage can be marked as
            // it is found (a box found reachable after all is unmarked).
            let mut marked = !finalizers;
            let scanned = self.move_unreachable(young, unreachable, marked);
            // Before any user code runs again (a finalizer may borrow a
            // cell mutably).
            self.found.clear();
            let Some(mut survivors) = scanned else {
                return Outcome {
                    candidates,
                    ..self.abandon(0)
                };
            };
            list::splice_back(young, &st.gens[self.target]);

            if !list::is_empty(unreachable) {
                // (No candidate with a finalizer still to run: no walk.)
                if finalizers && finalize(unreachable, panic) {
                    // PEP 442: finalizers may have resurrected objects; only
                    // what is still unreachable from outside is garbage.
                    if counted.inexact {
                        self.discover(unreachable, false);
                    }
                    reset_refs(unreachable);
                    if !subtract_refs(unreachable, &self.found.places) {
                        return Outcome {
                            candidates,
                            ..self.abandon(survivors)
                        };
                    }
                    marked = true;
                    let scanned = self.move_unreachable(unreachable, garbage, marked);
                    self.found.clear();
                    let Some(kept) = scanned else {
                        return Outcome {
                            candidates,
                            ..self.abandon(survivors)
                        };
                    };
                    survivors += kept;
                    list::splice_back(unreachable, &st.gens[self.target]);
                } else {
                    list::splice_back(unreachable, garbage);
                }
            }
            if !marked {
                mark_dropped(garbage);
            }
            // No `Trace` impl runs from here on.
            self.armed = false;
            let (collected, uncollectable) = self.drop_garbage(garbage, panic);
            Outcome {
                candidates,
                collected,
                uncollectable,
                survivors,
            }
        }
    }

    /// Runs the `Trace::trace` of each inexact candidate of `head` in
    /// `Mode::Discover`, keeping the places it names in `self.found`
    /// (sorted; an object that names overlapping places keeps none, and
    /// counts as a trace error if `first`: the resurrection check runs
    /// the same traces again). Returns what the first pass would have.
    ///
    /// Every candidate is pinned already (by `pin_all`, or as unreachable),
    /// as it must be before user code runs: a trace may drop the last
    /// handle of any object but a pinned one.
    ///
    /// # Safety
    /// As for `count_refs`, except that every candidate is pinned, with
    /// `COLLECTING` set.
    unsafe fn discover(&mut self, head: *const Links, first: bool) -> Counted {
        let mut tracer = Tracer::new(Mode::Discover(&mut self.found));
        let mut candidates = 0;
        let mut flags = 0;
        // SAFETY: forwarded from the caller. Every candidate is pinned, so
        // no trace can release one: the ring stays as it is, and `cur.next`
        // is valid after `cur`'s trace.
        unsafe {
            let mut cur = (*head).next.get();
            while cur != head {
                let l = &*cur;
                debug_assert!(l.word() & PINNED != 0, "an unpinned candidate");
                candidates += 1;
                let vtable = l.vtable();
                flags |= vtable.flags;
                if vtable.flags & INEXACT != 0 {
                    tracer.owner = cur;
                    tracer.trace_at(value_of_links(cur), vtable.discover);
                }
                cur = l.next.get();
            }
        }
        let bad = check_places(&mut self.found.places);
        if bad > 0 && first {
            self.st
                .update_stats(self.generation, |stats| stats.trace_errors += bad);
            if self.st.debug.get() {
                hooks::log_line(format_args!(
                    "cyclegc: {bad} object(s) named overlapping parts of their value in their \
                     Trace; their edges are not counted in this collection"
                ));
            }
        }
        Counted {
            candidates,
            inexact: true,
            finalizers: flags & FINALIZER != 0,
        }
    }

    /// A count was below zero once every edge was counted: keep
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
                "cyclegc: an ExactTrace impl reported more references than an object has; \
                 collection of generation {} abandoned",
                self.generation
            ));
        }
        self.found.clear();
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
                // `gc_refs` may be where the `prev`s were.
                list::relink(head);
                let mut cur = (*head).next.get();
                while cur != head {
                    let next = (*cur).next.get();
                    let word = (*cur).word();
                    (*cur).set_flags((word & FINALIZED) | self.target);
                    // `DROPPED` marks of a collection abandoned after
                    // `move_unreachable` are taken back: no code saw them.
                    let header = &*header_of_links(cur);
                    header.strong.set(header.strong.get() & !DROPPED);
                    if word & PINNED != 0 && !unpin(cur) {
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
    /// (kept in `young`, unpinned if pinned, relabelled to the target
    /// generation) and the unreachable (moved to `unreachable`, pinned, and
    /// with `mark`, marked `DROPPED`). Returns the number of reachable objects
    /// kept, or `None` if some count was below zero: a trace reported an
    /// edge that does not exist, and the collection must be abandoned
    /// (the lists are consistent for [`Run::restore`]).
    ///
    /// # Safety
    /// `young` and `unreachable` must be collector lists as the steps
    /// before leave them, and `self.found` the places of their inexact
    /// boxes; `mark` only if no code but the collector's runs before the
    /// garbage is dropped.
    unsafe fn move_unreachable(
        &self,
        young: *const Links,
        unreachable: *const Links,
        mark: bool,
    ) -> Option<usize> {
        let st = self.st;
        let mut tracer = Tracer::new(Mode::Reachable(young));
        let mut kept = 0;
        // SAFETY: `young` is a ring of live boxes, consistent through
        // `next` (the first pass left `gc_refs` in the `prev`s), whose
        // sentinel's `prev` is its tail; `unreachable` is a consistent
        // ring. The tracer only moves boxes from `unreachable` to the tail
        // of `young`, so `pred.next` read after tracing is the next box to
        // scan.
        unsafe {
            // The last box kept in `young`. As in CPython, the scan puts
            // back the `prev` of each box it keeps, and takes boxes out of
            // `young` through their predecessor alone (the next box's
            // `prev` still holds its `gc_refs`). The sentinel's `prev`
            // stays the tail for the tracer's appends: it goes stale only
            // when the scan moves the tail itself, which ends the scan.
            let mut pred = young;
            let mut cur = (*young).next.get();
            while cur != young {
                let l = &*cur;
                if l.refs() > 0 {
                    // The vtable's trace does nothing for an inexact type,
                    // whose places are traced after it; with no places (the
                    // usual case: all exact) that is one untaken branch.
                    let vtable = l.vtable();
                    tracer.trace_at(value_of_links(cur), vtable.reach);
                    let places = &self.found.places;
                    if !places.is_empty() && vtable.flags & INEXACT != 0 {
                        trace_places(&mut tracer, cur, places, ReachPass::INDEX);
                    }
                    let word = l.word();
                    l.set_flags((word & FINALIZED) | self.target);
                    if word & PINNED == 0 || unpin(cur) {
                        l.prev.set(pred);
                        pred = cur;
                        kept += 1;
                    } else {
                        // Only the pin was left: a trace reported a handle that
                        // does not exist (`gc_refs > 0` otherwise proves one),
                        // which only a lying `unsafe impl ExactTrace` can do.
                        // Release the box once the collection is done.
                        (*pred).next.set(l.next.get());
                        st.forget_dying(cur);
                        st.queue_release(cur);
                    }
                } else {
                    if l.refs() < 0 {
                        tracer.overcount = true;
                    }
                    (*pred).next.set(l.next.get());
                    list::push_back(unreachable, cur);
                    // Pinned from here on (finalizers and drops run next),
                    // and with `mark`, marked dropped (unmarked by the
                    // tracer if it is found reachable). One whole store: a
                    // box found reachable later (most of a live chain comes
                    // back) is read by `reach_edge` with loads of the whole
                    // word, which a narrower store would stall, store
                    // forwarding failing.
                    let word = l.word();
                    let header = &*header_of_links(cur);
                    let pin = if word & PINNED == 0 { ONE } else { 0 };
                    let dropped = if mark { DROPPED } else { 0 };
                    store_word(&header.strong, (header.strong.get() + pin) | dropped);
                    l.set_flags((word & FLAGS) | UNREACHABLE | PINNED);
                }
                cur = (*pred).next.get();
            }
            (*young).prev.set(pred);
        }
        (!tracer.overcount).then_some(kept)
    }

    /// Step 6: drops every garbage value (all already marked `DROPPED` by
    /// [`mark_dropped`] or `move_unreachable`), then unpins and frees the
    /// boxes. Returns (collected, uncollectable). A box that outlives the
    /// drops is kept for its handles (a `Drop` moved one out of the
    /// garbage).
    ///
    /// # Safety
    /// `garbage` must be the collector's garbage ring, every box pinned,
    /// marked and with an intact value, and no `Trace` impl may run from
    /// here on.
    unsafe fn drop_garbage(&self, garbage: *const Links, panic: &mut Panic) -> (usize, usize) {
        let st = self.st;
        let mut collected = 0;
        let mut uncollectable = 0;
        // SAFETY: `garbage` is a ring of pinned live boxes with intact
        // values; user code run by the drops cannot unlink pinned boxes.
        unsafe {
            let mut cur = (*garbage).next.get();
            while cur != garbage {
                collected += 1;
                let drop_value = (*cur).vtable().drop_value;
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
                (*cur).set_flags(((*cur).word() & FINALIZED) | OUTSIDE);
                if !gc::unpin_dropped(cur) {
                    // Not freed: the box (and its vtable) is still there.
                    uncollectable += 1;
                    if st.debug.get() {
                        hooks::log_line(format_args!(
                            "cyclegc: uncollectable {}: handles survived the drop of its value",
                            ((*cur).vtable().type_name)()
                        ));
                    }
                }
                cur = next;
            }
        }
        (collected, uncollectable)
    }
}

/// Steps 2 and 3 fused (see the module documentation).
///
/// # Safety
/// `head` must be a consistent ring of live tracked boxes whose generation
/// bits are at most `generation`, with zero scratch state but `NEWBORN`,
/// and every other box must say a generation above `generation` or be
/// `NEWBORN`. (A start callback's new boxes are in generation 0, marked
/// `NEWBORN`, when it is spliced in: edges into them are counted only
/// once they are reached, which can only keep them.) Every candidate's
/// `prev` holds `gc_refs` afterwards (see `list.rs`).
unsafe fn count_refs(head: *const Links, generation: usize) -> Counted {
    let mut tracer = Tracer::new(Mode::Count(generation));
    let mut candidates = 0;
    let mut flags = 0;
    // SAFETY: forwarded from the caller. Only exact traces run here (an
    // inexact type's `count` does nothing), and they run no user code, so
    // the ring does not change under the walk.
    unsafe {
        let mut pred = head;
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            let header = &*header_of_links(cur);
            let strong = header.strong.get();
            // Each edge seen into it so far took one from its `prev`, which
            // was `pred` (the ring is consistent until here).
            let seen = pred.addr().wrapping_sub(l.prev.get().addr()) as isize;
            // Below zero if more edges were reported than it has handles
            // (see `move_unreachable`).
            l.set_refs((strong / ONE) as isize - seen);
            l.set_flags((l.word() & FINALIZED) | generation | COLLECTING);
            candidates += 1;
            let vtable = l.vtable();
            flags |= vtable.flags;
            tracer.trace_at(value_of_links(cur), vtable.count);
            pred = cur;
            cur = l.next.get();
        }
    }
    Counted {
        candidates,
        inexact: flags & INEXACT != 0,
        finalizers: flags & FINALIZER != 0,
    }
}

/// Pins every box of the ring (see the module documentation).
///
/// # Safety
/// `head` must be a consistent ring (through `next`) of live unpinned
/// candidates.
unsafe fn pin_all(head: *const Links) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            let l = &*cur;
            let header = &*header_of_links(cur);
            header.strong.set(header.strong.get() + ONE);
            l.set_flags((l.word() & FLAGS) | PINNED);
            cur = l.next.get();
        }
    }
}

/// What the first pass found.
struct Counted {
    /// The number of candidates.
    candidates: usize,
    /// Whether some candidate's `Trace` is not exact: the first pass did
    /// not trace it (its vtable's `count` does nothing), so its counts are
    /// thrown away, and `Run::discover` has to run.
    inexact: bool,
    /// Whether some candidate has a finalizer (that may not have run yet).
    finalizers: bool,
}

/// Step 2 unfused, for the recount after finalizers and on the path with
/// hand-written traces: the objects are pinned (as unreachable, or by
/// `pin_all`), so `gc_refs` is the strong count minus the pin.
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
            l.set_refs((strong / ONE - 1) as isize);
            l.set_flags((l.word() & (PERSISTENT | PINNED)) | COLLECTING);
            cur = l.next.get();
        }
    }
}

/// Step 3; returns false if some count would have gone below zero.
///
/// # Safety
/// `head` must be a consistent ring of pinned live boxes, and `places`
/// those of its inexact boxes.
unsafe fn subtract_refs(head: *const Links, places: &[Place]) -> bool {
    let mut tracer = Tracer::new(Mode::Subtract);
    // SAFETY: forwarded from the caller; subtracting never moves boxes.
    unsafe {
        let mut cur = (*head).next.get();
        while cur != head {
            // As in `move_unreachable`: an inexact type's vtable trace does
            // nothing, its places count instead.
            let vtable = (*cur).vtable();
            tracer.trace_at(value_of_links(cur), vtable.any);
            if vtable.flags & INEXACT != 0 {
                trace_places(&mut tracer, cur, places, AnyPass::INDEX);
            }
            cur = (*cur).next.get();
        }
    }
    !tracer.overcount
}

/// The places `links` named, traced at `pass` (one of the passes after the
/// first). Out of line: the hot passes only call it for inexact objects.
///
/// # Safety
/// `links` must be a pinned live box, `places` those named for the
/// collection (each still valid: see `trace.rs`), and `pass` must fit the
/// tracer's mode.
#[inline(never)]
unsafe fn trace_places(
    tracer: &mut Tracer<'_>,
    links: *const Links,
    places: &[Place],
    pass: usize,
) {
    let first = places.partition_point(|p| p.owner < links);
    for place in places[first..].iter().take_while(|p| p.owner == links) {
        // SAFETY: a place of a pinned candidate, still valid, traced by its
        // own type's exact trace (see `trace.rs`).
        unsafe { tracer.trace_at(place.addr, place.passes[pass]) };
    }
}

/// Sorts the places by owner and address, and drops every place of an
/// owner that named two overlapping places (counting an edge twice would
/// make an object look less referenced than it is). Returns the number of
/// such owners.
fn check_places(places: &mut Vec<Place>) -> usize {
    places.sort_unstable_by_key(|p| (p.owner, p.addr));
    let mut bad: Vec<*const Links> = places
        .windows(2)
        .filter(|w| w[0].owner == w[1].owner && w[0].addr.addr() + w[0].len > w[1].addr.addr())
        .map(|w| w[0].owner)
        .collect();
    bad.dedup();
    if !bad.is_empty() {
        places.retain(|p| bad.binary_search(&p.owner).is_err());
    }
    bad.len()
}

/// Marks every box of the ring `DROPPED`, when `move_unreachable` did
/// not (finalizers were to run).
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
            if let Some(finalize) = l.vtable().finalize
                && l.word() & FINALIZED == 0
            {
                l.set_flags((l.word() & FLAGS) | FINALIZED);
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

/// Stores `value` into `cell` whole (a volatile store, which the compiler
/// may not narrow to the bytes that changed).
#[inline(always)]
fn store_word<T: Copy>(cell: &Cell<T>, value: T) {
    // SAFETY: the cell's own pointer, valid and aligned; no reference to
    // its contents is live (`Cell` hands none out), and only this thread
    // uses it.
    unsafe { cell.as_ptr().write_volatile(value) }
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
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
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
        let word = unsafe { (*a.links().unwrap()).word() } & FLAGS;
        assert_eq!(word & !PERSISTENT, 0, "scratch bits cleared");
        assert_eq!(word & list::GEN_MASK, 2);
        a.edges.borrow_mut().clear();
    }

    /// Overlapping places of one owner drop all of that owner's places;
    /// other owners' places stay, sorted by owner and address.
    #[test]
    fn overlapping_places_drop_their_owner() {
        use crate::trace::Erased;
        let table = &Erased::<Option<Gc<u8>>>::PASSES;
        let buf = [0u8; 64];
        let at = |owner: usize, offset: usize, len: usize| Place {
            owner: std::ptr::without_provenance(owner),
            addr: buf.as_ptr().wrapping_add(offset),
            len,
            passes: table,
        };
        let mut places = vec![
            at(3, 8, 8),
            at(1, 16, 8),
            at(2, 0, 16),
            at(1, 0, 8),
            at(3, 0, 8),
            at(2, 8, 8), // inside 2's first place
            at(3, 16, 8),
            at(4, 0, 8),
            at(4, 0, 8), // the same part twice
        ];
        assert_eq!(check_places(&mut places), 2);
        let left: Vec<(usize, usize)> = places
            .iter()
            .map(|p| (p.owner.addr(), p.addr.addr() - buf.as_ptr().addr()))
            .collect();
        assert_eq!(left, [(1, 0), (1, 16), (3, 0), (3, 8), (3, 16)]);
    }

    /// Vouched exact, so that the first pass counts its edges.
    struct Vouched {
        next: RefCell<Option<Gc<Vouched>>>,
    }

    impl Trace for Vouched {
        const EXACT: crate::Exact<Self> =
            crate::Exact::certified().and(<RefCell<Option<Gc<Vouched>>> as Trace>::EXACT);
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
            self.next.trace(tracer);
        }
    }

    // SAFETY: reports its one field, once, in place, and runs nothing else.
    unsafe impl crate::ExactTrace for Vouched {
        fn trace_exact<P: crate::Pass>(&self, tracer: &mut Tracer<'_>) {
            tracer.field::<P, _>(&self.next);
        }
    }

    /// Hand-written: asks `is_tracked` of the object behind its `Weak`
    /// while the collector runs its trace.
    struct Asker {
        weak: crate::Weak<Vouched>,
        answers: std::cell::Cell<u32>,
    }

    impl Trace for Asker {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {
            if let Some(other) = self.weak.upgrade() {
                assert!(crate::is_tracked(&other), "a candidate said untracked");
                self.answers.set(self.answers.get() + 1);
            }
        }
    }

    /// During discovery a candidate's `prev` holds `gc_refs` (zero, for
    /// an object of a garbage cycle: a null pointer), and `is_tracked`
    /// still says yes.
    #[test]
    fn candidates_stay_tracked_while_prev_holds_their_count() {
        let st = state();
        let v = Gc::new(Vouched {
            next: RefCell::new(None),
        });
        *v.next.borrow_mut() = Some(v.clone());
        let asker = Gc::new(Asker {
            weak: Gc::downgrade(&v),
            answers: std::cell::Cell::new(0),
        });
        drop(v);
        assert_eq!(collect(st, 2), 1, "the self-cycle");
        assert_eq!(asker.answers.get(), 1);
        assert!(asker.weak.upgrade().is_none());
        assert!(crate::is_tracked(&asker));
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
            let word = unsafe { (*k.links().unwrap()).word() };
            assert_eq!(word & list::GEN_MASK, 1);
        }
        drop(keep);
        assert_eq!(st.len(1), before[1] + before[0]);
    }
}
