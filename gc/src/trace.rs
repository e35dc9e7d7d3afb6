//! The [`Trace`] trait (how the collector sees the `Gc`s a value owns), the
//! [`Tracer`] it reports them to, and the implementations for std types.
//!
//! # Invariants
//! - `Trace` is a safe trait, so nothing here may rely on an implementation
//!   being right. The collector treats the edges it reports as hints: a
//!   missing edge makes an object look referenced from outside (it leaks).
//!   An edge from an inexact object counts only if its handle lies in
//!   memory the object owns (`Tracer::owned`: its value's bytes, or an
//!   element that a container in owned memory keeps out of line), or is
//!   reported inside the trace of an exact type reached through such
//!   memory (`Tracer::trusted`); an exact type's trace reports only what
//!   it owns (`ExactTrace`). So every counted edge is, when reported, a
//!   handle in memory the reporting object owns; the final check of the
//!   garbage (`Mode::Verify`) also requires the target's handle count to
//!   be unchanged at each report, so a handle that exists only while it
//!   is reported (a clone) is caught. No handle outside the garbage can
//!   be mistaken for one inside it, unless a trace moves an existing
//!   handle (its own, or one from outside that it puts back) between
//!   reports: that is found only after the drops, by the handle left
//!   over, and aborts (see `collect.rs` for what that leaves). Tracer
//!   state narrowed for a nested trace is restored by a [`Scope`] even if
//!   the nested trace panics and the impl catches it. Over-reporting that
//!   drives a count below zero, a handle reported twice, and edges that
//!   differ between passes are detected and abandon the collection.
//! - In every pass of a collection, a value of an exact type is traced through
//!   its `ExactTrace::trace_exact` compiled for the pass (the pointers in its
//!   `Exact`: the vtable's `count` and `reach` for the two hot passes,
//!   `AnyPass` for the others, through `Tracer::trace_value_in`), never through
//!   `trace`; any other value through `trace`. (`referents` runs `trace` on
//!   every value, untrusted: see below.) Only then is the tracer `trusted`. A
//!   `trace_exact` reaches fields only through `Tracer::field`, which skips a
//!   type that is not exact, so a trusted trace runs no user code: that is what
//!   lets `RefCell`'s look in without a guard and `Cell`'s trace in place. Nor
//!   may anything allocate while one runs (the global allocator can be user
//!   code): so `Mode::Referents`, whose reports allocate, never trusts
//!   (`Tracer::may_trust`), and `Mode::Verify`'s vector is reserved before its
//!   trace. The counting pass's `Pass::visit` counts an edge only while the
//!   tracer trusts the object, so reaching it some other way cannot bypass the
//!   ownership rule above.
//! - `Tracer::visit` reads the target's header (the handle keeps the box
//!   allocated) and, for candidates of the running collection, updates the
//!   collector's scratch state (in `Mode::Verify`, also the `prev` link of a
//!   garbage box, which `collect.rs` restores; in `Mode::Reachable`, the
//!   `DROPPED` mark of a box found reachable after all, which it clears).
//!   It never runs user code. The handle's address is only compared, never
//!   dereferenced.
//! - `MAY_CONTAIN_GC` only decides whether a `Gc<T>` gets collector links;
//!   a wrong `false` leaves the box outside the collector (its handles count
//!   as outside references, so cycles through it leak, safely).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;

use crate::exact::{Exact, ExactFn, ExactTrace};
use crate::gc::{
    DROPPED, Gc, Header, ONE, TRACKED, Weak, links_of_header, tracked_links, value_of_links,
};
use crate::list::{
    self, COLLECTING, EXPECT_MAX, EXPECT_SHIFT, GEN_MASK, Links, NEWBORN, REFS_ONE, REFS_SHIFT,
    UNREACHABLE,
};
use crate::referents::AnyGc;

/// Describes the `Gc` pointers a value owns, so the collector can find
/// cycles. CPython's `tp_traverse`.
///
/// Usually derived: `#[derive(Trace)]` traces every field (skip one with
/// `#[trace(skip)]`). A manual impl calls `trace` on every field that may
/// hold a `Gc`:
///
/// ```
/// use cyclegc::{Gc, Trace, Tracer};
/// use std::cell::RefCell;
///
/// struct Node { label: String, children: RefCell<Vec<Gc<Node>>> }
///
/// impl Trace for Node {
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.children.trace(tracer);
///     }
/// }
/// ```
///
/// The trait is safe to implement. A wrong implementation leaks, or the
/// collection is abandoned, or (one case, below) the process aborts:
/// - a missing edge makes the target look referenced from outside: it is
///   kept (leaks, if it was garbage);
/// - a handle the value does not own (one in a thread-local, inside
///   another object reached through a `Gc`, or leaked) is not counted: a
///   hand-written impl's report counts only if the handle lies in the
///   value, or in what a std container in the value keeps out of line (a
///   `Vec`'s buffer, a `Box`'s value, a map's entries). So it is a missing
///   edge too. (The same goes for handles traced from a copy the impl made
///   itself; trace a value that must be moved out through the `Cell` impl,
///   which accounts for the move.)
/// - extra edges that add up to more references than an object has, a
///   handle reported twice, and edges that change from one pass to the
///   next (or a trace that clones or drops handles) are detected before
///   anything is dropped, and the collection is abandoned with everything
///   kept ([`GenerationStats::trace_errors`](crate::GenerationStats));
/// - a trace that *moves* an existing handle while it runs (its own between two
///   reports of it, or one from outside into its value and back, through a
///   `Cell` or `RefCell`) reports one handle from two places, or from memory it
///   does not stay in, which no count can tell from two owned handles: the
///   collector may drop a value still referenced from outside. That outside
///   handle outlives the drops of the garbage (safe code cannot destroy a
///   handle while a borrow derived from it lives), which the collector sees: it
///   then aborts the process with a message naming the type, before the
///   collection returns. A `Drop` that keeps a handle to garbage looks the
///   same, so in a collection with a hand-written (inexact) `Trace` among its
///   objects that aborts too. Not covered, because the abort comes after the
///   drops: a `Drop` of other garbage reading the wrongly dropped value through
///   a reference taken before the collection, and a reference into it held as a
///   function argument across the collection (UB under Rust's aliasing rules
///   once the value is dropped). Both need such a mutating impl.
///
/// Derived impls are [exact](ExactTrace): they cannot do any of this, so
/// the collector skips its check of the garbage for them, a second trace
/// of it.
///
/// So: trace every `Gc` the value owns exactly once, where it lives, and
/// change nothing while tracing; never trace through a `Gc` into another
/// object's fields; never trace a `Gc` that is shared with something not
/// itself traced (a thread-local, an `Rc`). A custom container that keeps
/// handles in memory of its own (raw allocations) is not seen as owning
/// them, so its cycles leak, unless it is certified with `unsafe impl`
/// [`ExactTrace`] and reached only through exact types and std containers
/// (an exact type's reports are all counted).
pub trait Trace {
    /// Whether a value of this type can own a `Gc`. When false, `Gc<Self>`
    /// is untracked: no collector header, no bookkeeping, the cost of an
    /// `Rc` (CPython untracks atomic objects the same way). Defaults to
    /// `true`; leaf types set it to `false`.
    const MAY_CONTAIN_GC: bool = true;

