//! The [`Trace`] trait (how the collector sees the `Gc`s a value owns), the
//! [`Tracer`] it reports them to, and the implementations for std types.
//!
//! # Invariants
//! - `Trace` is a safe trait, so nothing here relies on an implementation
//!   being right, and no edge is ever counted while user code can run.
//!   A collection traces a hand-written (inexact) value's `Trace::trace`
//!   in `Mode::Discover` before the counts it uses (the fused first pass's
//!   are thrown away), once, or once more among the garbage for the
//!   recount after finalizers: that trace only
//!   names *places*, parts of the value of exact types, borrowed for the
//!   `'a` of `Tracer<'a>` ([`Tracer::place`]). The counting and
//!   reachability passes then trace each place through its type's
//!   `ExactTrace::trace_exact`, which runs no user code, so they read one
//!   state of the heap: a handle moved, cloned or dropped by a trace was
//!   moved, cloned or dropped before any edge was counted.
//! - A place is kept only if it lies in memory the traced object owns
//!   ([`Tracer::owned`]: the value's own bytes, or the element that a
//!   container lying in owned memory keeps out of line), and a place
//!   overlapping another of the same object drops all of that object's
//!   places (`collect.rs`). Owned places of different objects are
//!   disjoint, so no handle is counted twice, and none outside the
//!   objects is counted at all.
//! - A place stays a valid value of its type until the counting is over:
//!   it is borrowed for `'a`, where `'a` is a lifetime the impl knows
//!   nothing of, so it was reached through the value without a guard of
//!   its own (no `Cell`, no `RefCell` borrow but the ones the collector
//!   takes and holds, `Tracer::trace_borrowed`), and a sound safe API
//!   cannot invalidate a borrow of unknown length through a shared
//!   reference. Only `&mut` access or dropping the value could, and a
//!   candidate's value is never dropped while the collector pins it (there
//!   is no `&mut` to a `Gc`'s value at all). The collector is done with
//!   the places (`Discovery::clear`) before any finalizer or drop runs.
//! - Every pass after discovery reaches a value only through exact traces
//!   (the box's vtable's `count`, `reach` or `any`, or a place's), and
//!   exact traces reach fields only through [`Tracer::field`], which skips
//!   a type that is not exact: so nothing but the collector runs, which is
//!   what lets `RefCell`'s look in without a guard and `Cell`'s trace in
//!   place. Nor does anything allocate while one runs (the global
//!   allocator can be user code): `Mode::Referents` pushes into a vector
//!   reserved beforehand, and skips what does not fit.
//! - A pass's edge (`Pass::visit`: `count_target`, `reach_edge`,
//!   `Tracer::edge`) reads the target's header (the handle keeps the box
//!   allocated) and, for candidates of the running collection, updates the
//!   collector's scratch state (in `Mode::Reachable`, also the `DROPPED`
//!   mark of a box found reachable after all, which it clears). It never
//!   runs user code. `Tracer::visit` only names a place.
//! - `MAY_CONTAIN_GC` only decides whether a `Gc<T>` gets collector links;
//!   a wrong `false` leaves the box outside the collector (its handles count
//!   as outside references, so cycles through it leak, safely).

