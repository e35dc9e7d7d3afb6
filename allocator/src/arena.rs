//! Arenas: 1 MiB, 1 MiB-aligned mappings cut into 64 pools, each owned by one
//! heap for its whole life; and the heap's set of arenas with the release
//! policy.
//!
//! ```text
//! | arena header | 64 pool headers, 128 B each | pool 0's blocks | pool 1 | ... | pool 63 |
//! '----------------------- pool 0: 16 KiB -----------------------'
//! ```
//!
//! The arena header is at the arena's start, so masking any address in the
//! arena finds it; the pool headers follow as a table (see `pool.rs` for why
//! they are not at their pools' starts), so pool 0 holds fewer blocks. Pools
//! are handed out lazily (`next_fresh` counts the pools ever used) and come
//! back onto a free-pool list.
//!
//! Policy, as in obmalloc: new pools come from the busiest arena (fewest free
//! pools), so lightly used arenas drain and can be unmapped; an arena that
//! becomes wholly free is unmapped at once, except that an active heap keeps
//! one as a spare to avoid map/unmap churn. CPython keeps its arenas sorted;
//! here they sit in buckets by free-pool count with a bitmap of non-empty
//! buckets, so finding the busiest and moving an arena are O(1).
//!
//! Invariants:
//! - An arena belongs to one heap from map to unmap; its fields are touched
//!   only by the holder of that heap.
//! - `heads` is the number of that heap's class heads among its pools
//!   (`Heap::set_head` keeps it; tested by the heap's pinning tests).
//! - An arena with `k` free pools, `0 < k < POOLS_PER_ARENA`, is on bucket
//!   `k`; a full arena (`k == 0`) is on no bucket; a wholly free arena is the
//!   spare or unmapped at once.
//! - An arena is unmapped only when all its pools are free, so no block of it
//!   is live and no remote free into it can be in flight.

use crate::heap::Heap;
use crate::os;
use crate::pool::{POOL_HEADER_SIZE, Pool};
use crate::sanitizer;
use crate::size_class::{ALIGNMENT, ARENA_SIZE, POOL_SIZE, POOLS_PER_ARENA, round_up};
use crate::sync::{UnsafeCell, array_of, const_unless_loom};
use core::ptr;

/// The header of an arena.
#[repr(C)]
pub(crate) struct Arena {
    /// How many of the heap's class lists have their head (current pool)
    /// here: the pools in use are all heads only if `nfree + heads` is
    /// `POOLS_PER_ARENA`, which is what lets empty heads pin the arena.
    heads: UnsafeCell<u32>,
    /// Pools not in use: on `free_pools` or never used.
    nfree: UnsafeCell<u32>,
    /// Index of the first never-used pool.
    next_fresh: UnsafeCell<u32>,
    /// Pools given back, linked through their `next`.
    free_pools: UnsafeCell<*mut Pool>,
    /// Neighbours on the heap's bucket list.
    prev: UnsafeCell<*mut Arena>,
    next: UnsafeCell<*mut Arena>,
}

/// Offset of the pool header table, after the arena header, line-aligned.
pub(crate) const POOL_TABLE_OFFSET: usize = round_up(size_of::<Arena>(), align_of::<Pool>());
/// Offset of pool 0's first block, after the table.
pub(crate) const FIRST_BLOCK_IN_ARENA: usize = round_up(
    POOL_TABLE_OFFSET + POOLS_PER_ARENA * POOL_HEADER_SIZE,
    ALIGNMENT,
);

const _: () = assert!(
    POOL_SIZE - FIRST_BLOCK_IN_ARENA >= 2 * 512,
    "pool 0 must hold two blocks of every class"
);

impl Arena {
    /// The arena holding `p`, found by masking its address.
    #[inline(always)]
    pub(crate) fn of<T>(p: *mut T) -> *mut Arena {
        p.map_addr(|a| a & !(ARENA_SIZE - 1)).cast()
    }

    /// How many of the arena's pools are free.
    ///
    /// # Safety
    /// The caller holds the heap that owns the arena.
    pub(crate) unsafe fn free_pools(this: *mut Arena) -> usize {
        // SAFETY: the caller holds the heap.
        unsafe { (*this).nfree.get() as usize }
    }