    /// Whether [`finalize`](Trace::finalize) does something. Set it to
    /// `true` when overriding `finalize`; the collector calls `finalize`
    /// only for types that say so (and tracks them even if they hold no
    /// `Gc`). With the derive, write `#[trace(finalize)]` and implement
    /// [`Finalize`].
    const FINALIZE: bool = false;

    /// Whether this impl is exact (see [`ExactTrace`]): when every object a
    /// collection examines is of an exact type, the collector skips its
    /// final check of the garbage, a second trace of it. Not exact by
    /// default; `#[derive(Trace)]` and the std impls compute it from their
    /// fields' types.
    const EXACT: Exact<Self> = Exact::NO;

    /// Visits every `Gc` this value owns by calling `trace` on it (or on
    /// the fields and containers holding it). Must not create, drop or
    /// mutate handles; anything else it does is wasted work.
    fn trace(&self, tracer: &mut Tracer<'_>);

    /// PEP 442 finalizer (CPython's `tp_finalize`). Runs at most once per
    /// object, before its value is dropped, while it and everything it
    /// refers to are intact: for an object that dies by reference counting
    /// just before the drop, and for a garbage cycle before any value of the
    /// cycle is dropped. It may resurrect the object (store a handle to it
    /// somewhere reachable, e.g. via a [`Weak`]); the collector then checks
    /// reachability again and keeps it. Only called when
    /// [`FINALIZE`](Trace::FINALIZE) is `true`.
    fn finalize(&self) {}
}

/// The finalizer that `#[derive(Trace)]` with `#[trace(finalize)]` calls;
/// see [`Trace::finalize`] for when it runs.
///
/// ```
/// use cyclegc::{Finalize, Gc, Trace};
/// use std::cell::{Cell, RefCell};
///
/// thread_local!(static RAN: Cell<u32> = Cell::new(0));
///
/// #[derive(Trace)]
/// #[trace(finalize)]
/// struct Node { next: RefCell<Option<Gc<Node>>> }
///
/// impl Finalize for Node {
///     fn finalize(&self) {
///         RAN.with(|r| r.set(r.get() + 1));
///     }
/// }
///
/// let a = Gc::new(Node { next: RefCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(cyclegc::collect(), 1);
/// assert_eq!(RAN.with(Cell::get), 1);
/// ```
pub trait Finalize {
    /// Runs once before the value is dropped; see [`Trace::finalize`].
    fn finalize(&self);
}

/// A pass of the collector, as a type: what an exact trace
/// ([`ExactTrace::trace_exact`]) is compiled for, so that the collector's
/// two hot passes (the first, counting pass and the reachability pass) run
/// with no test per edge of which pass runs or whether the handle is owned
/// (an exact trace reports only handles it owns). An `ExactTrace` impl
/// only passes `P` on. Sealed: only the collector has passes.
pub trait Pass: sealed::Sealed {
    /// The pass's place in an [`Exact`]'s table of compiled traces.
    #[doc(hidden)]
    const INDEX: usize;
    /// Reports one edge, like [`Tracer::visit`].
    #[doc(hidden)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>);
}

mod sealed {
    /// Keeps [`Pass`](super::Pass) impls inside this crate.
    pub trait Sealed {}
}

/// [`Mode::Count`] as a [`Pass`].
pub(crate) enum CountPass {}

/// [`Mode::Reachable`] as a [`Pass`].
pub(crate) enum ReachPass {}

/// Any mode, dispatched per edge ([`Tracer::visit`]): the rare passes
/// (`Mode::Subtract`, `Mode::Verify`). Not [`referents`](crate::referents),
/// which never runs exact traces (`Tracer::may_trust`).
pub(crate) enum AnyPass {}

impl sealed::Sealed for CountPass {}
impl sealed::Sealed for ReachPass {}
impl sealed::Sealed for AnyPass {}

impl Pass for CountPass {
    const INDEX: usize = 0;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        // Always trusted when the collector runs the pass (it traces exact
        // values only). A `trace_exact` called from anywhere else (by a
        // hand-written one) is not: its edges are left out, like any edge
        // not counted (a leak at worst). The test is hoisted out of the
        // loops.
        if let Mode::Count(generation) = tracer.mode
            && tracer.trusted
        {
            tracer.count_target(gc.header_ptr(), generation);
        }
    }
}

impl Pass for ReachPass {
    const INDEX: usize = 1;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        if let Mode::Reachable(reachable) = tracer.mode {
            reach_edge(gc.header_ptr(), reachable);
        }
    }
}

impl Pass for AnyPass {
    const INDEX: usize = 2;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        tracer.visit(gc)
    }
}

