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
    /// A cell holding `value`.
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) const fn new(value: T) -> Self {
        Self {
            inner: core::cell::UnsafeCell::new(value),
        }
    }

    /// A cell holding `value`.
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Self {
            inner: loom::cell::UnsafeCell::new(value),
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
    /// A counter at zero.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// A counter at zero.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(0))
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
