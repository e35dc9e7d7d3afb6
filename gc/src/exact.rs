//! Exact traces: the opt-in proof that lets a collection skip its final
//! check of the garbage, and count what a trace reports without checking
//! where each handle lies.
//!
//! [`Trace`] is a safe trait, so the collector cannot believe what an
//! implementation reports: it counts a reported handle only if it lies in
//! memory the traced object owns (`trace.rs`), and before it drops
//! anything, it traces the garbage a second time and checks the edges
//! against the handle counts (`collect.rs`, `verify_and_mark`). That check
//! costs about a quarter of a young collection. A type whose trace is
//! *exact* (it reports each handle it owns once, where it lives, and runs
//! no other code) cannot fail it, so when every candidate of a collection
//! is exact the check is skipped; and what an exact trace reports is
//! counted wherever the handle lies (a custom container's own
//! allocations included).
//!
//! Exactness is a proof, and proofs come from `unsafe`: [`Exact::certified`]
//! requires the unsafe marker [`ExactTrace`]. `#[derive(Trace)]` writes that
//! `unsafe impl` (the derive is the one that knows its trace visits every
//! field once) and `and`s in the exactness of every traced field's type, so
//! a derived type is exact exactly when all its traced fields are. The std
//! impls in `trace.rs` do the same. A hand-written impl is not exact unless
//! its author writes `unsafe impl ExactTrace`.
//!
//! # Invariants
//! - An `Exact<T>` that says exact can only be built by
//!   [`Exact::certified`], hence only for a `T: ExactTrace`; [`Exact::and`]
//!   only ever lowers it. An `Exact<T>` is tied to `T`, invariantly (no
//!   subtyping between `Exact`s of different types), so one type's proof
//!   cannot be copied into another's `EXACT`.
//! - The collector reads `T::EXACT` once per type, into the box's vtable.

use std::marker::PhantomData;

use crate::Trace;

/// The promise that a type's [`Trace`] impl is exact, which lets the
/// collector skip its final check of the garbage (a second trace of every
/// garbage object) when all the objects it examines are exact.
///
/// `#[derive(Trace)]` implements it for you; you only write it for a
/// hand-written `Trace` impl.
///
/// # Safety
/// The implementing type's `Trace::trace`:
/// - reports every `Gc` handle the value owns at most once, through the
///   handle itself where it lives in the value (not through a copy), and no
///   handle the value does not own (one in a thread-local, one shared
///   through an `Rc`, one inside another `Gc`'s value);
/// - runs no code but the tracer and the `trace` of values the value owns,
///   and creates, drops, moves and mutates nothing;
/// - reports the same handles every time it is called while no other code
///   runs.
///
/// And its [`Trace::EXACT`] is [`Exact::certified`] [`and`](Exact::and)-ed
/// with the `EXACT` of every type whose `trace` it calls. (The same holds
/// for the hidden `Trace::trace_pass`, which the collector calls instead
/// of `trace` on exact values; its default calls `trace`. Leave it alone.)
///
/// ```
/// use cyclegc::{Exact, ExactTrace, Gc, Trace, Tracer};
/// use std::cell::RefCell;
///
/// struct Node { next: RefCell<Option<Gc<Node>>> }
///
/// impl Trace for Node {
///     const EXACT: Exact<Self> =
///         Exact::certified().and(<RefCell<Option<Gc<Node>>> as Trace>::EXACT);
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.next.trace(tracer);
///     }
/// }
/// // SAFETY: `trace` traces the one field it owns, once, in place.
/// unsafe impl ExactTrace for Node {}
///
/// assert!(Node::EXACT.is_exact());
/// ```
///
/// Without the `unsafe impl`, claiming exactness does not compile, and
/// neither does borrowing another type's proof:
///
/// ```compile_fail
/// use cyclegc::{Exact, Trace, Tracer};
///
/// struct Liar;
/// impl Trace for Liar {
///     const EXACT: Exact<Self> = Exact::certified(); // Liar: ExactTrace?
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// ```
///
/// ```compile_fail
/// use cyclegc::{Exact, Trace, Tracer};
///
/// struct Liar;
/// impl Trace for Liar {
///     const EXACT: Exact<Self> = <u8 as Trace>::EXACT; // Exact<u8>
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// ```
///
/// Nor through subtyping: `Box<T>` is certified for every `T: Trace` (its
/// `EXACT` ands in `T`'s), and a higher-ranked `dyn` is a subtype of its
/// `'static` instance, whose `Box` a user may implement `Trace` for; but
/// `Exact` is invariant, so the two proofs are unrelated types:
///
/// ```compile_fail,E0308
/// use cyclegc::{Exact, Trace, Tracer};
///
/// pub trait Tr<'a> {}
/// impl Trace for dyn for<'a> Tr<'a> {
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// impl Trace for Box<dyn Tr<'static>> {
///     const EXACT: Exact<Self> = Exact::<Box<dyn for<'a> Tr<'a>>>::certified();
///     fn trace(&self, _: &mut Tracer<'_>) {}
/// }
/// ```
///
/// Nor by making the derive's trace visit something other than the
/// fields whose types its `EXACT` vouches for: it binds them with `ref`
/// patterns, so a constant of the same name in scope is an error (a bare
/// identifier would have matched the constant, and the trace would have
/// run a hand-written impl under a derived type's exactness):
///
/// ```compile_fail,E0530
/// use cyclegc::{Trace, Tracer};
///
/// #[derive(PartialEq, Eq)]
/// pub struct Liar;
/// impl Trace for Liar {
///     fn trace(&self, _: &mut Tracer<'_>) { /* anything */ }
/// }
///
/// #[allow(non_upper_case_globals)]
/// const __field0: &Liar = &Liar;
///
/// #[derive(Trace)]
/// pub struct Evil(pub &'static Liar);
/// ```
///
/// What the derive cannot defend against: it names this crate as
/// `::cyclegc` in the code it writes, its `unsafe impl ExactTrace`
/// included, and a crate that rebinds that name (`extern crate self as
/// cyclegc;`, with this crate depended on under another name) can make it
/// certify a `Trace` impl it did not write. A derive macro has no path to
/// its own crate that user code cannot rebind. Do not rebind `cyclegc`.
pub unsafe trait ExactTrace: Trace {}