use std::cell::{Cell, Ref, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::exact::{Exact, ExactTrace};
use crate::gc::{DROPPED, Gc, Header, Weak, flags_word, links_of_header};
use crate::list::{self, COLLECTING, FLAGS, GEN_MASK, Links, NEWBORN, UNREACHABLE};
use crate::referents::RawEdge;

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
///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
///         self.children.trace(tracer);
///     }
/// }
///
/// let a = Gc::new(Node { label: "a".into(), children: RefCell::default() });
/// a.children.borrow_mut().push(a.clone());
/// drop(a);
/// assert_eq!(cyclegc::collect(), 1);
/// ```
///
/// The `'a` ties what a trace reports to the borrow of `self`: an impl
/// can pass on its fields, and what std containers in it hold, but not
/// something it borrowed from a `RefCell` or copied out of a `Cell` (that
/// does not compile). Trace the cell itself instead, as above: the std
/// impls of `RefCell`, `Cell`, `Vec` and the rest are exact, and the
/// collector looks into them itself.
///
/// The trait is safe to implement, and no implementation, however wrong,
/// can make the collector drop a value that is still referenced:
/// - a collection runs a hand-written trace once (once more among the
///   garbage if finalizers ran), before any count it uses is taken, and
///   that trace only names parts of the value
///   ([`Tracer::place`]); the collector then traces those parts itself,
///   through code that runs nothing else ([`ExactTrace`]). So a trace that
///   moves, clones or drops handles while it runs changes what is there to
///   be counted, never what is counted twice;
/// - a missing edge makes the target look referenced from outside: it is
///   kept (a leak, if it was garbage);
/// - a part that does not lie in the value (a thread-local, a leaked
///   value, another object reached through a `Gc`, an `Rc`'s contents) is
///   not counted: it is a missing edge too. What a std container lying in
///   the value keeps out of line (a `Vec`'s buffer, a `Box`'s value) is
///   owned by the value, and counted;
/// - a part named twice, or two overlapping parts, make the collector
///   ignore every part of that value for the collection (its edges are
///   missing edges), counted in
///   [`GenerationStats::trace_errors`](crate::GenerationStats);
/// - a panic abandons the collection with everything kept.
///
/// Derived impls and the std impls are [exact](ExactTrace): the collector
/// traces their values directly, with no discovery step.
///
/// A custom container that keeps handles in memory of its own (raw
/// allocations) cannot name them as parts of its value, so its cycles
/// leak, unless it is certified with `unsafe impl` [`ExactTrace`].
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

    /// Whether this impl is exact (see [`ExactTrace`]): then the collector
    /// traces values of this type itself, through
    /// [`ExactTrace::trace_exact`], and never calls [`trace`](Trace::trace)
    /// during a collection. Not exact by default; `#[derive(Trace)]` and
    /// the std impls compute it from their fields' types.
    const EXACT: Exact<Self> = Exact::NO;

    /// Names every part of this value that may hold a `Gc`, by calling
    /// `trace` on it (a field, or a container holding it), or
    /// [`Tracer::visit`] on a `Gc` field. Whatever else it does is
    /// ignored: the collector counts what those parts hold once every
    /// trace has run.
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>);

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
/// with no test per edge of which pass runs. An `ExactTrace` impl only
/// passes `P` on. Sealed: only the collector has passes.
pub trait Pass: sealed::Sealed {
    /// The pass's place in an [`Exact`]'s table of compiled traces.
    #[doc(hidden)]
    const INDEX: usize;
    /// Reports one edge.
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

/// Any mode, dispatched per edge ([`Tracer::edge`]): the rare passes
/// (`Mode::Subtract`, and `Mode::Tally` and `Mode::Referents` for
/// [`referents`](crate::referents)).
pub(crate) enum AnyPass {}

impl sealed::Sealed for CountPass {}
impl sealed::Sealed for ReachPass {}
impl sealed::Sealed for AnyPass {}

impl Pass for CountPass {
    const INDEX: usize = 0;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        // Only the collector's counting pass counts: a `trace_exact` that
        // a hand-written trace calls itself runs in `Mode::Discover`, and
        // reports nothing. The test is hoisted out of the loops.
        if let Mode::Count(generation) = tracer.mode {
            Tracer::count_target(gc.header_ptr(), generation);
        }
    }
}

impl Pass for ReachPass {
    const INDEX: usize = 1;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        if let Mode::Reachable(reachable) = tracer.mode {
            tracer.reach_edge(gc.header_ptr(), reachable);
        }
    }
}

impl Pass for AnyPass {
    const INDEX: usize = 2;
    #[inline(always)]
    fn visit<T: ?Sized + 'static>(tracer: &mut Tracer<'_>, gc: &Gc<T>) {
        tracer.edge(gc)
    }
}

/// A part of a hand-written value, of an exact type, named by its trace
/// in `Mode::Discover` ([`Tracer::place`]); the collector traces it
/// through `passes` (its type's `trace_exact`, type-erased, at each
/// pass's [`Pass::INDEX`]).
pub(crate) struct Place {
    /// The box whose value the place is part of.
    pub(crate) owner: *const Links,
    pub(crate) addr: *const u8,
    pub(crate) len: usize,
    pub(crate) passes: &'static [ErasedTrace; 3],
}

/// What `Mode::Discover` finds: the places named, and the borrows that
/// keep some of them valid.
#[derive(Default)]
pub(crate) struct Discovery {
    pub(crate) places: Vec<Place>,
    /// Shared borrows of `RefCell`s whose contents are not exact, taken to
    /// trace those contents ([`Tracer::trace_borrowed`]) and held until the
    /// places inside are done with: while they are held, nothing can
    /// borrow the contents mutably.
    borrows: Vec<HeldBorrow>,
}

impl Discovery {
    /// Forgets the places and releases the borrows, last taken first (an
    /// inner cell's before the outer one's), with no allocation or other
    /// user code in between or after: the vectors keep their memory until
    /// the `Discovery` goes. Must run before any user code that may want
    /// to borrow those cells mutably (finalizers, drops), and before any
    /// value holding one of them can be dropped.
    pub(crate) fn clear(&mut self) {
        self.places.clear();
        while let Some(borrow) = self.borrows.pop() {
            borrow.release();
        }
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        // A trace panicked: the borrows go before the memory holding them
        // (freeing it may run user code).
        self.clear();
    }
}

