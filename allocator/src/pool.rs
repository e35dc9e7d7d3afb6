//! A pool: the blocks of one size class in a 16 KiB, 16 KiB-aligned slice of
//! an arena, and its header.
//!
//! Headers do not sit at the start of their pools: they form a table at the
//! start of the arena (see `arena.rs`), and a block's header is found by
//! masking its address to the arena and indexing the table with the pool
//! number, address bits 14..20. Headers at 16 KiB-aligned addresses would
//! all fall into the same L1 cache set and evict each other once more than
//! 8 pools are busy; side by side they spread over every set.
//!
//! Blocks are carved lazily: `bump` is the offset of the first never-used
//! block, and [`Pool::carve`] links only the blocks of the next 4 KiB into
//! `free`, so a pool touches the pages it hands out and no others. Freed
//! blocks form lists threaded through their first word. As in mimalloc there
//! are three: allocation pops `free`; the holder's frees push `local_free`;
//! other threads push the atomic remote list. When `free` runs dry the holder
//! swaps the other two in, so every `free`-list's worth of allocations the
//! pool also takes in remote frees.
//!
//! A header is two cache lines: what the holder touches, and what other
//! threads touch (the remote list), so that remote frees do not evict the
//! holder's line.
//!
//! Invariants:
//! - `heap`, `class`, `block_size`, `capacity`, `limit` and `fresh` are set
//!   by [`Pool::init`] while the pool is free in its arena (no block of it is
//!   live, nobody else can reach it) and do not change until it goes back.
//! - The `UnsafeCell` fields are touched only by the holder of `heap`, except
//!   `shared.next_pending`, which the freer that consumed `NOTIFY` writes
//!   before publishing the pool in the inbox.
//! - `used` counts blocks handed out and not yet back on `free` or
//!   `local_free`: blocks waiting on the remote list are still "used".
//! - `free_is_zero`: every block on `free` is zero apart from its link word
//!   (they were carved from never-written memory).
//! - `fresh`: the bytes from `bump` to the end of the pool are zero.
//! - A pool with `in_full` is on no class list and its remote tag is
//!   `NOTIFY` or `NOTIFIED`.

use crate::arena::{FIRST_BLOCK_IN_ARENA, POOL_TABLE_OFFSET};
use crate::heap::Heap;
use crate::remote::RemoteFree;
use crate::sanitizer;
use crate::size_class::{ARENA_SIZE, CARVE_SPAN, POOL_SIZE, POOLS_PER_ARENA, block_size};
use crate::sync::{UnsafeCell, const_unless_loom};
use core::ptr;

/// A free block: its first word links it to the next free block.
#[repr(C)]
pub(crate) struct Block {
    next: UnsafeCell<*mut Block>,
    /// A word of "user data" for loom models, so that they check that what a
    /// thread wrote into a block before freeing it is visible to the thread
    /// that gets the block next.
    #[cfg(loom)]
    pub payload: loom::cell::UnsafeCell<usize>,
}

impl Block {
    /// Reads the link of a free block.
    ///
    /// # Safety
    /// `b` is a free block the caller may read (it holds the list it is on).
    #[inline(always)]
    pub(crate) unsafe fn next(b: *mut Block) -> *mut Block {
        sanitizer::link_open(b.cast());
        // SAFETY: the caller holds the list `b` is on.
        let next = unsafe { (*b).next.get() };
        sanitizer::link_close(b.cast());
        next
    }

    /// Writes the link of a block being freed or carved.
    ///
    /// # Safety
    /// The caller owns `b`, which no other thread reads until it is published.
    #[inline(always)]
    pub(crate) unsafe fn set_next(b: *mut Block, next: *mut Block) {
        sanitizer::link_open(b.cast());
        // SAFETY: the caller owns `b`.
        unsafe { (*b).next.set(next) };
        sanitizer::link_close(b.cast());
    }

    /// Makes never-used memory a free block linked to `next`.
    ///
    /// # Safety
    /// `b` is never-used memory of a pool the caller holds.
    #[inline(always)]
    unsafe fn init(b: *mut Block, next: *mut Block) {
        #[cfg(not(loom))]
        // SAFETY: as for `set_next`.
        unsafe {
            Block::set_next(b, next)
        }
        #[cfg(loom)]
        // SAFETY: the memory is unused; loom's cells must be constructed.
        unsafe {
            b.write(Block {
                next: UnsafeCell::new(next),
                payload: loom::cell::UnsafeCell::new(0),
            })
        }
    }
}

