//! Exact traces: the code the collector runs to count edges.
//!
//! [`Trace`] is a safe trait, so the collector cannot believe what an
//! implementation does: it never counts while a `Trace::trace` runs. It
//! counts only through *exact* traces, which report each handle a value
//! owns once, where it lives, and run no other code: values of exact types
//! directly, and the parts that a hand-written trace named, once every
//! hand-written trace of the collection has run (`trace.rs`). That also
//! makes an exact type cheaper: a collection whose candidates are all
//! exact counts in one pass, with no discovery step.
//!
//! Exactness is a proof, and proofs come from `unsafe`: [`Exact::certified`]
//! requires the unsafe trait [`ExactTrace`]. `#[derive(Trace)]` writes that
//! `unsafe impl` (the derive is the one that knows its trace visits every
//! field once) and `and`s in the exactness of every traced field's type, so
//! a derived type is exact exactly when all its traced fields are. The std
//! impls in `trace.rs` do the same. A hand-written impl is not exact unless
//! its author writes `unsafe impl ExactTrace`.
//!
//! What the collector trusts is code written under that `unsafe`, never a
//! `Trace::trace`: an exact [`Exact`] carries pointers to its type's
//! [`ExactTrace::trace_exact`], compiled for each pass, and the collector
//! calls those. A derived `trace_exact` reaches each field through
//! [`Tracer::field`], which runs the field type's own `trace_exact` or,
//! for a type that is not exact, nothing. So an exact trace runs no user
//! code, even if the `EXACT` of a type claims more than its fields give
//! (see the rebinding note on [`ExactTrace`]): what the claim can cost is
//! a missed edge, a leak.
//!
//! # Invariants
//! - An `Exact<T>` that says exact can only be built by
//!   [`Exact::certified`], hence only for a `T: ExactTrace`, and it holds
//!   `T`'s own `trace_exact`; [`Exact::and`] only ever lowers it. An
//!   `Exact<T>` is tied to `T`, invariantly (no subtyping between `Exact`s
//!   of different types), so one type's proof cannot be copied into
//!   another's `EXACT`.
//! - The collector reads `T::EXACT` once per type, into the box's vtable.

use std::marker::PhantomData;

use crate::trace::{AnyPass, CountPass, Pass, ReachPass, Trace, Tracer};