/// A `Ref` of some `RefCell<T>`, its lifetime erased, kept in place (not
/// boxed: freeing a box would run the global allocator, user code, while
/// other borrows are still held) with the function that drops it.
pub(crate) struct HeldBorrow {
    guard: MaybeUninit<[usize; 2]>,
    release: unsafe fn(*mut [usize; 2]),
}

impl HeldBorrow {
    fn new<'b, T: 'b>(guard: Ref<'b, T>) -> HeldBorrow {
        // Constant (two words for a sized `T`): folded away.
        assert!(
            size_of::<Ref<'b, T>>() <= size_of::<[usize; 2]>()
                && align_of::<Ref<'b, T>>() <= align_of::<[usize; 2]>(),
            "cyclegc: a RefCell borrow does not fit its slot"
        );
        let mut held = HeldBorrow {
            guard: MaybeUninit::uninit(),
            release: release_ref::<'b, T>,
        };
        // SAFETY: the buffer is large and aligned enough (asserted above);
        // `release` reads it back as the same type.
        unsafe { held.guard.as_mut_ptr().cast::<Ref<'b, T>>().write(guard) };
        held
    }

    /// Drops the `Ref`, releasing the borrow. Runs no user code.
    fn release(mut self) {
        // SAFETY: `guard` holds the `Ref` that `release` was made for,
        // dropped once: `self` is consumed, and has no `Drop` of its own.
        unsafe { (self.release)(self.guard.as_mut_ptr()) }
    }
}

/// # Safety
/// `guard` must hold a `Ref<'b, T>` whose cell is still alive, not used
/// again.
unsafe fn release_ref<'b, T: 'b>(guard: *mut [usize; 2]) {
    // SAFETY: guaranteed by the caller.
    unsafe { std::ptr::drop_in_place(guard.cast::<Ref<'b, T>>()) }
}

/// A trace of a value given by address: a vtable's or a place's.
pub(crate) type ErasedTrace = unsafe fn(*const u8, &mut Tracer<'_>);

/// `T`'s exact traces, type-erased, at each pass's [`Pass::INDEX`]; each
/// does nothing if `T` is not exact.
pub(crate) struct Erased<T>(PhantomData<T>);

impl<T: Trace> Erased<T> {
    pub(crate) const PASSES: [ErasedTrace; 3] = [
        exact_in_pass::<T, CountPass>,
        exact_in_pass::<T, ReachPass>,
        exact_in_pass::<T, AnyPass>,
    ];
}

/// `T`'s exact trace in pass `P`, given the value's address.
///
/// # Safety
/// `value` must point to a live, initialised `T` that stays valid while
/// the trace runs.
unsafe fn exact_in_pass<T: Trace, P: Pass>(value: *const u8, tracer: &mut Tracer<'_>) {
    if let Some(trace) = T::EXACT.pass::<P>() {
        // SAFETY: guaranteed by the caller.
        trace(unsafe { &*value.cast::<T>() }, tracer)
    }
}

/// `T`'s own [`Trace::trace`], given the value's address, for
/// `Mode::Discover`: the value's bytes are the memory it owns.
///
/// # Safety
/// `value` must point to a live, initialised `T` that is never dropped or
/// mutably borrowed before the places named are done with.
pub(crate) unsafe fn discover<T: Trace + 'static>(value: *const u8, tracer: &mut Tracer<'_>) {
    // SAFETY: guaranteed by the caller.
    let value = unsafe { &*value.cast::<T>() };
    tracer.owned = Region::of(value);
    value.trace(tracer)
}

/// What a tracer does with each edge.
pub(crate) enum Mode {
    /// A hand-written trace runs: [`Tracer::place`] records each part it
    /// names that lies in owned memory, for `Tracer::owner`. Edges are not
    /// counted.
    Discover(*mut Discovery),
    /// The fused first pass of a collection of generations `0..=g`: every
    /// edge to a candidate, reached or not, takes one from its `prev`
    /// (`gc_refs` once reached; see [`Tracer::count_target`]).
    Count(usize),
    /// Trial deletion among `COLLECTING` boxes: one reference fewer from
    /// outside.
    Subtract,
    /// Propagate reachability; revived objects go to this list's tail.
    Reachable(*const Links),
    /// Count the edges (into `Tracer::tally`), for
    /// [`referents`](crate::referents) to reserve its vector.
    Tally,
    /// Copy each edge's handle into the vector, reserved beforehand:
    /// pushing allocates nothing. What does not fit is skipped (only if the
    /// global allocator, reserving, changed the graph).
    Referents(*mut Vec<RawEdge>),
}

/// Receives the parts of a value that [`Trace::trace`] names, and the
/// edges that exact traces report. Only the collector creates tracers;
/// implementations just pass it along.
///
/// `'a` is how long the traced value is borrowed: what a trace names must
/// be borrowed for as long (see [`Tracer::place`]).
pub struct Tracer<'a> {
    mode: Mode,
    /// Set when a count is found below zero (an `unsafe impl ExactTrace`
    /// reported an edge that does not exist): by an edge that would drive
    /// it there (`Mode::Subtract`), or in the reachability scan.
    pub(crate) overcount: bool,
    /// `Mode::Discover`: the box whose value is being traced.
    pub(crate) owner: *const Links,
    /// `Mode::Discover`: memory the object being traced owns, its value's
    /// bytes, or the element of a container it owns that is being traced.
    /// A place outside it is not recorded.
    owned: Region,
    /// `Mode::Tally`: the edges seen.
    pub(crate) tally: usize,
    /// Invariant in `'a`: a tracer for one borrow is not one for another.
    _borrow: PhantomData<fn(&'a ()) -> &'a ()>,
}

/// A range of addresses, `start..start + len`.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    start: usize,
    len: usize,
}

impl Region {
    const EMPTY: Region = Region { start: 0, len: 0 };

    #[inline]
    pub(crate) fn of<T: ?Sized>(value: &T) -> Region {
        Region {
            start: std::ptr::from_ref(value).addr(),
            len: std::mem::size_of_val(value),
        }
    }

    /// Whether `inner` lies entirely within this region.
    #[inline]
    fn covers(self, inner: Region) -> bool {
        inner.start >= self.start
            && inner.start - self.start <= self.len
            && inner.len <= self.len - (inner.start - self.start)
    }
}

/// Narrows the tracer's owned region for one nested trace, undone when the
/// scope ends, even by a panic: a `Trace` impl may catch a panic from a
/// nested trace and go on naming parts, and must not do so with the
/// region of a trace that no longer runs.
struct Scope<'t, 'a> {
    tracer: &'t mut Tracer<'a>,
    /// The tracer's `owned` to go back to.
    saved: Region,
}

impl<'t, 'a> Scope<'t, 'a> {
    fn new(tracer: &'t mut Tracer<'a>, owned: Region) -> Self {
        let saved = std::mem::replace(&mut tracer.owned, owned);
        Scope { tracer, saved }
    }
}

impl Drop for Scope<'_, '_> {
    fn drop(&mut self) {
        self.tracer.owned = self.saved;
    }
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(mode: Mode) -> Tracer<'a> {
        Tracer {
            mode,
            overcount: false,
            owner: std::ptr::null(),
            owned: Region::EMPTY,
            tally: 0,
            _borrow: PhantomData,
        }
    }

    /// Traces the value at `value` with `trace`: one of a vtable's or a
    /// place's traces.
    ///
    /// # Safety
    /// `value` must be what `trace` was made for (a live value of its
    /// type, or a place still valid), and `trace` must fit this tracer's
    /// mode: an exact trace for any mode but `Mode::Discover`, which is the
    /// only one to run [`discover`].
    #[inline]
    pub(crate) unsafe fn trace_at(&mut self, value: *const u8, trace: ErasedTrace) {
        // SAFETY: guaranteed by the caller.
        unsafe { trace(value, self) }
    }

    /// Names `part` of the traced value, of type `T`, for the collector to
    /// trace itself later, once no user code runs; returns false, naming
    /// nothing, if `T` is not [exact](ExactTrace) (then trace what it
    /// holds instead). The `trace` of every sized exact type (the derived
    /// ones, the std ones, `Gc`'s) calls this first, so a hand-written trace
    /// rarely needs to.
    ///
    /// `part` must be borrowed for the whole `'a` of the tracer, that is,
    /// reached from `&'a self` without a guard: that is what guarantees it
    /// is still there, as a `T`, when the collector traces it. A part that
    /// does not lie in the traced value (or in what a container in it
    /// keeps out of line) is ignored.
    ///
    /// ```
    /// use cyclegc::{Gc, Trace, Tracer};
    /// use std::cell::RefCell;
    ///
    /// struct Pair { cache: Vec<u64>, left: RefCell<Option<Gc<Pair>>>, right: Gc<u8> }
    ///
    /// impl Trace for Pair {
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         tracer.place(&self.left); // same as `self.left.trace(tracer)`
    ///         tracer.visit(&self.right); // same as `self.right.trace(tracer)`
    ///     }
    /// }
    /// let p = Gc::new(Pair { cache: vec![], left: RefCell::new(None), right: Gc::new(1) });
    /// *p.left.borrow_mut() = Some(p.clone());
    /// assert_eq!(cyclegc::referents(&p).len(), 2);
    /// drop(p);
    /// assert_eq!(cyclegc::collect(), 1);
    /// ```
    #[inline]
    pub fn place<T: Trace>(&mut self, part: &'a T) -> bool {
        if !T::EXACT.is_exact() {
            return false;
        }
        if T::MAY_CONTAIN_GC
            && let Mode::Discover(found) = self.mode
        {
            let addr = std::ptr::from_ref(part).cast::<u8>();
            self.record(found, addr, std::mem::size_of::<T>(), &Erased::<T>::PASSES);
        }
        true
    }

    /// Traces the contents of `cell`, whose type is not exact, from a
    /// shared borrow of the cell that is held until the collector is done
    /// with the places found inside ([`Discovery::clear`]): only then are
    /// they borrowed for the tracer's `'a`. Only in `Mode::Discover`, and
    /// only for a cell in owned memory (nothing else would count); a cell
    /// borrowed mutably is skipped (its contents count as referenced from
    /// outside, which only keeps them).
    pub(crate) fn trace_borrowed<T: Trace>(&mut self, cell: &'a RefCell<T>) {
        let Mode::Discover(found) = self.mode else {
            return;
        };
        if !self.owns(cell) {
            return;
        }
        let Ok(guard) = cell.try_borrow() else {
            return;
        };
        let inner: *const T = &*guard;
        // The cell is part of a value that outlives the borrow: it is
        // released by `Discovery::clear`, which the collector calls before
        // any finalizer or drop runs (and `referents` before it returns),
        // or when the `Discovery` goes if a trace panics, while every value
        // is still there.
        let held = HeldBorrow::new(guard);
        // SAFETY: the vector outlives the tracer (`Mode::Discover`'s
        // creator keeps it), and nothing else uses it while the trace runs.
        unsafe { &mut *found }.borrows.push(held);
        // SAFETY: the shared borrow just kept is held for as long as the
        // tracer's `'a` matters (until the places are done with), so the
        // contents stay a valid `T` that nothing borrows mutably.
        unsafe { &*inner }.trace(self)
    }

    /// [`Tracer::place`]'s recording, out of line.
    #[inline(never)]
    fn record(
        &mut self,
        found: *mut Discovery,
        addr: *const u8,
        len: usize,
        passes: &'static [ErasedTrace; 3],
    ) {
        let part = Region {
            start: addr.addr(),
            len,
        };
        if !self.owned.covers(part) {
            return;
        }
        // SAFETY: the vector outlives the tracer (`Mode::Discover`'s
        // creator keeps it), and nothing else uses it while the trace runs.
        unsafe { &mut *found }.places.push(Place {
            owner: self.owner,
            addr,
            len,
            passes,
        });
    }

    /// Names the `Gc` field `gc`: the same as `gc.trace(tracer)`.
    #[inline]
    pub fn visit<T: ?Sized + 'static>(&mut self, gc: &'a Gc<T>) {
        self.place(gc);
    }

