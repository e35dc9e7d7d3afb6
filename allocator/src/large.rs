//! Requests pymalloc does not serve from pools (over 512 bytes, alignment
//! over 16, or zero bytes) go to the system allocator, as in CPython, and are
//! counted for [`Stats`](crate::Stats).
//!
//! Counting uses the calling thread's heap counters (holder-only, no locked
//! instruction); a thread with no heap yet uses the registry's atomic
//! fallback rather than attach a heap just to count. These functions stay
//! out of line so that the small-block fast paths they sit beside need no
//! stack frame.
//!
//! Invariant: every count made here is matched by the opposite count when
//! the block is freed, possibly on another thread's heap, so the sums over
//! all heaps are right even though one heap's may not be.

use crate::heap::Heap;
use crate::sync::Ordering;
use crate::thread;
use std::alloc::{GlobalAlloc, Layout, System};

/// Allocates from the system allocator.
///
/// # Safety
/// As `GlobalAlloc::alloc`.
#[inline(never)]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded contract.
    let p = unsafe { System.alloc(layout) };
    if !p.is_null() {
        count(1, 0, layout.size(), 0);
    }
    p
}

/// Allocates zeroed memory from the system allocator (`calloc` knows when
/// memory is fresh and skips clearing it).
///
/// # Safety
/// As `GlobalAlloc::alloc_zeroed`.
#[inline(never)]
pub(crate) unsafe fn alloc_zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded contract.
    let p = unsafe { System.alloc_zeroed(layout) };
    if !p.is_null() {
        count(1, 0, layout.size(), 0);
    }
    p
}

/// Frees a system allocation.
///
/// # Safety
/// As `GlobalAlloc::dealloc`.
#[inline(never)]
pub(crate) unsafe fn dealloc(p: *mut u8, layout: Layout) {
    // SAFETY: forwarded contract.
    unsafe { System.dealloc(p, layout) };
    count(0, 1, 0, layout.size());
}

/// Resizes a system allocation whose new size is also large.
///
/// # Safety
/// As `GlobalAlloc::realloc`.
#[inline(never)]
pub(crate) unsafe fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    let q = unsafe { System.realloc(p, layout, new_size) };
    if !q.is_null() {
        count(0, 0, new_size, layout.size());
    }
    q
}

fn count(allocs: usize, frees: usize, bytes: usize, bytes_freed: usize) {
    let heap: &Heap = thread::current();
    if thread::is_placeholder(heap) {
        let g = &thread::REGISTRY.counters.large;
        for (counter, n) in [
            (&g.allocs, allocs),
            (&g.frees, frees),
            (&g.bytes_allocated, bytes),
            (&g.bytes_freed, bytes_freed),
        ] {
            if n != 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
    } else {
        let c = &heap.counters.large;
        for (counter, n) in [
            (&c.allocs, allocs),
            (&c.frees, frees),
            (&c.bytes_allocated, bytes),
            (&c.bytes_freed, bytes_freed),
        ] {
            if n != 0 {
                counter.add(n);
            }
        }
    }
}