/// What a tracer does with each edge.
pub(crate) enum Mode<'a> {
    /// The fused first pass of a collection of generations `0..=g`: a
    /// candidate already reached (`COLLECTING`) has one reference fewer from
    /// outside; one not reached yet counts one more internal reference,
    /// which it subtracts from its strong count when it is reached.
    Count(usize),
    /// Trial deletion among `COLLECTING` boxes: one reference fewer from
    /// outside.
    Subtract,
    /// Propagate reachability; revived objects go to this list's tail.
    Reachable(*const Links),
    /// Collect the edges for [`referents`](crate::referents).
    Referents(&'a mut Vec<AnyGc>),
    /// The final check of the garbage set (`collect.rs`,
    /// `verify_and_mark`): count down the edges expected into each
    /// `COLLECTING` box (see [`EXPECT_SHIFT`]), and keep the addresses of
    /// the handles reported into boxes with two or more handles, to find
    /// any handle reported twice: in the box's `prev` link for two, in the
    /// vector for more. `overcount` then also means "a handle reported
    /// twice".
    Verify(&'a mut Vec<usize>),
}

/// Receives the edges reported by [`Trace::trace`]. Only the collector
/// creates tracers; implementations just pass it along.
pub struct Tracer<'a> {
    mode: Mode<'a>,
    /// Set when an edge would drive a count below zero (or, in
    /// [`Mode::Verify`], a handle is reported twice): proof that some
    /// `Trace` impl reported an edge that does not exist.
    pub(crate) overcount: bool,
    /// Where the handles being traced really live: `Cell`'s impl traces its
    /// value from a temporary copy on the stack, and a handle address in
    /// `from..from + len` stands for the same offset from `to`. Empty
    /// (`len == 0`) outside a `Cell`.
    relocation: Relocation,
    /// Memory the object being traced owns: its value's bytes, or the
    /// element of a container it owns that is being traced. A handle an
    /// inexact trace reports from outside it is not counted.
    owned: Region,
    /// Set while every handle reported is owned by the object being
    /// traced: through its whole trace if its type is exact, or inside an
    /// exact impl reached through memory it owns.
    trusted: bool,
}

/// A range of addresses, `start..start + len`.
#[derive(Clone, Copy)]
struct Region {
    start: usize,
    len: usize,
}

impl Region {
    const EMPTY: Region = Region { start: 0, len: 0 };

    #[inline]
    fn of<T: ?Sized>(value: &T) -> Region {
        Region {
            start: std::ptr::from_ref(value).addr(),
            len: std::mem::size_of_val(value),
        }
    }

    #[inline]
    fn contains(self, addr: usize) -> bool {
        addr.wrapping_sub(self.start) < self.len
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Relocation {
    from: usize,
    len: usize,
    to: usize,
}

impl Relocation {
    /// The address a handle at `addr` stands for.
    #[inline]
    fn home_of(self, addr: usize) -> usize {
        let offset = addr.wrapping_sub(self.from);
        if offset < self.len {
            self.to + offset
        } else {
            addr
        }
    }
}

/// Changes to where the tracer looks for owned memory (`owned`, `trusted`,
/// `relocation`) for the duration of one nested trace, undone when the
/// scope ends, even by a panic: a `Trace` impl may catch a panic from a
/// nested trace and go on reporting, and must not do so with a region or
/// relocation left over from a trace that no longer runs (a relocation
/// would map a dead stack slot into the value).
struct Scope<'t, 'a> {
    tracer: &'t mut Tracer<'a>,
    /// The tracer's `owned`, `trusted` and `relocation` to go back to.
    saved: (Region, bool, Relocation),
}

impl<'t, 'a> Scope<'t, 'a> {
    fn new(tracer: &'t mut Tracer<'a>) -> Self {
        Scope {
            saved: (tracer.owned, tracer.trusted, tracer.relocation),
            tracer,
        }
    }
}

impl<'a> std::ops::Deref for Scope<'_, 'a> {
    type Target = Tracer<'a>;
    fn deref(&self) -> &Tracer<'a> {
        self.tracer
    }
}

impl<'a> std::ops::DerefMut for Scope<'_, 'a> {
    fn deref_mut(&mut self) -> &mut Tracer<'a> {
        self.tracer
    }
}