/// The header of a pool.
#[repr(C, align(64))]
pub(crate) struct Pool {
    /// Blocks ready to hand out. Allocation pops only from here.
    pub(crate) free: UnsafeCell<*mut Block>,
    /// Blocks the holder freed since `free` was last refilled.
    local_free: UnsafeCell<*mut Block>,
    /// The heap that owns the pool's arena.
    pub(crate) heap: *const Heap,
    /// Neighbours on the class list, or the next free pool in the arena.
    pub(crate) next: UnsafeCell<*mut Pool>,
    /// Neighbour on the class list.
    pub(crate) prev: UnsafeCell<*mut Pool>,
    /// Blocks handed out (including remote frees not yet taken in). As wide
    /// as `slow_mark`, so that the free path's loads of the pair never
    /// straddle the allocation path's store (a store-forwarding stall).
    pub(crate) used: UnsafeCell<u32>,
    /// A free that leaves `used` at or below this takes the slow path: 0 on
    /// a class list (the pool emptied), `RELINK` blocks below capacity when
    /// full (enough came back to put it on its list again).
    pub(crate) slow_mark: UnsafeCell<u32>,
    /// Offset of the first never-carved block.
    bump: UnsafeCell<u16>,
    /// Bytes per block.
    pub(crate) block_size: u16,
    /// Offset just past the last block.
    limit: u16,
    /// Blocks the pool can hold.
    pub(crate) capacity: u16,
    /// The pool ran out of blocks and left its class list.
    pub(crate) in_full: UnsafeCell<bool>,
    /// Every block on `free` is zero but for its link.
    pub(crate) free_is_zero: UnsafeCell<bool>,
    /// Size class.
    pub(crate) class: u8,
    /// The memory from `bump` on has never been written.
    fresh: bool,
    /// What other threads touch, on its own cache line.
    pub(crate) shared: Shared,
}

/// The part of a pool header other threads write.
#[repr(C, align(64))]
pub(crate) struct Shared {
    /// Blocks freed by other threads, and the notice tag.
    pub(crate) remote: RemoteFree,
    /// Link in the heap's inbox.
    pub(crate) next_pending: UnsafeCell<*mut Pool>,
}

/// Bytes of a pool header: the stride of the arena's header table.
pub(crate) const POOL_HEADER_SIZE: usize = size_of::<Pool>();

#[cfg(not(loom))]
const _: () = assert!(POOL_HEADER_SIZE == 128);

impl Pool {
    /// The header of the pool holding `p`: its arena's table, indexed by the
    /// pool number in `p`'s address.
    #[inline(always)]
    pub(crate) fn of<T>(p: *mut T) -> *mut Pool {
        p.map_addr(|a| {
            let index = (a / POOL_SIZE) % POOLS_PER_ARENA;
            (a & !(ARENA_SIZE - 1)) + POOL_TABLE_OFFSET + index * POOL_HEADER_SIZE
        })
        .cast()
    }

    /// The header of pool `index` of the arena at `arena`.
    pub(crate) fn at(arena: *mut u8, index: usize) -> *mut Pool {
        arena
            .wrapping_add(POOL_TABLE_OFFSET + index * POOL_HEADER_SIZE)
            .cast()
    }

    /// The pool's number in its arena.
    pub(crate) fn index(this: *mut Pool) -> usize {
        (this.addr() % ARENA_SIZE - POOL_TABLE_OFFSET) / POOL_HEADER_SIZE
    }

    /// Bytes the pool's blocks may occupy (less for pool 0, which shares
    /// its 16 KiB with the headers).
    pub(crate) fn bytes(this: *mut Pool) -> usize {
        if Pool::index(this) == 0 {
            POOL_SIZE - FIRST_BLOCK_IN_ARENA
        } else {
            POOL_SIZE
        }
    }

    /// The first byte of the pool's 16 KiB.
    fn base(this: *mut Pool) -> *mut u8 {
        let index = Pool::index(this);
        this.cast::<u8>()
            .map_addr(|a| (a & !(ARENA_SIZE - 1)) + index * POOL_SIZE)
    }

