//! Introspection of the object graph: [`referents`] (CPython's
//! `gc.get_referents`) and the type-erased handle [`AnyGc`] it returns.
//!
//! # Invariants
//! - An `AnyGc` owns one strong count of its box (it wraps a real `Gc`), so
//!   everything it exposes is as safe as the `Gc` API.
//! - `referents` runs the value's own `Trace` impl as a collection does
//!   (`Mode::Discover`), then traces the places it named through their
//!   exact traces, which run no user code and, while they run, allocate
//!   nothing: each handle is cloned into a [`RawEdge`] in a vector reserved
//!   beforehand, and wrapped in an `AnyGc` only afterwards. It never
//!   touches collector state.
//! - A `RawEdge` owns one strong count of its box, held as the bytes of a
//!   `Gc<T>` (a `Gc` is at most two words, asserted at compile time), and
//!   `finish` or `drop` gives it back exactly once.

use std::any::{Any, type_name};
use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit};

use crate::gc::{Gc, value_of_links};
use crate::trace::{AnyPass, Discovery, Mode, Pass, Tracer};

/// A strong handle to a box of any type, as returned by [`referents`].
pub struct AnyGc(Box<dyn Erased>);

trait Erased {
    fn as_any(&self) -> &dyn Any;
    fn addr(&self) -> *const u8;
    fn type_name(&self) -> &'static str;
    fn tracked(&self) -> bool;
}

impl<T: ?Sized + 'static> Erased for Gc<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn addr(&self) -> *const u8 {
        Gc::as_ptr(self).cast()
    }
    fn type_name(&self) -> &'static str {
        type_name::<T>()
    }
    fn tracked(&self) -> bool {
        crate::is_tracked(self)
    }
}

impl AnyGc {
    pub(crate) fn new<T: ?Sized + 'static>(gc: Gc<T>) -> AnyGc {
        AnyGc(Box::new(gc))
    }

    /// A typed handle, if the box holds a `U` (as seen by the handle that
    /// was traced: `Gc<dyn Trait>` downcasts to `dyn Trait`).
    pub fn downcast<U: ?Sized + 'static>(&self) -> Option<Gc<U>> {
        self.0.as_any().downcast_ref::<Gc<U>>().cloned()
    }

    /// Whether this points to the same box as `other`.
    pub fn ptr_eq<U: ?Sized + 'static>(&self, other: &Gc<U>) -> bool {
        std::ptr::addr_eq(self.0.addr(), Gc::as_ptr(other))
    }

    /// The name of the pointee type.
    pub fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    /// Whether the collector tracks the box ([`is_tracked`](crate::is_tracked)).
    pub fn is_tracked(&self) -> bool {
        self.0.tracked()
    }

    /// The address of the value.
    pub fn as_ptr(&self) -> *const u8 {
        self.0.addr()
    }
}

impl fmt::Debug for AnyGc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyGc<{}>({:p})", self.type_name(), self.as_ptr())
    }
}

/// The `Gc`s that `gc`'s value reports through its `Trace` impl, in order,
/// duplicates included. CPython: `gc.get_referents(obj)`.
///
/// Empty for untracked types (they hold no `Gc`) and for values already
/// dropped by the collector.
///
/// ```
/// use cyclegc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Pair(Gc<u8>, Gc<u8>);
///
/// let a = Gc::new(1u8);
/// let p = Gc::new(Pair(a.clone(), Gc::new(2)));
/// let refs = cyclegc::referents(&p);
/// assert_eq!(refs.len(), 2);
/// assert!(refs[0].ptr_eq(&a));
/// assert_eq!(*refs[1].downcast::<u8>().unwrap(), 2);
/// ```
pub fn referents<T: ?Sized + 'static>(gc: &Gc<T>) -> Vec<AnyGc> {
    let Some(links) = gc.links() else {
        return Vec::new();
    };
    if Gc::try_deref(gc).is_none() {
        return Vec::new();
    }
    let mut found = Discovery::default();
    let mut tracer = Tracer::new(Mode::Discover(&mut found));
    tracer.owner = links;
    // SAFETY: the box is tracked (so it has a vtable for its concrete type)
    // and its value is intact; the handle keeps it alive (and never
    // dropped: it is referenced from outside) while the places are used,
    // and nothing can borrow a `Gc`'s value mutably.
    unsafe { tracer.trace_at(value_of_links(links), (*links).vtable().discover) };
    // An exact value names itself, or nothing if it holds no `Gc`.
    let any = |tracer: &mut Tracer<'_>| {
        for place in &found.places {
            // SAFETY: a place named by the trace above, still valid (see
            // `trace.rs`), traced by its type's exact trace.
            unsafe { tracer.trace_at(place.addr, place.passes[AnyPass::INDEX]) };
        }
    };
    let mut tally = Tracer::new(Mode::Tally);
    any(&mut tally);
    let mut raw: Vec<RawEdge> = Vec::with_capacity(tally.tally);
    any(&mut Tracer::new(Mode::Referents(&mut raw)));
    found.clear();
    raw.into_iter().map(RawEdge::finish).collect()
}

/// A handle cloned while exact traces run, when nothing may allocate: the
/// bytes of a `Gc<T>` and how to turn them back into one.
pub(crate) struct RawEdge {
    handle: MaybeUninit<[usize; 2]>,
    finish: unsafe fn(MaybeUninit<[usize; 2]>) -> AnyGc,
    drop: unsafe fn(MaybeUninit<[usize; 2]>),
}

impl RawEdge {
    /// A clone of `gc`, allocating nothing.
    pub(crate) fn of<T: ?Sized + 'static>(gc: &Gc<T>) -> RawEdge {
        const {
            assert!(size_of::<Gc<T>>() <= size_of::<[usize; 2]>());
            assert!(align_of::<Gc<T>>() <= align_of::<[usize; 2]>());
        }
        let mut handle = MaybeUninit::<[usize; 2]>::uninit();
        // SAFETY: the buffer is large and aligned enough (asserted above).
        unsafe { handle.as_mut_ptr().cast::<Gc<T>>().write(gc.clone()) };
        RawEdge {
            handle,
            finish: finish::<T>,
            drop: drop_raw::<T>,
        }
    }

    /// The handle, as an [`AnyGc`].
    fn finish(self) -> AnyGc {
        let this = ManuallyDrop::new(self);
        // SAFETY: `handle` holds the `Gc<T>` that `finish` was made for,
        // taken out once: `this` is never dropped.
        unsafe { (this.finish)(this.handle) }
    }
}

impl Drop for RawEdge {
    fn drop(&mut self) {
        // SAFETY: as in `finish`: the handle is given back once.
        unsafe { (self.drop)(self.handle) }
    }
}

/// # Safety
/// `handle` must hold a `Gc<T>` that is not used again.
unsafe fn finish<T: ?Sized + 'static>(handle: MaybeUninit<[usize; 2]>) -> AnyGc {
    // SAFETY: guaranteed by the caller.
    AnyGc::new(unsafe { handle.as_ptr().cast::<Gc<T>>().read() })
}

/// # Safety
/// As for [`finish`].
unsafe fn drop_raw<T: ?Sized + 'static>(handle: MaybeUninit<[usize; 2]>) {
    // SAFETY: guaranteed by the caller.
    drop(unsafe { handle.as_ptr().cast::<Gc<T>>().read() })
}
