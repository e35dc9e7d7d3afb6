//! Telling memory checkers about pool blocks: AddressSanitizer and
//! valgrind's memcheck.
//!
//! A pool allocator hides its blocks from both: to them an arena is one big
//! mapping, all of it addressable. Built with `--cfg pymalloc_asan` (next to
//! `-Zsanitizer=address`) pymalloc poisons free blocks and the tail of each
//! block past the requested size; built with `--cfg pymalloc_valgrind` it
//! makes memcheck client requests (`MALLOCLIKE_BLOCK`, `FREELIKE_BLOCK`,
//! `MAKE_MEM_*`), so memcheck reports use after free, double frees,
//! overflows inside a pool, reads of uninitialised memory and leaks of pool
//! blocks, with the allocation and free stacks. Otherwise every function
//! here is empty.
//!
//! Invariant: a block on a free list is unaddressable except while the
//! allocator reads or writes its link word; a live block is addressable for
//! exactly the requested size.

/// A block is handed out for `size` of its `block_size` bytes, after the
/// allocator's own writes to it (`zeroed`: all `size` bytes are zero).
#[inline(always)]
pub(crate) fn block_allocated(p: *mut u8, size: usize, block_size: usize, zeroed: bool) {
    poison(p.wrapping_add(size), block_size - size);
    #[cfg(pymalloc_valgrind)]
    valgrind::request(
        valgrind::MALLOCLIKE_BLOCK,
        p.addr(),
        size,
        0,
        zeroed as usize,
    );
    let _ = zeroed;
}

/// The allocator is about to write a whole block (debug fill, zeroing,
/// checks): make it addressable.
#[inline(always)]
pub(crate) fn block_open(p: *mut u8, block_size: usize) {
    unpoison(p, block_size);
}

/// A block is being freed: stop on a double free (under ASan a free
/// block's first byte is poisoned, a live one's never is), then make the
/// whole block addressable for the free path's own writes.
#[inline(always)]
pub(crate) fn free_begin(p: *mut u8, block_size: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only reads ASan's shadow memory.
    if unsafe { asan::__asan_address_is_poisoned(p.cast()) } != 0 {
        crate::os::fatal(
            "double free of block (AddressSanitizer shows it already free)",
            p.addr(),
        );
    }
    unpoison(p, block_size);
}

/// A block is free now (its link is written next, through `link_open`).
#[inline(always)]
pub(crate) fn block_freed(p: *mut u8, block_size: usize) {
    #[cfg(pymalloc_valgrind)]
    valgrind::request(valgrind::FREELIKE_BLOCK, p.addr(), 0, 0, 0);
    poison(p, block_size);
}

/// A live block is resized in place from `old` to `new` bytes.
#[inline(always)]
pub(crate) fn resized(p: *mut u8, old: usize, new: usize, block_size: usize) {
    #[cfg(pymalloc_valgrind)]
    {
        let _ = block_size;
        valgrind::request(valgrind::RESIZEINPLACE_BLOCK, p.addr(), old, new, 0);
    }
    #[cfg(not(pymalloc_valgrind))]
    {
        let _ = old;
        unpoison(p, new);
        poison(p.wrapping_add(new), block_size - new);
    }
}

/// The allocator reads or writes the link word of a free block.
#[inline(always)]
pub(crate) fn link_open(b: *mut u8) {
    unpoison(b, size_of::<usize>());
}

/// The allocator is done with a free block's link word.
#[inline(always)]
pub(crate) fn link_close(b: *mut u8) {
    poison(b, size_of::<usize>());
}

/// Fresh blocks were carved: they are free, so unaddressable.
#[inline(always)]
pub(crate) fn carved(p: *mut u8, len: usize) {
    poison(p, len);
}

/// An arena is about to be unmapped: forget what was said about its
/// blocks, since the range may be reused by anyone.
#[inline(always)]
pub(crate) fn arena_unmapped(base: *mut u8, len: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only ASan's shadow memory changes.
    unsafe {
        asan::__asan_unpoison_memory_region(base.cast(), len)
    };
    let _ = (base, len);
}

/// Marks `[p, p + len)` unaddressable.
#[inline(always)]
fn poison(p: *mut u8, len: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only ASan's shadow memory changes.
    unsafe {
        asan::__asan_poison_memory_region(p.cast(), len)
    };
    #[cfg(pymalloc_valgrind)]
    valgrind::request(valgrind::MAKE_MEM_NOACCESS, p.addr(), len, 0, 0);
    let _ = (p, len);
}

/// Marks `[p, p + len)` addressable (and, for memcheck, defined: the
/// allocator only opens memory it is about to write or whose link it reads).
#[inline(always)]
fn unpoison(p: *mut u8, len: usize) {
    #[cfg(pymalloc_asan)]
    // SAFETY: only ASan's shadow memory changes.
    unsafe {
        asan::__asan_unpoison_memory_region(p.cast(), len)
    };
    #[cfg(pymalloc_valgrind)]
    valgrind::request(valgrind::MAKE_MEM_DEFINED, p.addr(), len, 0, 0);
    let _ = (p, len);
}

#[cfg(pymalloc_asan)]
mod asan {
    unsafe extern "C" {
        pub(super) fn __asan_poison_memory_region(addr: *const core::ffi::c_void, size: usize);
        pub(super) fn __asan_unpoison_memory_region(addr: *const core::ffi::c_void, size: usize);
        pub(super) fn __asan_address_is_poisoned(
            addr: *const core::ffi::c_void,
        ) -> core::ffi::c_int;
    }
}

/// Valgrind client requests (`valgrind.h`, x86-64): a "special instruction"
/// sequence that does nothing on real hardware and, under valgrind, asks
/// the tool to act on an argument block.
#[cfg(pymalloc_valgrind)]
mod valgrind {
    pub(super) const MALLOCLIKE_BLOCK: usize = 0x1301;
    pub(super) const FREELIKE_BLOCK: usize = 0x1302;
    pub(super) const RESIZEINPLACE_BLOCK: usize = 0x130b;
    const MEMCHECK_BASE: usize = ((b'M' as usize) << 24) | ((b'C' as usize) << 16);
    pub(super) const MAKE_MEM_NOACCESS: usize = MEMCHECK_BASE;
    pub(super) const MAKE_MEM_DEFINED: usize = MEMCHECK_BASE + 2;

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(super) fn request(request: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
        let args: [usize; 6] = [request, a1, a2, a3, a4, 0];
        let mut result: usize = 0;
        // SAFETY: rotating rdi by 3 + 13 + 61 + 51 = 128 bits leaves it as it
        // was and `xchg rbx, rbx` changes nothing: on hardware this is a
        // no-op. Valgrind recognises the sequence, reads `args` and puts its
        // answer in rdx.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                inout("rdx") result,
                in("rax") args.as_ptr(),
                inout("rdi") 0usize => _,
                options(nostack),
            );
        }
        result
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn request(_: usize, _: usize, _: usize, _: usize, _: usize) -> usize {
        0
    }
}