impl Drop for Scope<'_, '_> {
    fn drop(&mut self) {
        (
            self.tracer.owned,
            self.tracer.trusted,
            self.tracer.relocation,
        ) = self.saved;
    }
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(mode: Mode<'a>) -> Tracer<'a> {
        Tracer {
            mode,
            overcount: false,
            relocation: Relocation {
                from: 0,
                len: 0,
                to: 0,
            },
            owned: Region::EMPTY,
            trusted: false,
        }
    }

    /// Traces the value of the tracked box `links` with `trace`, one of
    /// its vtable's traces (`trace`, or `count` or `reach` for the pass of
    /// that name), which ends in [`Tracer::trace_value_in`].
    ///
    /// # Safety
    /// `links` must be a live tracked box with an intact value, and
    /// `trace` one of its vtable's traces that fits this tracer's mode.
    #[inline]
    pub(crate) unsafe fn trace_box(
        &mut self,
        links: *const Links,
        trace: unsafe fn(*const u8, &mut Tracer<'_>),
    ) {
        // SAFETY: guaranteed by the caller.
        unsafe { trace(value_of_links(links), self) }
    }

    /// Traces `value`, the value of a tracked box, in the pass `P`, which
    /// must be this tracer's mode (or [`AnyPass`], for any mode). The value
    /// owns its own bytes, and all it reports if `T` is exact: then it is
    /// traced through its `trace_exact` compiled for `P`, except in
    /// `Mode::Referents`, where it runs `trace`, untrusted.
    #[inline]
    pub(crate) fn trace_value_in<T: Trace, P: Pass>(&mut self, value: &T) {
        if let Some(trace) = T::EXACT.pass::<P>()
            && self.may_trust::<P>()
        {
            self.trusted = true;
            trace(value, self)
        } else {
            self.trusted = false;
            self.owned = Region::of(value);
            value.trace(self)
        }
    }

    /// For [`ExactTrace::trace_exact`]: traces `field`, a value the traced
    /// one owns, in the pass `P`, through the field type's own
    /// `trace_exact`. A field whose type is not exact is skipped (its
    /// `trace` is user code, which an exact trace must not run): its edges
    /// are missed, in every pass alike, which can only keep objects alive.
    /// Only a type whose `EXACT` claims more than its fields give gets
    /// there (see [`ExactTrace`]).
    ///
    /// ```
    /// use cyclegc::{Exact, ExactTrace, Gc, Pass, Trace, Tracer};
    ///
    /// struct Pair { left: Gc<u8>, right: Option<Gc<Pair>> }
    ///
    /// impl Trace for Pair {
    ///     const EXACT: Exact<Self> = Exact::certified()
    ///         .and(<Gc<u8> as Trace>::EXACT)
    ///         .and(<Option<Gc<Pair>> as Trace>::EXACT);
    ///     fn trace(&self, tracer: &mut Tracer<'_>) {
    ///         self.left.trace(tracer);
    ///         self.right.trace(tracer);
    ///     }
    /// }
    /// // SAFETY: both fields, once each, in place; nothing else.
    /// unsafe impl ExactTrace for Pair {
    ///     fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
    ///         tracer.field::<P, _>(&self.left);
    ///         tracer.field::<P, _>(&self.right);
    ///     }
    /// }
    /// # let p = Gc::new(Pair { left: Gc::new(1), right: None });
    /// # assert_eq!(cyclegc::referents(&p).len(), 1);
    /// ```
    #[inline(always)]
    pub fn field<P: Pass, F: ?Sized + Trace>(&mut self, field: &F) {
        if let Some(trace) = F::EXACT.pass::<P>() {
            trace(field, self)
        }
    }

    /// Whether `container` lies in memory the traced object owns, so that
    /// what it keeps out of line (a `Box`'s value, a collection's
    /// elements) is owned too. False while [trusted](Tracer::trusted),
    /// where it makes no difference.
    #[inline]
    pub(crate) fn owns<C: ?Sized>(&self, container: &C) -> bool {
        !self.trusted && self.owns_handle(std::ptr::from_ref(container).addr())
    }

    /// Traces `item`, kept out of line by a container (the one value of a
    /// `Box`, an item of a collection); `owned` is what [`Tracer::owns`]
    /// said of the container. An owned item is owned memory while it is
    /// traced, and all it reports is trusted if its type is exact.
    #[inline]
    pub(crate) fn trace_element<T: ?Sized + Trace>(&mut self, owned: bool, item: &T) {
        if owned {
            self.trace_owned(item);
        } else {
            item.trace(self);
        }
    }

    /// Whether the handle at `handle` lies in owned memory. Out of line:
    /// exact types never ask, and the hot passes stay small.
    #[inline(never)]
    fn owns_handle(&self, handle: usize) -> bool {
        self.owned.contains(self.relocation.home_of(handle))
    }

    /// Whether a trace in the pass `P` may run exact traces, trusted: not
    /// in [`Mode::Referents`], whose reports allocate. A trusted trace runs
    /// no user code, and the global allocator can be user code (a tracking
    /// allocator's callback); it must not run while `RefCell`'s unguarded
    /// borrow or `Cell`'s in-place reference is live. A constant for the
    /// two hot passes. The final check (`Mode::Verify`) reserves its
    /// vector before it traces.
    #[inline(always)]
    fn may_trust<P: Pass>(&self) -> bool {
        P::INDEX != AnyPass::INDEX || !matches!(self.mode, Mode::Referents(_))
    }

    /// Traces `item`, kept out of line by a container in owned memory.
    fn trace_owned<T: ?Sized + Trace>(&mut self, item: &T) {
        let trusted = self.may_trust::<AnyPass>();
        let mut scope = Scope::new(self);
        if let Some(trace) = T::EXACT.pass::<AnyPass>()
            && trusted
        {
            scope.trusted = true;
            trace(item, &mut scope);
        } else {
            scope.owned = Region::of(item);
            scope.trusted = false;
            item.trace(&mut scope);
        }
    }

    /// Traces `value`, of an exact type, in place through its
    /// `trace_exact` (which runs no user code): trusted if `container`
    /// lies in owned memory (a `Cell` owned by the object), else with every
    /// handle checked as usual.
    #[inline]
    fn trace_exact_in<C: ?Sized, T: ?Sized + Trace>(
        &mut self,
        container: &C,
        value: &T,
        trace: ExactFn<T>,
    ) {
        if self.owns(container) {
            let mut scope = Scope::new(self);
            scope.trusted = true;
            trace(value, &mut scope);
        } else {
            trace(value, self);
        }
    }

    /// Reports one edge: `gc` is owned by the value being traced. Same as
    /// `gc.trace(tracer)`.
    #[inline(always)]
    pub fn visit<T: ?Sized + 'static>(&mut self, gc: &Gc<T>) {
        let handle = std::ptr::from_ref(gc).addr();
        match self.mode {
            Mode::Count(generation) => self.count_edge(gc.header_ptr(), handle, generation),
            Mode::Reachable(reachable) => reach_edge(gc.header_ptr(), reachable),
            _ => self.rare_edge(gc.header_ptr(), handle, || AnyGc::new(gc.clone())),
        }
    }

    /// While tracing a value moved out of its `Cell` (at `home`) to `temp`:
    /// handles inside `temp` stand for the ones inside `home`. Only inside
    /// a [`Scope`], which undoes it.
    #[inline]
    fn relocate<T>(&mut self, temp: &T, home: *const T) {
        self.relocation = Relocation {
            from: std::ptr::from_ref(temp).addr(),
            len: std::mem::size_of::<T>(),
            to: self.relocation.home_of(home.addr()),
        };
    }

    /// The target's links, if the edge may count: its box is tracked (an
    /// untracked one cannot be part of a cycle) and the handle is one the
    /// traced object owns. A handle it does not own (one in a
    /// thread-local, or in another object) could make an object that is
    /// referenced from outside look unreachable; left out, it is an
    /// outside reference, like any edge a trace misses.
    ///
    /// # Safety
    /// `header` must be the header of the box the handle refers to; the
    /// links returned live as long as that handle.
    #[inline(always)]
    unsafe fn counted(&self, header: *const Header, handle: usize) -> Option<*const Links> {
        if !self.trusted && !self.owns_handle(handle) {
            return None;
        }
        // SAFETY: forwarded.
        unsafe { tracked_links(header) }
    }

    /// [`Mode::Count`]: one reference fewer from outside for a candidate
    /// already reached, one more internal reference for one not reached.
    #[inline(always)]
    fn count_edge(&mut self, header: *const Header, handle: usize, generation: usize) {
        if self.trusted || self.owns_handle(handle) {
            self.count_target(header, generation);
        }
    }

    /// [`Tracer::count_edge`] for an edge that counts: `header` is that of
    /// a handle the traced object owns.
    #[inline(always)]
    fn count_target(&mut self, header: *const Header, generation: usize) {
        // SAFETY: `header` is that of the reported handle's box, which the
        // handle keeps alive, links included.
        let Some(links) = (unsafe { tracked_links(header) }) else {
            return;
        };
        // SAFETY: as above.
        let l = unsafe { &*links };
        let word = l.word.get();
        if word & (GEN_MASK | NEWBORN) > generation {
            // Not a candidate: older, frozen, born during this collection,
            // or in no list. Counts as an outside reference.
        } else if word & COLLECTING == 0 {
            l.word.set(word + REFS_ONE);
        } else if word >> REFS_SHIFT == 0 {
            self.overcount = true;
        } else {
            l.word.set(word - REFS_ONE);
        }
    }

    /// [`Tracer::visit`] in the modes of the rare passes (the resurrection
    /// check, the final check of the garbage) and of
    /// [`referents`](crate::referents); `any` makes the handle's copy for
    /// `referents`. Kept out of line so that the two hot passes stay small.
    #[inline(never)]
    fn rare_edge(&mut self, header: *const Header, handle: usize, any: impl FnOnce() -> AnyGc) {
        if let Mode::Referents(out) = &mut self.mode {
            out.push(any());
            return;
        }
        if self.rare_edge_is_wrong(header, handle) {
            self.overcount = true;
        }
    }

    /// [`Tracer::rare_edge`] in the counting modes: whether the edge
    /// proves a count wrong (see [`Tracer::overcount`]).
    fn rare_edge_is_wrong(&mut self, header: *const Header, handle: usize) -> bool {
        // SAFETY: `header` is that of the reported handle's box.
        let Some(links) = (unsafe { self.counted(header, handle) }) else {
            return false;
        };
        // SAFETY: the reported handle keeps the box alive.
        let l = unsafe { &*links };
        let word = l.word.get();
        if word & COLLECTING == 0 {
            // Not a candidate (or no longer one): an outside reference.
            return false;
        }
        match self.mode {
            Mode::Verify(ref mut many) => {
                if (word >> REFS_SHIFT) & EXPECT_MAX == 0 {
                    // More edges than handles.
                    return true;
                }
                // SAFETY: the reported handle keeps the box alive.
                let handles = unsafe { (*header).strong.get() } / ONE - 1;
                if handles.min(EXPECT_MAX) != word >> EXPECT_SHIFT {
                    // A handle made or dropped since the box was found
                    // unreachable, and still there as it is reported: a
                    // trace that clones a handle from outside into its own
                    // value, reports it and drops it again would otherwise
                    // pass for the outside handle (the count is back to
                    // normal by the end of the check).
                    return true;
                }
                l.word.set(word - REFS_ONE);
                match word >> EXPECT_SHIFT {
                    0 | 1 => {}
                    2 => {
                        // Two handles: the first address reported waits in
                        // `prev` (see `collect.rs`, `verify_and_mark`) for
                        // the second.
                        let home = self.relocation.home_of(handle);
                        if (word >> REFS_SHIFT) & EXPECT_MAX == 2 {
                            l.prev.set(std::ptr::without_provenance(home));
                        } else if l.prev.get().addr() == home {
                            // The same handle reported twice.
                            return true;
                        }
                    }
                    _ => {
                        // Reserved before the trace (`verify_and_mark`):
                        // pushing allocates nothing while exact traces,
                        // trusted to run no user code, are on the stack.
                        // Never more edges than handles get here.
                        if many.len() == many.capacity() {
                            return true;
                        }
                        many.push(self.relocation.home_of(handle));
                    }
                }
                false
            }
            Mode::Subtract => {
                if word >> REFS_SHIFT == 0 {
                    return true;
                }
                l.word.set(word - REFS_ONE);
                false
            }
            Mode::Count(_) | Mode::Reachable(_) | Mode::Referents(_) => false,
        }
    }
}

/// [`Mode::Reachable`]: a candidate reached from a reachable object is
/// reachable. Every edge is followed, owned or not: marking more objects
/// reachable only keeps more.
#[inline(always)]
fn reach_edge(header: *const Header, reachable: *const Links) {
    // SAFETY: the handle that reported this edge keeps the box alive.
    let strong = unsafe { (*header).strong.get() };
    if strong & TRACKED == 0 {
        return;
    }
    let links = links_of_header(header);
    // SAFETY: a tracked box has links before its header.
    let l = unsafe { &*links };
    let word = l.word.get();
    if word & COLLECTING == 0 {
        // Not a candidate (or no longer one).
    } else if word & UNREACHABLE != 0 {
        // Moved to the unreachable list earlier, but reachable after all:
        // back to the list being scanned.
        // SAFETY: both are live; the box is in a collector list.
        unsafe { list::move_back(reachable, links) };
        // Taken for garbage, it may have been marked dropped (`collect.rs`,
        // `move_unreachable`); it is not.
        if strong & DROPPED != 0 {
            // SAFETY: as above.
            unsafe { (*header).strong.set(strong & !DROPPED) };
        }
        l.word
            .set((word & !UNREACHABLE & (REFS_ONE - 1)) | REFS_ONE);
    } else if word >> REFS_SHIFT == 0 {
        // Not scanned yet: make sure it will be seen as reachable.
        l.word.set(word | REFS_ONE);
    }
}

/// Object-safe companion of [`Trace`], for `Box<dyn DynTrace>` fields
/// (`Trace` itself has associated constants, so `dyn Trace` is not a type).
///
/// ```
/// use cyclegc::{DynTrace, Gc, Trace};
///
/// #[derive(Trace)]
/// struct Holder { any: Vec<Box<dyn DynTrace>> }
///
/// let h = Gc::new(Holder { any: vec![Box::new(Gc::new(1u8)), Box::new(String::new())] });
/// assert!(cyclegc::is_tracked(&h));
/// ```
pub trait DynTrace {
    /// Calls [`Trace::trace`].
    fn dyn_trace(&self, tracer: &mut Tracer<'_>);
}

impl<T: Trace> DynTrace for T {
    fn dyn_trace(&self, tracer: &mut Tracer<'_>) {
        self.trace(tracer)
    }
}

impl Trace for dyn DynTrace {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.dyn_trace(tracer)
    }
}

impl<T: ?Sized + 'static> Trace for Gc<T> {
    const EXACT: Exact<Self> = Exact::certified();
    #[inline(always)]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.visit(self)
    }
}

