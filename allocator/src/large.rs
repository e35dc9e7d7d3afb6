//! Requests pymalloc does not serve from pools (over 512 bytes, alignment
//! over 16, or zero bytes) go to the system allocator, as in CPython.
//!
//! Each function is a tail call into `std::alloc::System`: pymalloc adds
//! nothing to these requests but the size test that routed them here. They
//! are not counted per request (that would cost a thread-local lookup and
//! two stores on every call, about a quarter of glibc's own time for a
//! 1 KiB request); [`Stats`](crate::Stats) instead reports what the system
//! allocator itself says is in use.
//!
//! Invariant: a block allocated here is freed here, because routing depends
//! only on the layout, which `dealloc` and `realloc` receive unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocates from the system allocator.
///
/// # Safety
/// As `GlobalAlloc::alloc`.
#[inline(always)]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { System.alloc(layout) }
}

/// Allocates zeroed memory from the system allocator (`calloc` knows when
/// memory is fresh and skips clearing it).
///
/// # Safety
/// As `GlobalAlloc::alloc_zeroed`.
#[inline(always)]
pub(crate) unsafe fn alloc_zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { System.alloc_zeroed(layout) }
}

/// Frees a system allocation.
///
/// # Safety
/// As `GlobalAlloc::dealloc`.
#[inline(always)]
pub(crate) unsafe fn dealloc(p: *mut u8, layout: Layout) {
    // SAFETY: forwarded contract.
    unsafe { System.dealloc(p, layout) }
}

/// Resizes a system allocation whose new size is also large.
///
/// # Safety
/// As `GlobalAlloc::realloc`.
#[inline(always)]
pub(crate) unsafe fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: forwarded contract.
    unsafe { System.realloc(p, layout, new_size) }
}

/// Bytes the system allocator has handed out and not had back, as it
/// reports them (`mallinfo2` on glibc; None elsewhere). Process-wide: it
/// includes C libraries' `malloc`s. Takes glibc's arena locks, so it is for
/// `stats()` only, never for an allocation path.
pub(crate) fn system_bytes_in_use() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads glibc's bookkeeping.
        let info = unsafe { libc::mallinfo2() };
        Some(info.uordblks + info.hblkhd)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}