    /// For [`ExactTrace::trace_exact`]: traces `field`, a value the traced
    /// one owns, in the pass `P`, through the field type's own
    /// `trace_exact`. A field whose type is not exact is skipped (its
    /// `trace` is user code, which an exact trace must not run): its edges
    /// are missed, in every pass alike, which can only keep objects alive.
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
    ///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
    ///         tracer.place(self);
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
    /// elements) is owned too.
    #[inline]
    pub(crate) fn owns<C: ?Sized>(&self, container: &C) -> bool {
        self.owned.covers(Region::of(container))
    }

    /// Traces `item`, kept out of line by a container (the one value of a
    /// `Box`, an item of a collection) of a type that is not exact;
    /// `owned` is what [`Tracer::owns`] said of the container. An owned
    /// item is owned memory while it is traced.
    #[inline]
    pub(crate) fn trace_element<T: ?Sized + Trace>(&mut self, owned: bool, item: &'a T) {
        if owned {
            let scope = Scope::new(self, Region::of(item));
            item.trace(scope.tracer);
        } else {
            item.trace(self);
        }
    }

    /// [`Pass::visit`] for [`AnyPass`]: the rare passes, and
    /// [`referents`](crate::referents). Kept out of line so that the two
    /// hot passes stay small.
    #[inline(never)]
    fn edge<T: ?Sized + 'static>(&mut self, gc: &Gc<T>) {
        match self.mode {
            Mode::Count(generation) => Self::count_target(gc.header_ptr(), generation),
            Mode::Reachable(reachable) => self.reach_edge(gc.header_ptr(), reachable),
            Mode::Subtract => self.subtract_target(gc.header_ptr()),
            Mode::Tally => self.tally += 1,
            Mode::Referents(out) => {
                // SAFETY: the vector outlives the tracer (`referents` keeps
                // it), and nothing else uses it while the trace runs.
                let out = unsafe { &mut *out };
                if out.len() < out.capacity() {
                    out.push(RawEdge::of(gc));
                }
            }
            // An exact trace called by a hand-written one: only
            // `Tracer::place` names anything.
            Mode::Discover(_) => {}
        }
    }

    /// [`Mode::Count`]: one reference fewer from outside for a candidate,
    /// reached or not: its `prev` goes down by one. A candidate reached
    /// already keeps `gc_refs` there; one not reached yet still has its
    /// `prev` pointer, and the first pass, on reaching it, counts the
    /// edges seen as the distance below the pointer it knows was there
    /// (the box before it in the list). A count below zero is only looked
    /// for once every edge is counted, by the reachability pass: one test
    /// per object there instead of two per edge here.
    #[inline(always)]
    fn count_target(header: *const Header, generation: usize) {
        // SAFETY: `header` is that of the reported handle's box, which the
        // handle keeps alive.
        let word = unsafe { flags_word(header) };
        // Not a candidate (untracked, older, frozen, born during this
        // collection, or in no list): an outside reference.
        if word & (GEN_MASK | NEWBORN) <= generation {
            // SAFETY: a candidate is tracked: it has links before its
            // header, alive as long as the box.
            let l = unsafe { &*links_of_header(header) };
            l.prev.set(l.prev.get().wrapping_byte_sub(1));
        }
    }

    /// [`Mode::Subtract`]: one reference fewer from outside for a
    /// candidate.
    fn subtract_target(&mut self, header: *const Header) {
        // SAFETY: `header` is that of the reported handle's box, which the
        // handle keeps alive.
        if unsafe { flags_word(header) } & COLLECTING == 0 {
            // Not a candidate (or no longer one): an outside reference.
            return;
        }
        // SAFETY: a candidate is tracked: it has links.
        let l = unsafe { &*links_of_header(header) };
        if l.refs() <= 0 {
            self.overcount = true;
        } else {
            l.set_refs(l.refs() - 1);
        }
    }

    /// [`Mode::Reachable`]: a candidate reached from a reachable object is
    /// reachable.
    #[inline(always)]
    fn reach_edge(&mut self, header: *const Header, reachable: *const Links) {
        // SAFETY: the handle that reported this edge keeps the box alive.
        let word = unsafe { flags_word(header) };
        if word & COLLECTING == 0 {
            // Not a candidate (untracked, or no longer one).
            return;
        }
        let links = links_of_header(header);
        // SAFETY: a candidate is tracked: it has links before its header.
        let l = unsafe { &*links };
        if word & UNREACHABLE != 0 {
            // Moved to the unreachable list earlier, but reachable after all:
            // back to the tail of the list being scanned. The unreachable
            // list is doubly linked, and the scanned list's sentinel knows
            // its tail (see `move_unreachable`).
            // SAFETY: both are live; the box is in a collector list.
            unsafe { list::move_back(reachable, links) };
            // Taken for garbage, it may have been marked dropped (`collect.rs`,
            // `move_unreachable`); it is not.
            // SAFETY: as above.
            let strong = unsafe { (*header).strong.get() };
            if strong & DROPPED != 0 {
                // SAFETY: as above.
                unsafe { (*header).strong.set(strong & !DROPPED) };
            }
            l.set_flags(word & FLAGS & !UNREACHABLE);
            l.set_refs(1);
        } else if l.refs() <= 0 {
            // Not scanned yet: make sure it will be seen as reachable. (A
            // count below zero was overcounted, which the scan would have
            // seen.)
            if l.refs() < 0 {
                self.overcount = true;
            }
            l.set_refs(1);
        }
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
/// assert_eq!(cyclegc::referents(&h).len(), 1);
/// ```
pub trait DynTrace {
    /// Calls [`Trace::trace`].
    fn dyn_trace<'a>(&'a self, tracer: &mut Tracer<'a>);
}

impl<T: Trace> DynTrace for T {
    fn dyn_trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.trace(tracer)
    }
}