// SAFETY: reports the handle itself, where it lives.
unsafe impl<T: ?Sized + 'static> ExactTrace for Gc<T> {
    #[inline(always)]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        P::visit(tracer, self)
    }
}

/// Types whose trace reports nothing: `Trace` and `ExactTrace` with empty
/// bodies, for the type after `for` with the generics before it.
macro_rules! nothing_to_trace {
    ($(<$($g:ident $(: ?$sized:ident)? $(+ $bound:lifetime)?),*>)? for $t:ty) => {
        impl$(<$($g $(: ?$sized)? $(+ $bound)?),*>)? Trace for $t {
            const MAY_CONTAIN_GC: bool = false;
            const EXACT: Exact<Self> = Exact::certified();
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
        }
        // SAFETY: reports nothing and runs nothing.
        unsafe impl$(<$($g $(: ?$sized)? $(+ $bound)?),*>)? ExactTrace for $t {
            #[inline(always)]
            fn trace_exact<P: Pass>(&self, _: &mut Tracer<'_>) {}
        }
    };
}

// Weak pointers are not edges: they never keep anything alive.
nothing_to_trace!(<T: ?Sized + 'static> for Weak<T>);
// Borrowed data is never owned by the value, so it is no edge.
nothing_to_trace!(<T: ?Sized> for &T);
nothing_to_trace!(<T: ?Sized> for PhantomData<T>);

macro_rules! leaf {
    ($($t:ty),* $(,)?) => {$(
        nothing_to_trace!(for $t);
    )*};
}

leaf!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroIsize,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::Path,
    std::path::PathBuf,
    std::ffi::OsStr,
    std::ffi::OsString,
    std::ffi::CStr,
    std::ffi::CString,
    std::any::TypeId,
    std::cmp::Ordering,
);

impl<T: ?Sized + Trace> Trace for Box<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.trace_element(tracer.owns(self), &**self)
    }
}

