//! The one door to atomics and interior mutability for state that threads
//! share.
//!
//! Under `cfg(loom)` every type here becomes loom's, so the loom models in
//! `loom-tests/` check the allocator's real code rather than a copy of it.
//! Nothing outside this module names `core::sync::atomic` or
//! `core::cell::UnsafeCell` for shared state.
//!
//! Invariants:
//! - [`UnsafeCell`] is only read or written by a thread that has exclusive
//!   access by some other means: it holds the heap that owns the cell, or it
//!   created the object and has not published it yet. Loom checks that claim.
//! - [`Counter`] has a single writer at a time (the holder of its heap), so a
//!   load followed by a store never loses an update; readers on other threads
//!   see each value whole, never torn.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Defines a constructor that is a `const fn` except under loom, whose
/// types cannot be built in constants (the static heap and registry need
/// `const`; loom models build everything at run time).
macro_rules! const_unless_loom {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        $(#[$meta])*
        #[cfg(not(loom))]
        $vis const fn $name($($arg: $ty),*) -> $ret $body

        $(#[$meta])*
        #[cfg(loom)]
        $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use const_unless_loom;

/// `[$e; $n]` for elements that are not `Copy`: a `const` block normally,
/// `array::from_fn` under loom (whose constructors are not `const`).
#[cfg(not(loom))]
macro_rules! array_of {
    ($e:expr; $n:expr) => {
        [const { $e }; $n]
    };
}
/// `[$e; $n]` for elements that are not `Copy` (see the non-loom version).
#[cfg(loom)]
macro_rules! array_of {
    ($e:expr; $n:expr) => {
        core::array::from_fn(|_| $e)
    };
}
pub(crate) use array_of;

/// A cell for data whose accesses are ordered by something else: ownership
/// of the heap it belongs to, or publication through an atomic.
///
/// It is loom's `UnsafeCell` under `cfg(loom)`, so models detect an access
/// that is not ordered after the previous one.
pub(crate) struct UnsafeCell<T> {
    #[cfg(not(loom))]
    inner: core::cell::UnsafeCell<T>,
    #[cfg(loom)]
    inner: loom::cell::UnsafeCell<T>,
}

impl<T: Copy> UnsafeCell<T> {
    const_unless_loom! {
        /// A cell holding `value`.
        #[inline(always)]
        pub(crate) fn new(value: T) -> Self {
            Self {
                #[cfg(not(loom))]
                inner: core::cell::UnsafeCell::new(value),
                #[cfg(loom)]
                inner: loom::cell::UnsafeCell::new(value),
            }
        }
    }

    /// Reads the value.
    ///
    /// # Safety
    /// No other thread may write the cell concurrently: the caller holds the
    /// owning heap, or the last write happens-before this read.
    #[inline(always)]
    pub(crate) unsafe fn get(&self) -> T {
        #[cfg(not(loom))]
        // SAFETY: the caller guarantees no concurrent writer.
        unsafe {
            *self.inner.get()
        }
        #[cfg(loom)]
        // SAFETY: as above; loom verifies it.
        self.inner.with(|p| unsafe { *p })
    }

    /// Writes the value.
    ///
    /// # Safety
    /// No other thread may read or write the cell concurrently.
    #[inline(always)]
    pub(crate) unsafe fn set(&self, value: T) {
        #[cfg(not(loom))]
        // SAFETY: the caller guarantees exclusive access.
        unsafe {
            *self.inner.get() = value
        }
        #[cfg(loom)]
        // SAFETY: as above; loom verifies it.
        self.inner.with_mut(|p| unsafe { *p = value })
    }
}

/// A statistics counter with one writer at a time and any number of readers.
///
/// Updates are a relaxed load and a relaxed store: on x86-64 a plain `mov`
/// pair, no locked instruction, so counting costs the fast path almost
/// nothing.
pub(crate) struct Counter(AtomicUsize);

impl Counter {
    const_unless_loom! {
        /// A counter at zero.
        pub(crate) fn new() -> Self {
            Self(AtomicUsize::new(0))
        }
    }

    /// The current value, as any thread sees it.
    #[inline(always)]
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Adds `n`. Only the single current writer may call this.
    #[inline(always)]
    pub(crate) fn add(&self, n: usize) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Subtracts `n`. Only the single current writer may call this.
    #[inline(always)]
    pub(crate) fn sub(&self, n: usize) {
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_sub(n),
            Ordering::Relaxed,
        );
    }
}
