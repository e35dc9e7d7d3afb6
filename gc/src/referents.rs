//! Introspection of the object graph: [`referents`] (CPython's
//! `gc.get_referents`) and the type-erased handle [`AnyGc`] it returns.
//!
//! # Invariants
//! - An `AnyGc` owns one strong count of its box (it wraps a real `Gc`), so
//!   everything it exposes is as safe as the `Gc` API.
//! - `referents` runs the value's own `Trace` impl with a tracer that only
//!   clones the handles it is shown; it never touches collector state.

use std::any::{Any, type_name};
use std::fmt;

use crate::gc::Gc;
use crate::trace::{Mode, Tracer};

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
    let mut found = Vec::new();
    let mut tracer = Tracer::new(Mode::Referents(&mut found));
    // SAFETY: the box is tracked (so it has a vtable for its concrete type)
    // and its value is intact; the handle keeps it alive during the trace.
    unsafe {
        tracer.trace_box(links, (*(*links).vtable).trace);
    }
    found
}
