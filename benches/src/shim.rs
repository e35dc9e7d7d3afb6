//! The four allocators under comparison, and the out-of-line calls through
//! which every micro-benchmark reaches them.
//!
//! **Why shims.** pymalloc's `GlobalAlloc` methods are `#[inline]` Rust, so a
//! benchmark loop calling `PyMalloc.alloc` directly would get the fast path
//! inlined into the loop, while mimalloc and jemalloc are FFI calls and
//! glibc's `malloc` is a call into libc. A real program reaches all four the
//! same way: through `__rust_alloc`, one call deep, with the allocator's
//! method inlined *into* that function. [`alloc_via`], [`dealloc_via`] and
//! [`realloc_via`] reproduce exactly that: each is `#[inline(never)]` and
//! generic, so every allocator gets its own out-of-line function with its
//! own `GlobalAlloc` method inlined inside, and the loop pays one call per
//! operation for every allocator alike.

use std::alloc::{GlobalAlloc, Layout, System, handle_alloc_error};
use std::time::Duration;

use crate::micro::Micro;

/// One of the four allocators compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Allocator {
    /// The platform allocator (`std::alloc::System`: glibc `malloc` on Linux).
    System,
    /// This project's allocator, `pymalloc::PyMalloc`.
    PyMalloc,
    /// `mimalloc::MiMalloc` (the speed anchor).
    MiMalloc,
    /// `tikv_jemallocator::Jemalloc`.
    Jemalloc,
}

impl Allocator {
    /// All four, system first (the baseline of every ratio).
    pub const ALL: [Allocator; 4] = [
        Allocator::System,
        Allocator::PyMalloc,
        Allocator::MiMalloc,
        Allocator::Jemalloc,
    ];

    /// The short lower-case name used in reports, criterion ids and binary
    /// names (`wp_<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::PyMalloc => "pymalloc",
            Allocator::MiMalloc => "mimalloc",
            Allocator::Jemalloc => "jemalloc",
        }
    }

    /// The allocator called `name` (as printed by [`Allocator::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Runs `iters` iterations of the micro-benchmark `workload` against this
    /// allocator and returns the time measured (set-up excluded).
    pub fn run(self, workload: &Micro, iters: u64) -> Duration {
        match self {
            Allocator::System => workload.run(&System, iters),
            Allocator::PyMalloc => workload.run(&pymalloc::PyMalloc, iters),
            Allocator::MiMalloc => workload.run(&mimalloc::MiMalloc, iters),
            Allocator::Jemalloc => workload.run(&tikv_jemallocator::Jemalloc, iters),
        }
    }
}

/// Allocates a block of `layout` from `a`, out of line; aborts through
/// [`handle_alloc_error`] when the allocator returns null.
///
/// # Safety
/// `layout` has a non-zero size.
#[inline(never)]
pub unsafe fn alloc_via<A: GlobalAlloc>(a: &A, layout: Layout) -> *mut u8 {
    // SAFETY: the caller guarantees a non-zero size.
    let p = unsafe { a.alloc(layout) };
    if p.is_null() {
        handle_alloc_error(layout);
    }
    p
}

/// Frees `ptr` to `a`, out of line.
///
/// # Safety
/// `ptr` was returned by `a` for `layout` (or resized to it) and is live.
#[inline(never)]
pub unsafe fn dealloc_via<A: GlobalAlloc>(a: &A, ptr: *mut u8, layout: Layout) {
    // SAFETY: forwarded contract.
    unsafe { a.dealloc(ptr, layout) }
}

/// Resizes `ptr` to `new_size` bytes through `a`, out of line; aborts when
/// the allocator returns null.
///
/// # Safety
/// As for [`GlobalAlloc::realloc`]: `ptr` is live, from `a`, with `layout`;
/// `new_size` is non-zero and does not overflow when rounded to the
/// alignment.
#[inline(never)]
pub unsafe fn realloc_via<A: GlobalAlloc>(
    a: &A,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    // SAFETY: forwarded contract.
    let p = unsafe { a.realloc(ptr, layout, new_size) };
    if p.is_null() {
        // SAFETY: the caller guarantees the layout is valid.
        handle_alloc_error(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Allocator::ALL {
            assert_eq!(Allocator::from_name(a.name()), Some(a));
        }
        assert_eq!(Allocator::from_name("tcmalloc"), None);
    }

    #[test]
    fn shims_allocate_resize_and_free() {
        fn check<A: GlobalAlloc>(a: &A) {
            let l = Layout::from_size_align(24, 8).unwrap();
            // SAFETY: non-zero sizes; the block is resized and freed with
            // the layout it has at each step.
            unsafe {
                let p = alloc_via(a, l);
                p.write_bytes(7, 24);
                let q = realloc_via(a, p, l, 4000);
                assert_eq!(*q.add(23), 7);
                dealloc_via(a, q, Layout::from_size_align(4000, 8).unwrap());
            }
        }
        check(&System);
        check(&pymalloc::PyMalloc);
        check(&mimalloc::MiMalloc);
        check(&tikv_jemallocator::Jemalloc);
    }
}