// SAFETY: traces the one value it owns.
unsafe impl<T: ?Sized + Trace> ExactTrace for Box<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        tracer.field::<P, T>(self)
    }
}

macro_rules! sequence {
    ($($t:ident<T $(, $s:ident)?>),*) => {$(
        impl<T: Trace $(, $s)?> Trace for $t<T $(, $s)?> {
            const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
            const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if T::MAY_CONTAIN_GC {
                    let owned = tracer.owns(self);
                    for item in self {
                        tracer.trace_element(owned, item);
                    }
                }
            }
        }
        // SAFETY: traces each element once, in place; iterating runs no
        // user code (no hasher, no `Ord`).
        unsafe impl<T: Trace $(, $s)?> ExactTrace for $t<T $(, $s)?> {
            #[inline]
            fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
                if T::MAY_CONTAIN_GC {
                    for item in self {
                        tracer.field::<P, T>(item);
                    }
                }
            }
        }
    )*};
}

sequence!(
    Vec<T>,
    VecDeque<T>,
    LinkedList<T>,
    BinaryHeap<T>,
    BTreeSet<T>,
    HashSet<T, S>
);

impl<T: Trace> Trace for [T] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            for item in self {
                item.trace(tracer);
            }
        }
    }
}

// SAFETY: traces each element once, in place.
unsafe impl<T: Trace> ExactTrace for [T] {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            for item in self {
                tracer.field::<P, T>(item);
            }
        }
    }
}

impl<T: Trace, const N: usize> Trace for [T; N] {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer)
    }
}

// SAFETY: traces each element once, in place.
unsafe impl<T: Trace, const N: usize> ExactTrace for [T; N] {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace_exact::<P>(tracer)
    }
}

macro_rules! map {
    ($($t:ident<K, V $(, $s:ident)?>),*) => {$(
        impl<K: Trace, V: Trace $(, $s)?> Trace for $t<K, V $(, $s)?> {
            const MAY_CONTAIN_GC: bool = K::MAY_CONTAIN_GC || V::MAY_CONTAIN_GC;
            const EXACT: Exact<Self> = Exact::certified().and(K::EXACT).and(V::EXACT);
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if Self::MAY_CONTAIN_GC {
                    let owned = tracer.owns(self);
                    for (k, v) in self {
                        tracer.trace_element(owned, k);
                        tracer.trace_element(owned, v);
                    }
                }
            }
        }
        // SAFETY: traces each key and value once; iterating calls no hasher
        // and no `Ord`.
        unsafe impl<K: Trace, V: Trace $(, $s)?> ExactTrace for $t<K, V $(, $s)?> {
            fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
                if Self::MAY_CONTAIN_GC {
                    for (k, v) in self {
                        tracer.field::<P, K>(k);
                        tracer.field::<P, V>(v);
                    }
                }
            }
        }
    )*};
}