    /// How many class heads of the owning heap are pools of this arena.
    ///
    /// # Safety
    /// The caller holds the heap that owns the arena.
    #[inline(always)]
    pub(crate) unsafe fn heads(this: *mut Arena) -> usize {
        // SAFETY: the caller holds the heap.
        unsafe { (*this).heads.get() as usize }
    }

    /// A class head moved into (`true`) or out of this arena.
    ///
    /// # Safety
    /// The caller holds the heap that owns the arena.
    pub(crate) unsafe fn count_head(this: *mut Arena, arrived: bool) {
        // SAFETY: the caller holds the heap.
        unsafe {
            let heads = (*this).heads.get();
            (*this)
                .heads
                .set(if arrived { heads + 1 } else { heads - 1 });
        }
    }
}

/// A free pool taken from an arena.
pub(crate) struct TakenPool {
    pub(crate) pool: *mut Pool,
    /// Its memory has never been written.
    pub(crate) fresh: bool,
}

/// The arenas of one heap that have free pools, bucketed by free-pool count.
pub(crate) struct ArenaSet {
    /// Bucket `k` lists arenas with exactly `k` free pools (`k >= 1`).
    buckets: [UnsafeCell<*mut Arena>; POOLS_PER_ARENA],
    /// Bit `k` is set when bucket `k` is not empty.
    nonempty: UnsafeCell<u64>,
    /// One wholly free arena kept mapped, or null.
    spare: UnsafeCell<*mut Arena>,
}

impl ArenaSet {
    const_unless_loom! {
        /// A set with no arenas.
        pub(crate) fn new() -> Self {
            Self {
                buckets: array_of![UnsafeCell::new(ptr::null_mut()); POOLS_PER_ARENA],
                nonempty: UnsafeCell::new(0),
                spare: UnsafeCell::new(ptr::null_mut()),
            }
        }
    }

    /// Takes a free pool from the busiest arena that has one, else from the
    /// spare, else from a newly mapped arena. None when mapping fails.
    ///
    /// # Safety
    /// The caller holds `heap`, which owns this set.
    pub(crate) unsafe fn take_pool(&self, heap: &Heap) -> Option<TakenPool> {
        // SAFETY: the caller holds the heap, so it alone touches the set and
        // the headers of the heap's arenas.
        unsafe {
            let mask = self.nonempty.get();
            let arena = if mask != 0 {
                let k = mask.trailing_zeros() as usize;
                let arena = self.buckets[k].get();
                self.unlink(arena, k);
                arena
            } else {
                let spare = self.spare.get();
                if spare.is_null() {
                    map_arena(heap)?
                } else {
                    self.spare.set(ptr::null_mut());
                    spare
                }
            };
            let a = &*arena;
            let nfree = a.nfree.get() as usize - 1;
            a.nfree.set(nfree as u32);
            if nfree > 0 {
                self.link(arena, nfree);
            }
            let pool = a.free_pools.get();
            if pool.is_null() {
                let index = a.next_fresh.get() as usize;
                a.next_fresh.set(index as u32 + 1);
                Some(TakenPool {
                    pool: Pool::at(arena.cast(), index),
                    fresh: true,
                })
            } else {
                a.free_pools.set((*pool).next.get());
                Some(TakenPool { pool, fresh: false })
            }
        }
    }

    /// Gives an empty pool back to its arena; a wholly free arena becomes the
    /// spare or is unmapped.
    ///
    /// # Safety
    /// The caller holds `heap`; `pool` is a pool of one of its arenas with no
    /// live block, on no list, and not pending in the heap's inbox.
    pub(crate) unsafe fn give_back(&self, heap: &Heap, pool: *mut Pool) {
        // SAFETY: the caller holds the heap and hands the pool over.
        unsafe {
            let arena = Arena::of(pool);
            let a = &*arena;
            let nfree = a.nfree.get() as usize;
            if nfree > 0 {
                self.unlink(arena, nfree);
            }
            (*pool).next.set(a.free_pools.get());
            a.free_pools.set(pool);
            a.nfree.set(nfree as u32 + 1);
            if nfree + 1 < POOLS_PER_ARENA {
                self.link(arena, nfree + 1);
            } else if !heap.is_abandoned() && self.spare.get().is_null() {
                self.spare.set(arena);
            } else {
                unmap_arena(heap, arena);
            }
        }
    }