    const_unless_loom! {
        /// A pool that is never handed out: its `free` is always null, so the
        /// allocation fast path falls through to the slow path.
        pub(crate) fn sentinel() -> Pool {
            Pool {
                free: UnsafeCell::new(ptr::null_mut()),
                local_free: UnsafeCell::new(ptr::null_mut()),
                heap: ptr::null(),
                next: UnsafeCell::new(ptr::null_mut()),
                prev: UnsafeCell::new(ptr::null_mut()),
                used: UnsafeCell::new(0),
                slow_mark: UnsafeCell::new(0),
                bump: UnsafeCell::new(0),
                block_size: 0,
                limit: 0,
                capacity: 0,
                in_full: UnsafeCell::new(false),
                free_is_zero: UnsafeCell::new(false),
                class: 0,
                fresh: false,
                shared: Shared {
                    remote: RemoteFree::new(),
                    next_pending: UnsafeCell::new(ptr::null_mut()),
                },
            }
        }
    }

    /// Writes a fresh header for `class` at `this`. `fresh` says whether the
    /// pool's memory was never written.
    ///
    /// # Safety
    /// `this` is the header of a pool of an arena owned by `heap`, free in
    /// that arena, held by the caller.
    pub(crate) unsafe fn init(this: *mut Pool, heap: *const Heap, class: usize, fresh: bool) {
        // Pool 0 shares its 16 KiB with the arena's headers.
        let first = POOL_SIZE - Pool::bytes(this);
        let size = block_size(class);
        let capacity = (POOL_SIZE - first) / size;
        let header = Pool {
            free: UnsafeCell::new(ptr::null_mut()),
            local_free: UnsafeCell::new(ptr::null_mut()),
            heap,
            next: UnsafeCell::new(ptr::null_mut()),
            prev: UnsafeCell::new(ptr::null_mut()),
            used: UnsafeCell::new(0),
            slow_mark: UnsafeCell::new(0),
            bump: UnsafeCell::new(first as u16),
            block_size: size as u16,
            limit: (first + capacity * size) as u16,
            capacity: capacity as u16,
            in_full: UnsafeCell::new(false),
            free_is_zero: UnsafeCell::new(false),
            class: class as u8,
            fresh,
            shared: Shared {
                remote: RemoteFree::new(),
                next_pending: UnsafeCell::new(ptr::null_mut()),
            },
        };
        // SAFETY: the caller holds the free pool; no block of it is live and
        // no other thread can reach its header.
        unsafe { this.write(header) };
    }

    /// Takes `block`, the head of `free`, off the list.
    ///
    /// # Safety
    /// The caller holds the pool's heap and `block == self.free`.
    #[inline(always)]
    pub(crate) unsafe fn pop(&self, block: *mut Block) {
        // SAFETY: the caller holds the pool; `block` is on its free list.
        unsafe {
            self.free.set(Block::next(block));
            self.used.set(self.used.get() + 1);
        }
    }

    /// Puts a block the holder frees on `local_free`; returns the new `used`.
    ///
    /// # Safety
    /// The caller holds the pool's heap and owns `block`, a block of this pool.
    #[inline(always)]
    pub(crate) unsafe fn push_local(&self, block: *mut Block) -> u32 {
        // SAFETY: the caller holds the pool and owns the block.
        unsafe {
            Block::set_next(block, self.local_free.get());
            self.local_free.set(block);
            let used = self.used.get() - 1;
            self.used.set(used);
            used
        }
    }

    /// Prepends a list of remotely freed blocks (taken from the remote list)
    /// to `local_free` and returns how many there were; `used` drops by as
    /// many.
    ///
    /// # Safety
    /// The caller holds the pool's heap; `list` came from this pool's remote
    /// list.
    pub(crate) unsafe fn absorb(&self, list: *mut Block) -> u32 {
        if list.is_null() {
            return 0;
        }
        let mut n = 1;
        let mut tail = list;
        // SAFETY: the taken list is the holder's now; its links were written
        // before the pushes that the acquiring take synchronised with.
        unsafe {
            loop {
                let next = Block::next(tail);
                if next.is_null() {
                    break;
                }
                tail = next;
                n += 1;
            }
            Block::set_next(tail, self.local_free.get());
            self.local_free.set(list);
            self.used.set(self.used.get() - n);
        }
        n
    }

