//! AddressSanitizer annotations for pool blocks.
//!
//! A pool allocator hides its blocks from ASan: to ASan an arena is one big
//! mapping that is all addressable. Built with `--cfg pymalloc_asan` (next to
//! `-Zsanitizer=address`), pymalloc poisons free blocks and the tail of each
//! block past the requested size, so use-after-free, double free and
//! overflows inside a pool are reported. Otherwise these are no-ops.
//!
//! Invariant: a block on a free list is poisoned except while the allocator
//! reads or writes its link word; a live block is addressable for exactly
//! the requested size.

#[cfg(pymalloc_asan)]
unsafe extern "C" {
    fn __asan_poison_memory_region(addr: *const core::ffi::c_void, size: usize);
    fn __asan_unpoison_memory_region(addr: *const core::ffi::c_void, size: usize);
    fn __asan_address_is_poisoned(addr: *const core::ffi::c_void) -> core::ffi::c_int;
}

/// A block is being freed: stop on a double free (a free block's first byte
/// is poisoned, a live one's never is), then make the whole block
/// addressable for the free path's own writes.
#[inline(always)]
pub(crate) fn on_free(p: *mut u8, block_size: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only reads ASan's shadow memory.
    if unsafe { __asan_address_is_poisoned(p.cast()) } != 0 {
        crate::os::fatal(
            "double free of block (AddressSanitizer shows it already free)",
            p.addr(),
        );
    }
    unpoison(p, block_size);
}

/// A live block of `block_size` bytes now holds `size` requested bytes.
#[inline(always)]
pub(crate) fn resize(p: *mut u8, size: usize, block_size: usize) {
    unpoison(p, size);
    poison(p.wrapping_add(size), block_size - size);
}

/// Marks `[p, p + size)` unaddressable.
#[inline(always)]
pub(crate) fn poison(p: *const u8, size: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only ASan's shadow memory changes.
    unsafe {
        __asan_poison_memory_region(p.cast(), size)
    };
    let _ = (p, size);
}

/// Marks `[p, p + size)` addressable.
#[inline(always)]
pub(crate) fn unpoison(p: *const u8, size: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only ASan's shadow memory changes.
    unsafe {
        __asan_unpoison_memory_region(p.cast(), size)
    };
    let _ = (p, size);
}