map!(HashMap<K, V, S>, BTreeMap<K, V>);

impl<T: Trace> Trace for Option<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(v) = self {
            v.trace(tracer);
        }
    }
}

// SAFETY: traces the value it holds, if any.
unsafe impl<T: Trace> ExactTrace for Option<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if let Some(v) = self {
            tracer.field::<P, T>(v);
        }
    }
}

impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC || E::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT).and(E::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(v) => v.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
}

// SAFETY: traces the variant it holds.
unsafe impl<T: Trace, E: Trace> ExactTrace for Result<T, E> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(v) => tracer.field::<P, T>(v),
            Err(e) => tracer.field::<P, E>(e),
        }
    }
}

impl<T: Trace> Trace for std::cmp::Reverse<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer)
    }
}

// SAFETY: traces the value it wraps.
unsafe impl<T: Trace> ExactTrace for std::cmp::Reverse<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        tracer.field::<P, T>(&self.0)
    }
}

/// A `RefCell` that is mutably borrowed while a collection runs cannot be
/// looked into; its contents then count as referenced from outside (they
/// are kept), which is conservative and never unsound.
impl<T: ?Sized + Trace> Trace for RefCell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC
            && let Ok(inner) = self.try_borrow()
        {
            inner.trace(tracer);
        }
    }
}

// SAFETY: traces its contents (or nothing while a `RefMut` exists); taking
// and releasing the borrow runs no user code.
unsafe impl<T: ?Sized + Trace> ExactTrace for RefCell<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            // SAFETY: no `RefMut` exists (checked), and none can be taken
            // while `inner` is in use: an exact trace runs no user code
            // (`ExactTrace`; `Tracer::field` skips any type that is not
            // exact), so nothing but this trace touches the cell.
            if let Ok(inner) = unsafe { self.try_borrow_unguarded() } {
                tracer.field::<P, T>(inner);
            }
        }
    }
}

/// Puts a value back into its `Cell` after tracing, even on a panic.
struct PutBack<'a, T: Default>(&'a Cell<T>, T);

impl<T: Default> Drop for PutBack<'_, T> {
    fn drop(&mut self) {
        self.0.set(std::mem::take(&mut self.1));
    }
}

/// A `Cell` hands out no references. If `T` is exact, its `trace_exact`
/// runs no code that could `set` the cell, so it is traced in place
/// (except for [`referents`](crate::referents), which allocates as it
/// goes, and so never runs exact traces); otherwise the value is taken out
/// for the duration of the trace and put back.
impl<T: Trace + Default> Trace for Cell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if !T::MAY_CONTAIN_GC {
            return;
        }
        if let Some(trace) = T::EXACT.pass::<AnyPass>()
            && tracer.may_trust::<AnyPass>()
        {
            // SAFETY: an exact trace runs nothing but the tracer and other
            // exact traces (`ExactTrace`), none of which writes to this
            // cell, and it allocates nothing (`may_trust`), so the shared
            // borrow is never aliased by a write.
            tracer.trace_exact_in(self, unsafe { &*self.as_ptr() }, trace);
        } else {
            let held = PutBack(self, self.take());
            // Dropped before `held`: the relocation ends before the value
            // goes back, on every path.
            let mut scope = Scope::new(tracer);
            scope.relocate(&held.1, self.as_ptr());
            held.1.trace(&mut scope);
        }
    }
}

// SAFETY: traces the value in place through its `trace_exact` (`field`
// skips a `T` that is not exact, whose trace could `set` the cell).
unsafe impl<T: Trace + Default> ExactTrace for Cell<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            // SAFETY: as in `trace`: an exact trace never writes to the
            // cell, and `field` runs nothing else.
            tracer.field::<P, T>(unsafe { &*self.as_ptr() })
        }
    }
}

macro_rules! tuple {
    ($($name:ident)+) => {
        impl<$($name: Trace),+> Trace for ($($name,)+) {
            const MAY_CONTAIN_GC: bool = false $(|| $name::MAY_CONTAIN_GC)+;
            const EXACT: Exact<Self> = Exact::certified()$(.and($name::EXACT))+;
            #[inline]
            #[allow(non_snake_case)]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                let ($($name,)+) = self;
                $($name.trace(tracer);)+
            }
        }
        // SAFETY: traces each element once, in place.
        unsafe impl<$($name: Trace),+> ExactTrace for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
                let ($($name,)+) = self;
                $(tracer.field::<P, $name>($name);)+
            }
        }
    };
}