/// Whether `T`'s trace is exact (see [`ExactTrace`]): the type of
/// [`Trace::EXACT`].
///
/// ```
/// use cyclegc::{DynTrace, Gc, Trace};
/// use std::cell::RefCell;
///
/// assert!(<RefCell<Vec<Gc<u8>>> as Trace>::EXACT.is_exact());
/// // Whatever is behind a `dyn` could have a hand-written impl.
/// assert!(!<Vec<Box<dyn DynTrace>> as Trace>::EXACT.is_exact());
/// ```
pub struct Exact<T: ?Sized> {
    exact: bool,
    /// Invariant in `T`: a covariant `Exact` would let subtyping pass one
    /// type's proof off as another's (`Exact<Box<dyn for<'a> Tr<'a>>>` is
    /// a subtype of `Exact<Box<dyn Tr<'static>>>`, and the second type's
    /// impl can be anyone's).
    _type: PhantomData<fn(*const T) -> *const T>,
}

impl<T: ?Sized> Clone for Exact<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Exact<T> {}

impl<T: ?Sized> Exact<T> {
    /// Not exact: the collector checks the garbage before dropping it. The
    /// default of [`Trace::EXACT`].
    pub const NO: Exact<T> = Exact {
        exact: false,
        _type: PhantomData,
    };

    /// Exact, as far as `T`'s own impl goes: `and` it with the `EXACT` of
    /// every type whose `trace` that impl calls.
    pub const fn certified() -> Exact<T>
    where
        T: ExactTrace,
    {
        Exact {
            exact: true,
            _type: PhantomData,
        }
    }

    /// Exact only if both `self` and `part` are.
    pub const fn and<U: ?Sized>(self, part: Exact<U>) -> Exact<T> {
        Exact {
            exact: self.exact && part.exact,
            _type: PhantomData,
        }
    }

    /// Whether the collector may skip its final check for `T`.
    pub const fn is_exact(self) -> bool {
        self.exact
    }
}

impl<T: ?Sized> std::fmt::Debug for Exact<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.exact { "Exact" } else { "NotExact" })
    }
}