impl Trace for dyn DynTrace {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.dyn_trace(tracer)
    }
}

impl<T: ?Sized + 'static> Trace for Gc<T> {
    const EXACT: Exact<Self> = Exact::certified();
    #[inline(always)]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
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
            fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if T::MAY_CONTAIN_GC && !tracer.place(self) {
            tracer.trace_element(tracer.owns(self), &**self)
        }
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
            fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
                if T::MAY_CONTAIN_GC && !tracer.place(self) {
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if T::MAY_CONTAIN_GC && !tracer.place(self) {
            self.as_slice().trace(tracer)
        }
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
            fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
                if Self::MAY_CONTAIN_GC && !tracer.place(self) {
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if T::MAY_CONTAIN_GC
            && !tracer.place(self)
            && let Some(v) = self
        {
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if Self::MAY_CONTAIN_GC && !tracer.place(self) {
            match self {
                Ok(v) => v.trace(tracer),
                Err(e) => e.trace(tracer),
            }
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
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if T::MAY_CONTAIN_GC && !tracer.place(self) {
            self.0.trace(tracer)
        }
    }
}

// SAFETY: traces the value it wraps.
unsafe impl<T: Trace> ExactTrace for std::cmp::Reverse<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        tracer.field::<P, T>(&self.0)
    }
}