/// The promise that a type's [`ExactTrace::trace_exact`] reports exactly
/// the handles a value owns: the collector then traces values of the type
/// itself, through that code, and never runs their [`Trace::trace`]
/// during a collection.
///
/// `#[derive(Trace)]` implements it for you. Write it by hand only for a
/// custom container that keeps handles in memory of its own (a raw
/// allocation), which a safe `Trace` cannot name as part of its value.
///
/// # Safety
/// The implementing type's [`trace_exact`](ExactTrace::trace_exact), in
/// every pass `P`:
/// - reports every `Gc` handle the value owns at most once, through the
///   handle itself where it lives in the value (not through a copy), and no
///   handle the value does not own (one in a thread-local, one shared
///   through an `Rc`, one inside another `Gc`'s value);
/// - runs no code but the tracer ([`Tracer::field`], `Gc`'s own
///   `trace_exact`) and the `trace_exact` of values the value owns, and
///   creates, drops, moves, borrows mutably, mutates and allocates nothing
///   (an allocation runs the global allocator, which can be user code),
///   and does not panic (a panic runs the panic hook and allocates its
///   payload: user code, mid-pass, while the collector's counts sit in the
///   boxes' list links);
/// - reports the same handles every time it is called while no other code
///   runs, and the same as [`Trace::trace`].
///
/// And its [`Trace::EXACT`] is [`Exact::certified`] [`and`](Exact::and)-ed
/// with the `EXACT` of every type whose `trace_exact` it reaches (a type
/// that is not exact is skipped by [`Tracer::field`]: a missed edge).
///
/// ```
/// use cyclegc::{Exact, ExactTrace, Gc, Pass, Trace, Tracer};
/// use std::cell::RefCell;
///
/// struct Node { next: RefCell<Option<Gc<Node>>> }
///
/// impl Trace for Node {
///     const EXACT: Exact<Self> =
///         Exact::certified().and(<RefCell<Option<Gc<Node>>> as Trace>::EXACT);
///     fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
///         // An exact value names itself: the collector takes it from there.
///         tracer.place(self);
///     }
/// }
/// // SAFETY: `trace_exact` traces the one field it owns, once, in place.
/// unsafe impl ExactTrace for Node {
///     fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>) {
///         tracer.field::<P, _>(&self.next);
///     }
/// }
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
///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
/// }
/// ```
///
/// ```compile_fail
/// use cyclegc::{Exact, Trace, Tracer};
///
/// struct Liar;
/// impl Trace for Liar {
///     const EXACT: Exact<Self> = <u8 as Trace>::EXACT; // Exact<u8>
///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
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
///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
/// }
/// impl Trace for Box<dyn Tr<'static>> {
///     const EXACT: Exact<Self> = Exact::<Box<dyn for<'a> Tr<'a>>>::certified();
///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) {}
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
///     fn trace<'a>(&'a self, _: &mut Tracer<'a>) { /* anything */ }
/// }
///
/// #[allow(non_upper_case_globals)]
/// const __field0: &Liar = &Liar;
///
/// #[derive(Trace)]
/// pub struct Evil(pub &'static Liar);
/// ```
///
/// Nor by rebinding the name the derive writes (`::cyclegc`): a crate
/// that says `extern crate self as cyclegc;`, with this crate depended on
/// under another name, decides what every path in the derive's output
/// means. But the derive's `unsafe impl ExactTrace` holds the trace the
/// collector trusts (`trace_exact`, which reaches fields through the
/// tracer's own method and so the real [`Tracer::field`]); it is either an
/// impl of this trait, with that body, or not an impl of this trait at
/// all. A `Trace` impl written beside it is never trusted, whatever its
/// `EXACT` says.
pub unsafe trait ExactTrace: Trace {
    /// [`Trace::trace`] for one of the collector's passes, `P`: what the
    /// collector calls on a value whose [`Trace::EXACT`] is exact (and
    /// never `trace` itself). Report the same handles as `trace`, each
    /// field through [`Tracer::field`] (`tracer.field::<P, _>(&self.f)`),
    /// or its own `trace_exact::<P>`, and nothing else: no call to any
    /// `trace`, no other code. The collector trusts what this reports, so
    /// it runs no user code (a `RefCell` is looked into without a guard).
    fn trace_exact<P: Pass>(&self, tracer: &mut Tracer<'_>);
}

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
    /// If exact, `T`'s [`ExactTrace::trace_exact`] compiled for each pass,
    /// at the pass's [`Pass::INDEX`].
    passes: Option<[ExactFn<T>; 3]>,
    /// Invariant in `T`: a covariant `Exact` would let subtyping pass one
    /// type's proof off as another's (`Exact<Box<dyn for<'a> Tr<'a>>>` is
    /// a subtype of `Exact<Box<dyn Tr<'static>>>`, and the second type's
    /// impl can be anyone's).
    _type: PhantomData<fn(*const T) -> *const T>,
}

/// One pass of an exact trace.
pub(crate) type ExactFn<T> = for<'v, 't, 'a> fn(&'v T, &'t mut Tracer<'a>);

impl<T: ?Sized> Clone for Exact<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Exact<T> {}

impl<T: ?Sized> Exact<T> {
    /// Not exact: a collection runs the type's `trace` to find the parts
    /// of a value it names. The default of [`Trace::EXACT`].
    pub const NO: Exact<T> = Exact {
        passes: None,
        _type: PhantomData,
    };

    /// Exact, as far as `T`'s own impl goes: `and` it with the `EXACT` of
    /// every type whose `trace_exact` that impl reaches.
    pub const fn certified() -> Exact<T>
    where
        T: ExactTrace,
    {
        Exact {
            passes: Some([
                <T as ExactTrace>::trace_exact::<CountPass>,
                <T as ExactTrace>::trace_exact::<ReachPass>,
                <T as ExactTrace>::trace_exact::<AnyPass>,
            ]),
            _type: PhantomData,
        }
    }

    /// Exact only if both `self` and `part` are.
    pub const fn and<U: ?Sized>(self, part: Exact<U>) -> Exact<T> {
        Exact {
            passes: match part.passes {
                Some(_) => self.passes,
                None => None,
            },
            _type: PhantomData,
        }
    }

    /// Whether `T` is exact: the collector traces its values itself.
    pub const fn is_exact(self) -> bool {
        self.passes.is_some()
    }

    /// `T`'s exact trace in pass `P`, if `T` is exact.
    #[inline(always)]
    pub(crate) fn pass<P: Pass>(self) -> Option<ExactFn<T>> {
        self.passes.map(|passes| passes[P::INDEX])
    }
}

impl<T: ?Sized> std::fmt::Debug for Exact<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_exact() { "Exact" } else { "NotExact" })
    }
}