    /// Whether the heap keeps a spare arena.
    ///
    /// # Safety
    /// The caller holds the heap that owns this set.
    pub(crate) unsafe fn has_spare(&self) -> bool {
        // SAFETY: the caller holds the heap.
        unsafe { !self.spare.get().is_null() }
    }

    /// Unmaps the spare arena, if any (when the heap is abandoned).
    ///
    /// # Safety
    /// The caller holds `heap`, which owns this set.
    pub(crate) unsafe fn release_spare(&self, heap: &Heap) {
        // SAFETY: the caller holds the heap; the spare has no pool in use.
        unsafe {
            let spare = self.spare.get();
            if !spare.is_null() {
                self.spare.set(ptr::null_mut());
                unmap_arena(heap, spare);
            }
        }
    }

    /// Puts `arena` at the front of bucket `k`.
    unsafe fn link(&self, arena: *mut Arena, k: usize) {
        // SAFETY: the caller holds the heap.
        unsafe {
            let head = self.buckets[k].get();
            (*arena).prev.set(ptr::null_mut());
            (*arena).next.set(head);
            if !head.is_null() {
                (*head).prev.set(arena);
            }
            self.buckets[k].set(arena);
            self.nonempty.set(self.nonempty.get() | 1 << k);
        }
    }

    /// Takes `arena` off bucket `k`.
    unsafe fn unlink(&self, arena: *mut Arena, k: usize) {
        // SAFETY: the caller holds the heap; `arena` is on bucket `k`.
        unsafe {
            let prev = (*arena).prev.get();
            let next = (*arena).next.get();
            if prev.is_null() {
                self.buckets[k].set(next);
                if next.is_null() {
                    self.nonempty.set(self.nonempty.get() & !(1 << k));
                }
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }
}

/// Maps a new arena for `heap`. None when the kernel refuses.
///
/// # Safety
/// The caller holds `heap`.
unsafe fn map_arena(heap: &Heap) -> Option<*mut Arena> {
    let base = os::map_aligned(ARENA_SIZE, ARENA_SIZE);
    if base.is_null() {
        return None;
    }
    // SAFETY: the mapping is new, zeroed, and ours; the arena header comes
    // first.
    unsafe {
        let arena = base.cast::<Arena>();
        arena.write(Arena {
            heads: UnsafeCell::new(0),
            nfree: UnsafeCell::new(POOLS_PER_ARENA as u32),
            next_fresh: UnsafeCell::new(0),
            free_pools: UnsafeCell::new(ptr::null_mut()),
            prev: UnsafeCell::new(ptr::null_mut()),
            next: UnsafeCell::new(ptr::null_mut()),
        });
        #[cfg(not(loom))]
        if !crate::arena_map::ARENA_MAP.insert(base) {
            os::unmap(base, ARENA_SIZE);
            return None;
        }
        heap.registry().counters.arena_mapped(ARENA_SIZE);
        Some(arena)
    }
}

/// Unmaps a wholly free arena of `heap`.
///
/// # Safety
/// The caller holds `heap`; every pool of `arena` is free.
unsafe fn unmap_arena(heap: &Heap, arena: *mut Arena) {
    let base = arena.cast::<u8>();
    #[cfg(not(loom))]
    crate::arena_map::ARENA_MAP.remove(base);
    // Forget the poison of the arena's blocks: the range may be reused by
    // anyone once unmapped.
    sanitizer::arena_unmapped(base, ARENA_SIZE);
    // SAFETY: no pool of the arena is in use, so nothing refers into it.
    unsafe { os::unmap(base, ARENA_SIZE) };
    heap.registry().counters.arena_unmapped(ARENA_SIZE);
}
