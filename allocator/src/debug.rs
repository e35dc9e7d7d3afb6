//! Misuse checks of debug builds, in the spirit of CPython's
//! `PYTHONMALLOC=debug`: a dealloc of a pointer pymalloc did not hand out,
//! of an interior pointer, with a layout of another size class, or a second
//! dealloc of the same block, stops the process with a clear message instead
//! of corrupting memory. New blocks are filled with `0xCD` and freed ones with
//! `0xDD`, so reads of uninitialised or freed memory stand out.
//!
//! A freed block carries a canary in its second word (its address mixed with
//! a constant). A free that finds the canary is almost surely a double free;
//! the holder confirms by finding the block on its pool's lists, another
//! thread trusts the canary (it cannot walk the holder's lists).
//!
//! In release builds, and under loom, every function here is empty.
//!
//! Invariant: the canary is written only on free and cleared on every
//! allocation, so a live block never carries it unless its owner wrote it.

#[cfg(all(debug_assertions, not(loom)))]
mod checks {
    use crate::os::fatal;
    use crate::pool::{Block, Pool};
    use crate::size_class::class_of;

    const CANARY: usize = 0xdead_f4ee_b10c_0000;
    const FILL_NEW: u8 = 0xCD;
    const FILL_FREED: u8 = 0xDD;

    fn canary(block: *mut Block) -> usize {
        CANARY ^ block.addr()
    }

    /// Checks a small dealloc before anything is written.
    pub(crate) fn check_dealloc(p: *mut u8, size: usize) {
        if !crate::arena_map::ARENA_MAP.contains(p) {
            fatal(
                "dealloc of a pointer pymalloc did not allocate (or with a wrong layout):",
                p.addr(),
            );
        }
        let pool = Pool::of(p);
        // SAFETY: `p` lies in a live arena, so its pool header is mapped; the
        // fields read are fixed while the pool has live blocks.
        unsafe {
            if (*pool).heap.is_null() || !Pool::is_block_start(pool, p) {
                fatal(
                    "dealloc of a pointer that is not the start of a pymalloc block:",
                    p.addr(),
                );
            }
            if (*pool).class as usize != class_of(size) {
                fatal(
                    "dealloc with a layout of another size class than the allocation's:",
                    p.addr(),
                );
            }
        }
    }

    /// A block is handed out: clear the canary, fill when asked.
    pub(crate) fn on_alloc(p: *mut u8, block_size: usize, fill: bool) {
        // SAFETY: the block is ours and `block_size` long.
        unsafe {
            if fill {
                p.write_bytes(FILL_NEW, block_size);
            } else {
                p.cast::<usize>().add(1).write(0);
            }
        }
    }

    /// The holder frees `block`.
    pub(crate) fn on_free_local(pool: *mut Pool, block: *mut Block) {
        // SAFETY: the caller holds the pool; `block` is one of its blocks.
        unsafe {
            let word = block.cast::<usize>().add(1);
            if word.read() == canary(block) && (*pool).lists_contain(block) {
                fatal("double free of block", block.addr());
            }
            mark_freed(pool, block);
        }
    }

    /// Another thread frees `block`.
    pub(crate) fn on_free_remote(pool: *mut Pool, block: *mut Block) {
        // SAFETY: the caller owns the live block.
        unsafe {
            if block.cast::<usize>().add(1).read() == canary(block) {
                fatal(
                    "double free of block (freed by a thread that does not own it)",
                    block.addr(),
                );
            }
            mark_freed(pool, block);
        }
    }

    unsafe fn mark_freed(pool: *mut Pool, block: *mut Block) {
        // SAFETY: the caller owns the block; blocks are at least 16 bytes.
        unsafe {
            let size = (*pool).block_size as usize;
            block
                .cast::<u8>()
                .add(16)
                .write_bytes(FILL_FREED, size - 16);
            block.cast::<usize>().add(1).write(canary(block));
        }
    }
}

#[cfg(all(debug_assertions, not(loom)))]
pub(crate) use checks::*;

#[cfg(not(all(debug_assertions, not(loom))))]
mod nothing {
    use crate::pool::{Block, Pool};

    #[inline(always)]
    pub(crate) fn check_dealloc(_: *mut u8, _: usize) {}
    #[inline(always)]
    pub(crate) fn on_alloc(_: *mut u8, _: usize, _: bool) {}
    #[inline(always)]
    pub(crate) fn on_free_local(_: *mut Pool, _: *mut Block) {}
    #[inline(always)]
    pub(crate) fn on_free_remote(_: *mut Pool, _: *mut Block) {}
}

#[cfg(not(all(debug_assertions, not(loom))))]
pub(crate) use nothing::*;