/// A `RefCell` is traced by the collector itself, if `T` is exact. If not,
/// its contents are traced from a shared borrow that the collector holds
/// until it is done with what they name (so a `borrow_mut` of the cell by
/// another trace fails meanwhile). One that is mutably borrowed while a
/// collection runs cannot be looked into; its contents then count as
/// referenced from outside (they are kept), which is conservative and never
/// unsound.
impl<T: Trace> Trace for RefCell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        if T::MAY_CONTAIN_GC && !tracer.place(self) {
            tracer.trace_borrowed(self);
        }
    }
}

// SAFETY: traces its contents (or nothing while a `RefMut` exists); taking
// and releasing the borrow runs no user code.
unsafe impl<T: Trace> ExactTrace for RefCell<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            // SAFETY: no `RefMut` exists (checked), and none can be taken
            // while `inner` is in use: an exact trace runs no user code
            // (`ExactTrace`; `Tracer::field` skips any type that is not
            // exact) and allocates nothing, so nothing but this trace
            // touches the cell.
            if let Ok(inner) = unsafe { self.try_borrow_unguarded() } {
                tracer.field::<P, T>(inner);
            }
        }
    }
}

/// A `Cell` hands out no references: it is traced by the collector itself,
/// in place, if `T` is exact (its `trace_exact` runs no code that could
/// `set` the cell). With a `T` that is not exact, nothing inside is counted
/// (its cycles leak): a `Cell` cannot be kept from changing while what its
/// contents name is in use.
impl<T: Trace + Default> Trace for Cell<T> {
    const MAY_CONTAIN_GC: bool = T::MAY_CONTAIN_GC;
    const EXACT: Exact<Self> = Exact::certified().and(T::EXACT);
    #[inline]
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        tracer.place(self);
    }
}