    /// Refills the empty `free` list: from `local_free`, then from blocks
    /// freed remotely, then by carving. Returns how many remote frees were
    /// taken in (for the heap's counters) and whether `free` has a block now.
    ///
    /// # Safety
    /// `this` is a pool the caller holds, with an empty `free` list.
    pub(crate) unsafe fn refill(this: *mut Pool) -> (u32, bool) {
        // SAFETY: the caller holds the pool.
        unsafe {
            let pool = &*this;
            let taken = if pool.shared.remote.has_blocks() {
                pool.absorb(pool.shared.remote.take())
            } else {
                0
            };
            let local = pool.local_free.get();
            if !local.is_null() {
                pool.free.set(local);
                pool.local_free.set(ptr::null_mut());
                pool.free_is_zero.set(false);
                return (taken, true);
            }
            (taken, Pool::carve(this))
        }
    }

    /// The pool ran out of blocks: it leaves its class list until a few
    /// (an eighth of its capacity) come back by local frees, so that it is
    /// not relinked, used up and unlinked again for every single block.
    ///
    /// # Safety
    /// The caller holds the pool and has just taken it off its list.
    pub(crate) unsafe fn detach_full(&self) {
        let relink = (self.capacity / 8).max(1);
        // SAFETY: the caller holds the pool.
        unsafe {
            self.in_full.set(true);
            self.slow_mark.set(u32::from(self.capacity - relink));
        }
    }

    /// The pool goes (back) on its class list.
    ///
    /// # Safety
    /// The caller holds the pool and links it.
    pub(crate) unsafe fn mark_listed(&self) {
        // SAFETY: the caller holds the pool.
        unsafe {
            self.in_full.set(false);
            self.slow_mark.set(0);
        }
    }

    /// Whether the holder could hand out a block without any remote frees.
    ///
    /// # Safety
    /// The caller holds the pool.
    pub(crate) unsafe fn has_free(&self) -> bool {
        // SAFETY: the caller holds the pool.
        unsafe {
            !self.free.get().is_null()
                || !self.local_free.get().is_null()
                || self.bump.get() < self.limit
        }
    }

    /// Links the never-used blocks that start in the next 4 KiB into the
    /// empty `free` list. Returns false when the pool has none left.
    ///
    /// # Safety
    /// `this` is a pool the caller holds, with an empty `free` list.
    unsafe fn carve(this: *mut Pool) -> bool {
        // SAFETY: the caller holds the pool; the carved range lies between
        // `bump` and `limit`, inside the pool, never handed out.
        unsafe {
            let pool = &*this;
            let start = pool.bump.get() as usize;
            let limit = pool.limit as usize;
            if start >= limit {
                return false;
            }
            let size = pool.block_size as usize;
            let span_end = (start / CARVE_SPAN + 1) * CARVE_SPAN;
            let n = (span_end.min(limit) - start).div_ceil(size);
            let base = Pool::base(this);
            let first = base.add(start).cast::<Block>();
            sanitizer::carved(first.cast(), n * size);
            let mut block = first;
            for _ in 1..n {
                let next = block.byte_add(size);
                Block::init(block, next);
                block = next;
            }
            Block::init(block, ptr::null_mut());
            pool.free.set(first);
            pool.bump.set((start + n * size) as u16);
            pool.free_is_zero.set(pool.fresh);
            true
        }
    }

    /// Whether `p` is the address of a block of this pool (not a header, not
    /// inside a block, not beyond the carved part). Used by debug checks.
    ///
    /// # Safety
    /// The caller holds the pool, or accepts a racy answer about `bump`.
    #[cfg(debug_assertions)]
    pub(crate) unsafe fn is_block_start(this: *mut Pool, p: *mut u8) -> bool {
        // SAFETY: reads of the pool's own header.
        unsafe {
            let pool = &*this;
            let offset = p.addr().wrapping_sub(Pool::base(this).addr());
            let first = pool.limit as usize - pool.capacity as usize * pool.block_size as usize;
            offset >= first
                && offset < pool.limit as usize
                && (offset - first).is_multiple_of(pool.block_size as usize)
        }
    }

    /// Whether `block` is on this pool's `free` or `local_free` list, or its
    /// remote list. A walk: debug checks only.
    ///
    /// # Safety
    /// The caller holds the pool.
    #[cfg(all(debug_assertions, not(loom)))]
    pub(crate) unsafe fn lists_contain(&self, block: *mut Block) -> bool {
        let remote = self.shared.remote.peek();
        // SAFETY: the holder may walk its own lists; the remote list is only
        // ever prepended to, so a snapshot of it is a stable list.
        unsafe {
            for head in [self.free.get(), self.local_free.get(), remote] {
                let mut b = head;
                while !b.is_null() {
                    if b == block {
                        return true;
                    }
                    b = Block::next(b);
                }
            }
        }
        false
    }
}