tuple!(A);
tuple!(A B);
tuple!(A B C);
tuple!(A B C D);
tuple!(A B C D E);
tuple!(A B C D E F);
tuple!(A B C D E F G);
tuple!(A B C D E F G H);
tuple!(A B C D E F G H I);
tuple!(A B C D E F G H I J);
tuple!(A B C D E F G H I J K);
tuple!(A B C D E F G H I J K L);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_contain_gc_is_computed() {
        const { assert!(!<u64 as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<String as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<Vec<(u8, String)> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<HashMap<String, Vec<u32>> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<Weak<u32> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<RefCell<Option<Weak<u32>>> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<Gc<u32> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<Option<Gc<u32>> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<(u8, Vec<Gc<u8>>) as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<BTreeMap<u8, Gc<u8>> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<Cell<Option<Gc<u8>>> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(<Box<dyn DynTrace> as Trace>::MAY_CONTAIN_GC) };
        const { assert!(!<[u8; 4] as Trace>::MAY_CONTAIN_GC) };
    }

    thread_local!(static TRACED_AT: Cell<usize> = const { Cell::new(0) });

    /// A hand-written (so inexact) trace that records where it ran.
    #[derive(Default)]
    struct WhereTraced(Option<Gc<u8>>);

    impl Trace for WhereTraced {
        fn trace(&self, tracer: &mut Tracer<'_>) {
            TRACED_AT.with(|t| t.set(std::ptr::from_ref(self).addr()));
            self.0.trace(tracer);
        }
    }

    /// `Tracer::field`, what every exact trace reaches its fields through,
    /// runs the field type's own `trace_exact`, and for a type that is not
    /// exact nothing at all (its `trace` is user code).
    #[test]
    fn field_skips_a_type_that_is_not_exact() {
        let target = Gc::new(7u8);
        let inexact = WhereTraced(Some(target.clone()));
        let exact = Some(target.clone());
        let mut out = Vec::new();
        TRACED_AT.with(|t| t.set(0));
        {
            let mut tracer = Tracer::new(Mode::Referents(&mut out));
            tracer.field::<AnyPass, _>(&inexact);
            assert_eq!(TRACED_AT.with(Cell::get), 0, "ran an inexact trace");
            tracer.field::<AnyPass, _>(&exact);
        }
        assert_eq!(out.len(), 1);
        assert!(out[0].ptr_eq(&target));
    }

    #[test]
    fn inexact_cell_contents_are_traced_from_a_copy_and_put_back() {
        const { assert!(!<Cell<WhereTraced> as Trace>::EXACT.is_exact()) };
        let target = Gc::new(7u8);
        let cell = Cell::new(WhereTraced(Some(target.clone())));
        let mut out = Vec::new();
        cell.trace(&mut Tracer::new(Mode::Referents(&mut out)));
        // In place, an inexact trace could `set` the cell under its own
        // `&self`: it must have run on a copy.
        let at = TRACED_AT.with(Cell::get);
        assert_ne!(at, 0, "traced");
        assert_ne!(at, cell.as_ptr().addr(), "traced in place");
        assert_eq!(out.len(), 1);
        assert!(out[0].ptr_eq(&target));
        drop(out);
        assert!(cell.take().0.is_some(), "value put back");
        assert_eq!(Gc::strong_count(&target), 1, "nothing leaked");
    }

    /// Panics in a nested trace, after the tracer has narrowed its owned
    /// region or set up a `Cell` relocation.
    #[derive(Default)]
    struct Bomb(#[allow(dead_code)] u64);

    impl Trace for Bomb {
        fn trace(&self, _: &mut Tracer<'_>) {
            panic!("bomb");
        }
    }

    /// A `Trace` impl may catch a panic from a nested trace and go on
    /// reporting: the region and relocation of the trace that panicked
    /// must not outlive it (a relocation would map a dead stack slot into
    /// the value, and a narrowed region would be the wrong one).
    #[test]
    fn a_caught_panic_leaves_no_region_or_relocation_behind() {
        let value = (Cell::new(Bomb(1)), vec![Bomb(2)]);
        let mut out = Vec::new();
        let mut tracer = Tracer::new(Mode::Referents(&mut out));
        let whole = Region::of(&value);
        tracer.owned = whole;
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| value.0.trace(&mut tracer)));
        assert!(caught.is_err());
        assert_eq!(tracer.relocation.len, 0, "relocation undone");
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| value.1.trace(&mut tracer)));
        assert!(caught.is_err());
        assert_eq!(
            (tracer.owned.start, tracer.owned.len),
            (whole.start, whole.len),
            "region restored"
        );
        assert!(!tracer.trusted);
    }

    #[test]
    fn cell_trace_puts_the_value_back() {
        let target = Gc::new(7u8);
        let cell = Cell::new(Some(target.clone()));
        let mut out = Vec::new();
        cell.trace(&mut Tracer::new(Mode::Referents(&mut out)));
        assert_eq!(out.len(), 1);
        assert!(out[0].ptr_eq(&target));
        let back = cell.take().expect("value put back");
        assert!(Gc::ptr_eq(&back, &target));
    }

    type Tracked = Gc<RefCell<Option<Gc<u8>>>>;

    /// The scratch word of `gc`, which the counting pass adds to for each
    /// edge counted into it.
    fn word_of(gc: &Tracked) -> &Cell<usize> {
        // SAFETY: the box is tracked (its type may contain a `Gc`), so it
        // has links, which live as long as the handle.
        unsafe { &(*links_of_header(gc.header_ptr())).word }
    }

    /// The counting pass compiled for exact values counts only while the
    /// tracer trusts the object: reached any other way, it leaves the edge
    /// out.
    #[test]
    fn the_compiled_counting_pass_counts_only_for_a_trusted_object() {
        let target: Tracked = Gc::new(RefCell::new(None));
        let word = word_of(&target);
        let before = word.get();
        let mut tracer = Tracer::new(Mode::Count(0));
        tracer.trusted = false;
        target.trace_exact::<CountPass>(&mut tracer);
        assert_eq!(word.get(), before, "counted while not trusted");
        tracer.trusted = true;
        target.trace_exact::<CountPass>(&mut tracer);
        assert_eq!(word.get(), before + REFS_ONE, "not counted while trusted");
        word.set(before);
    }

    /// The compiled passes do not look into a mutably borrowed `RefCell`.
    #[test]
    fn the_compiled_passes_do_not_look_into_a_mutably_borrowed_refcell() {
        let target: Tracked = Gc::new(RefCell::new(None));
        let word = word_of(&target);
        let before = word.get();
        let cell = RefCell::new(vec![target.clone()]);
        let mut tracer = Tracer::new(Mode::Count(0));
        tracer.trusted = true;
        let guard = cell.borrow_mut();
        cell.trace_exact::<CountPass>(&mut tracer);
        assert_eq!(word.get(), before, "looked into a borrowed cell");
        drop(guard);
        cell.trace_exact::<CountPass>(&mut tracer);
        assert_eq!(word.get(), before + REFS_ONE);
        word.set(before);
    }

    #[test]
    fn borrowed_refcell_hides_its_contents() {
        let cell = RefCell::new(vec![Gc::new(1u8), Gc::new(2u8)]);
        let mut out = Vec::new();
        cell.trace(&mut Tracer::new(Mode::Referents(&mut out)));
        assert_eq!(out.len(), 2);
        let guard = cell.borrow_mut();
        let mut out = Vec::new();
        cell.trace(&mut Tracer::new(Mode::Referents(&mut out)));
        assert!(out.is_empty());
        drop(guard);
    }
}