// SAFETY: traces the value in place through its `trace_exact` (`field`
// skips a `T` that is not exact, whose trace could `set` the cell).
unsafe impl<T: Trace + Default> ExactTrace for Cell<T> {
    #[inline]
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
        if T::MAY_CONTAIN_GC {
            // SAFETY: an exact trace never writes to the cell, runs nothing
            // else and allocates nothing, so the shared borrow is never
            // aliased by a write.
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
            fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
                if Self::MAY_CONTAIN_GC && !tracer.place(self) {
                    let ($($name,)+) = self;
                    $($name.trace(tracer);)+
                }
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

    /// Which std types can hold a `Gc` (and so make a `Gc` of them
    /// tracked): checked at compile time.
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
        fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
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
        TRACED_AT.with(|t| t.set(0));
        let mut tracer = Tracer::new(Mode::Tally);
        tracer.field::<AnyPass, _>(&inexact);
        assert_eq!(TRACED_AT.with(Cell::get), 0, "ran an inexact trace");
        assert_eq!(tracer.tally, 0);
        tracer.field::<AnyPass, _>(&exact);
        assert_eq!(tracer.tally, 1);
    }

    #[test]
    fn region_covers_only_what_lies_entirely_inside() {
        let r = Region {
            start: 100,
            len: 16,
        };
        let at = |start, len| r.covers(Region { start, len });
        assert!(at(100, 16) && at(104, 8) && at(116, 0) && at(100, 0));
        assert!(!at(99, 8), "starts before");
        assert!(!at(112, 8), "runs past the end");
        assert!(!at(117, 0), "after the end");
        assert!(!at(usize::MAX - 2, 8), "wraps around");
        assert!(!Region::EMPTY.covers(Region { start: 1, len: 0 }));
    }

    /// A part is recorded only if it lies in the owned region, with the
    /// traced box as its owner; a part of a type that is not exact is not
    /// a place (`place` says so), nor is one that cannot hold a `Gc`.
    #[test]
    fn places_are_recorded_only_inside_the_owned_region() {
        let value = (Some(Gc::new(1u8)), 5u64, WhereTraced(None));
        let outside = Some(Gc::new(2u8));
        let owner = std::ptr::dangling::<Links>();
        let mut found = Discovery::default();
        let mut tracer = Tracer::new(Mode::Discover(&mut found));
        tracer.owner = owner;
        tracer.owned = Region::of(&value);
        assert!(tracer.place(&value.0));
        assert!(tracer.place(&value.1), "exact, but holds no Gc");
        assert!(!tracer.place(&value.2), "not exact");
        assert!(tracer.place(&outside), "exact, but not owned");
        assert_eq!(found.places.len(), 1);
        let place = &found.places[0];
        assert_eq!(place.owner, owner);
        assert_eq!(place.addr, std::ptr::from_ref(&value.0).cast::<u8>());
        assert_eq!(place.len, size_of::<Option<Gc<u8>>>());
    }

    /// An exact trace called by a hand-written one (in `Mode::Discover`)
    /// counts nothing, in any pass: only the collector's passes count.
    #[test]
    fn exact_traces_count_nothing_during_discovery() {
        let target: Tracked = Gc::new(RefCell::new(None));
        let links = links_of(&target);
        let before = (links.prev.get(), links.word());
        let mut found = Discovery::default();
        let mut tracer = Tracer::new(Mode::Discover(&mut found));
        target.trace_exact::<CountPass>(&mut tracer);
        target.trace_exact::<AnyPass>(&mut tracer);
        assert_eq!((links.prev.get(), links.word()), before);
        assert!(found.places.is_empty());
    }

    /// Panics in a nested trace, after the tracer has narrowed its owned
    /// region.
    #[derive(Default)]
    struct Bomb(#[allow(dead_code)] u64);

    impl Trace for Bomb {
        fn trace<'a>(&'a self, _: &mut Tracer<'a>) {
            panic!("bomb");
        }
    }

    /// A `Trace` impl may catch a panic from a nested trace and go on
    /// naming parts: the region of the trace that panicked must not outlive
    /// it.
    #[test]
    fn a_caught_panic_leaves_no_region_behind() {
        let value = vec![Bomb(2)];
        let mut found = Discovery::default();
        let mut tracer = Tracer::new(Mode::Discover(&mut found));
        let whole = Region::of(&value);
        tracer.owned = whole;
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| value.trace(&mut tracer)));
        assert!(caught.is_err());
        assert_eq!(
            (tracer.owned.start, tracer.owned.len),
            (whole.start, whole.len),
            "region restored"
        );
    }

    /// A `RefCell` whose contents are not exact stays borrowed from their
    /// trace until the places found inside are done with.
    #[test]
    fn an_inexact_refcell_stays_borrowed_until_the_places_are_cleared() {
        let value = RefCell::new(WhereTraced(Some(Gc::new(3u8))));
        let mut found = Discovery::default();
        let mut tracer = Tracer::new(Mode::Discover(&mut found));
        tracer.owned = Region::of(&value);
        value.trace(&mut tracer);
        assert_eq!(found.places.len(), 1, "the handle inside");
        assert!(value.try_borrow_mut().is_err(), "borrow released early");
        found.clear();
        assert!(value.try_borrow_mut().is_ok());
    }

    type Tracked = Gc<RefCell<Option<Gc<u8>>>>;

    /// The links of `gc`, whose `prev` the counting pass takes one from
    /// for each edge counted into it.
    fn links_of(gc: &Tracked) -> &Links {
        // SAFETY: the box is tracked (its type may contain a `Gc`), so it
        // has links, which live as long as the handle.
        unsafe { &*links_of_header(gc.header_ptr()) }
    }

    /// The compiled passes do not look into a mutably borrowed `RefCell`.
    #[test]
    fn the_compiled_passes_do_not_look_into_a_mutably_borrowed_refcell() {
        let target: Tracked = Gc::new(RefCell::new(None));
        let links = links_of(&target);
        let before = links.prev.get();
        let cell = RefCell::new(vec![target.clone()]);
        let mut tracer = Tracer::new(Mode::Count(0));
        let guard = cell.borrow_mut();
        cell.trace_exact::<CountPass>(&mut tracer);
        assert_eq!(links.prev.get(), before, "looked into a borrowed cell");
        drop(guard);
        cell.trace_exact::<CountPass>(&mut tracer);
        // A candidate not reached yet: one edge seen, one below its `prev`.
        assert_eq!(links.prev.get().addr(), before.addr() - 1);
        links.prev.set(before);
    }
}
