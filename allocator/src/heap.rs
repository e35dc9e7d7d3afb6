//! One thread's heap: per size class a list of partly used pools, the arenas
//! those pools come from, counters, and an inbox for news from other threads.
//!
//! Fast paths (inline): allocation pops the first block of the class's first
//! pool; a free by the holder pushes onto the pool's `local_free`. Neither
//! uses an atomic read-modify-write. Everything else is in the slow paths
//! (out of line): refilling, moving on to the next pool, taking a new pool,
//! taking in the inbox, and giving pools and arenas back.
//!
//! A new thread starts on a static placeholder heap whose lists hold only an
//! empty sentinel pool, so the fast path never asks "is this thread set
//! up?": its first allocation misses into the slow path, which attaches a
//! real heap.
//!
//! Invariants:
//! - Only the heap's holder (see `remote.rs`) runs any method here except
//!   [`Heap::free`] from another thread, which touches only the pool's remote
//!   list and the inbox.
//! - `pools[c]` is the head of class `c`'s list of partly used pools, or the
//!   sentinel when the list is empty. Each pool of the heap is on exactly one
//!   of: its class list, no list (`in_full`), its arena's free pools.
//! - An empty pool stays on its class list only while it is the class's only
//!   pool (so one block allocated and freed again and again never goes back
//!   to the arena), or while it waits in the inbox.
//! - `counters.in_use[c]` equals the sum of `used` over the class's pools.

use crate::arena::ArenaSet;
use crate::pool::{Block, Pool};
use crate::registry::Registry;
use crate::remote::{Arm, Holder, Inbox};
use crate::sanitizer;
use crate::size_class::NUM_CLASSES;
use crate::stats::HeapCounters;
use crate::sync::UnsafeCell;
use crate::{debug, remote};
use core::ptr;

/// A heap. Heaps live in their own mappings and are never unmapped: a heap
/// whose thread exits is abandoned and later adopted by a new thread.
#[repr(C, align(64))]
pub(crate) struct Heap {
    /// Per class, the first partly used pool, or the sentinel.
    pools: [UnsafeCell<*mut Pool>; NUM_CLASSES],
    /// Statistics, written by the holder only.
    pub(crate) counters: HeapCounters,
    /// The arenas this heap owns that have free pools, and the spare.
    arenas: ArenaSet,
    /// The thread exited: keep no spare, no empty pools, and arm every pool.
    abandoned: UnsafeCell<bool>,
    /// This is the static placeholder of threads without a heap.
    placeholder: bool,
    registry: *const Registry,
    /// The next heap in the registry; fixed once the heap is published.
    pub(crate) next_in_registry: *const Heap,
    /// The pool at the end of every empty class list.
    sentinel: Pool,
    /// Pools with remote frees to look at, and who holds the heap.
    pub(crate) inbox: Inbox,
}

// SAFETY: the cells of a heap are touched only by its current holder, and
// holding passes between threads through the inbox's release/acquire pairs.
unsafe impl Sync for Heap {}
// SAFETY: as above.
unsafe impl Send for Heap {}

impl Heap {
    /// The placeholder heap new threads start on; `this` is its own address.
    #[cfg(not(loom))]
    pub(crate) const fn placeholder(this: *const Heap, registry: *const Registry) -> Heap {
        // SAFETY: only the address of the field is taken.
        let sentinel = unsafe { &raw const (*this).sentinel } as *mut Pool;
        Heap {
            pools: [const { UnsafeCell::new(ptr::null_mut()) }; NUM_CLASSES],
            counters: HeapCounters::new(),
            arenas: ArenaSet::new(),
            abandoned: UnsafeCell::new(false),
            placeholder: true,
            registry,
            next_in_registry: ptr::null(),
            sentinel: Pool::sentinel(),
            inbox: Inbox::new(),
        }
        .with_sentinel(sentinel)
    }

    #[cfg(not(loom))]
    const fn with_sentinel(mut self, sentinel: *mut Pool) -> Heap {
        let mut i = 0;
        while i < NUM_CLASSES {
            self.pools[i] = UnsafeCell::new(sentinel);
            i += 1;
        }
        self
    }

    /// Writes a new heap, held by the calling thread, at `this`.
    ///
    /// # Safety
    /// `this` is writable memory for a `Heap` that nothing else refers to.
    pub(crate) unsafe fn init(this: *mut Heap, registry: *const Registry) {
        // SAFETY: only the address of the field is taken.
        let sentinel = unsafe { &raw mut (*this).sentinel };
        let heap = Heap {
            #[cfg(not(loom))]
            pools: [const { UnsafeCell::new(ptr::null_mut()) }; NUM_CLASSES],
            #[cfg(loom)]
            pools: core::array::from_fn(|_| UnsafeCell::new(ptr::null_mut())),
            counters: HeapCounters::new(),
            arenas: ArenaSet::new(),
            abandoned: UnsafeCell::new(false),
            placeholder: false,
            registry,
            next_in_registry: ptr::null(),
            sentinel: Pool::sentinel(),
            inbox: Inbox::new(),
        };
        // SAFETY: the caller gives us `this`; the heap is not shared yet.
        unsafe {
            this.write(heap);
            for head in &(*this).pools {
                head.set(sentinel);
            }
        }
    }

    /// The registry this heap belongs to.
    pub(crate) fn registry(&self) -> &Registry {
        // SAFETY: registries outlive their heaps (the global one is static;
        // loom models keep theirs until their heaps are gone).
        unsafe { &*self.registry }
    }

    /// Whether the heap's thread has exited.
    ///
    /// # Safety
    /// The caller holds the heap.
    pub(crate) unsafe fn is_abandoned(&self) -> bool {
        // SAFETY: the caller holds the heap.
        unsafe { self.abandoned.get() }
    }

    #[inline(always)]
    fn sentinel(&self) -> *mut Pool {
        (&raw const self.sentinel).cast_mut()
    }

    // ----- allocation -------------------------------------------------------

    /// Allocates a block of `class` for a request of `size` bytes, zeroed when
    /// `ZERO`. Null when memory runs out.
    ///
    /// # Safety
    /// The calling thread holds this heap (or it is the placeholder);
    /// `class` is `class_of(size)`.
    #[inline(always)]
    pub(crate) unsafe fn alloc<const ZERO: bool>(&self, class: usize, size: usize) -> *mut u8 {
        // SAFETY: the caller holds the heap; `pools[class]` is always a pool
        // of this heap or the sentinel, whose `free` is null.
        unsafe {
            let pool = &*self.pools[class].get();
            let block = pool.free.get();
            if block.is_null() {
                return self.alloc_slow::<ZERO>(class, size);
            }
            self.hand_out::<ZERO>(pool, block, class, size)
        }
    }

    /// Takes `block`, the first block of `pool`'s free list, and returns it.
    #[inline(always)]
    unsafe fn hand_out<const ZERO: bool>(
        &self,
        pool: &Pool,
        block: *mut Block,
        class: usize,
        size: usize,
    ) -> *mut u8 {
        // SAFETY: the caller holds the heap and `block` heads `pool.free`.
        unsafe {
            let zeroed = ZERO && pool.free_is_zero.get();
            pool.pop(block);
            self.counters.in_use[class].add(1);
            let p = block.cast::<u8>();
            let block_size = pool.block_size as usize;
            sanitizer::unpoison(p, block_size);
            debug::on_alloc(p, block_size, !ZERO);
            if ZERO {
                if zeroed {
                    // Only the link word was ever written.
                    p.cast::<usize>().write(0);
                } else {
                    p.write_bytes(0, size);
                }
            }
            sanitizer::poison(p.add(size), block_size - size);
            p
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow<const ZERO: bool>(&self, class: usize, size: usize) -> *mut u8 {
        #[cfg(not(loom))]
        if self.placeholder {
            return match crate::thread::attach() {
                // SAFETY: this thread now holds `heap`.
                Some(heap) => unsafe { heap.alloc::<ZERO>(class, size) },
                None => ptr::null_mut(),
            };
        }
        // SAFETY: the caller holds the heap.
        unsafe {
            self.collect_inbox();
            loop {
                let pool = self.pools[class].get();
                if pool == self.sentinel() {
                    break;
                }
                let p = &*pool;
                let block = p.free.get();
                if !block.is_null() {
                    return self.hand_out::<ZERO>(p, block, class, size);
                }
                let (taken, refilled) = Pool::refill(pool);
                self.counters.in_use[class].sub(taken as usize);
                if refilled {
                    continue;
                }
                // Full: leave the list, and ask to hear of remote frees.
                if p.shared.remote.arm() != Arm::Blocks {
                    self.unlink(pool);
                    p.in_full.set(true);
                }
            }
            let Some(taken) = self.arenas.take_pool(self) else {
                return ptr::null_mut();
            };
            Pool::init(taken.pool, self, class, taken.index, taken.fresh);
            let p = &*taken.pool;
            self.counters.pools[class].add(1);
            self.counters.capacity[class].add(p.capacity as usize);
            self.link_front(taken.pool);
            let (_, carved) = Pool::refill(taken.pool);
            debug_assert!(carved);
            self.hand_out::<ZERO>(p, p.free.get(), class, size)
        }
    }

    // ----- freeing ----------------------------------------------------------

    /// Frees `p`, a small block, from the calling thread.
    ///
    /// # Safety
    /// `p` is a live block from a pool of some heap; the calling thread holds
    /// this heap (or it is the placeholder).
    #[inline(always)]
    pub(crate) unsafe fn free(&self, p: *mut u8) {
        let pool = Pool::of(p);
        let block = p.cast::<Block>();
        // SAFETY: `p` is a live block, so its pool header is initialised and
        // `heap` is fixed; if it is this heap, the caller holds it.
        unsafe {
            if !ptr::eq((*pool).heap, self) {
                return remote::free(pool, block);
            }
            let size = (*pool).block_size as usize;
            debug::on_free_local(pool, block);
            sanitizer::poison(p, size);
            let used = (*pool).push_local(block);
            self.counters.in_use[(*pool).class as usize].sub(1);
            if used == 0 || (*pool).in_full.get() {
                self.free_slow(pool);
            }
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn free_slow(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            if p.in_full.get() {
                // The first free into a full pool puts it back at the front,
                // as in obmalloc.
                p.in_full.set(false);
                self.link_front(pool);
            }
            if p.used.get() == 0 {
                self.pool_emptied(pool);
            }
        }
    }

    /// A pool's last block came back: keep it if it is the class's only pool,
    /// else give it back to its arena.
    unsafe fn pool_emptied(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            if p.shared.remote.is_pending() {
                // It waits in the inbox; `collect_inbox` will see it again.
                return;
            }
            let linked = !p.in_full.get();
            if !self.is_abandoned() {
                let head = self.pools[p.class as usize].get();
                let only = if linked {
                    head == pool && p.next.get().is_null()
                } else {
                    head == self.sentinel()
                };
                if only {
                    if !linked {
                        p.in_full.set(false);
                        self.link_front(pool);
                    }
                    p.merge_free_lists();
                    return;
                }
            }
            self.release_pool(pool);
        }
    }

    /// Gives an empty pool that is not pending in the inbox back to its
    /// arena, taking it off its class list first.
    unsafe fn release_pool(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap; the pool is empty, not pending.
        unsafe {
            let p = &*pool;
            if !p.in_full.get() {
                self.unlink(pool);
            }
            let class = p.class as usize;
            self.counters.pools[class].sub(1);
            self.counters.capacity[class].sub(p.capacity as usize);
            self.arenas.give_back(self, pool);
        }
    }

    /// Takes in every remote free now and gives back every empty pool
    /// (including the ones kept as their class's last) and the spare arena.
    ///
    /// # Safety
    /// The caller holds the heap.
    pub(crate) unsafe fn collect(&self) {
        // SAFETY: the caller holds the heap.
        unsafe {
            self.collect_inbox();
            for class in 0..NUM_CLASSES {
                let mut pool = self.pools[class].get();
                while pool != self.sentinel() {
                    let p = &*pool;
                    let next = p.next.get();
                    let taken = p.absorb(p.shared.remote.take());
                    self.counters.in_use[class].sub(taken as usize);
                    if p.used.get() == 0 && !p.shared.remote.is_pending() {
                        self.release_pool(pool);
                    }
                    pool = if next.is_null() {
                        self.sentinel()
                    } else {
                        next
                    };
                }
            }
            self.arenas.release_spare(self);
        }
    }

    // ----- news from other threads -----------------------------------------

    /// Takes in the pools waiting in the inbox: their remote frees, and their
    /// way back onto a list or into their arena.
    ///
    /// # Safety
    /// The caller holds the heap.
    pub(crate) unsafe fn collect_inbox(&self) {
        if !self.inbox.has_pools() {
            return;
        }
        // SAFETY: the caller holds the heap; the taken pools are its own and
        // out of the inbox, so their links and remote lists are ours to read.
        unsafe {
            let mut pool = self.inbox.take();
            while !pool.is_null() {
                let p = &*pool;
                let next = p.shared.next_pending.get();
                let taken = p.absorb(p.shared.remote.take_pending());
                self.counters.in_use[p.class as usize].sub(taken as usize);
                self.settle(pool);
                pool = next;
            }
        }
    }

    /// Puts a pool the holder has just looked at where it belongs: back in
    /// its arena if empty, back on its class list if it was full and has free
    /// blocks, and armed if it is still full or the heap is abandoned.
    unsafe fn settle(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            loop {
                if p.used.get() == 0 {
                    return self.pool_emptied(pool);
                }
                if p.in_full.get() && p.has_free() {
                    p.in_full.set(false);
                    self.link_front(pool);
                }
                if !p.in_full.get() && !self.is_abandoned() {
                    return;
                }
                if p.shared.remote.arm() != Arm::Blocks {
                    return;
                }
                let taken = p.absorb(p.shared.remote.take());
                self.counters.in_use[p.class as usize].sub(taken as usize);
            }
        }
    }

    // ----- thread exit and adoption ----------------------------------------

    /// Called on the exiting thread: drops everything the heap need not keep,
    /// arms every pool so that remote frees are taken in, and lets go.
    ///
    /// # Safety
    /// The calling thread holds the heap (`Active`) and never touches it
    /// again.
    pub(crate) unsafe fn abandon(&self) {
        // SAFETY: the caller holds the heap.
        unsafe {
            self.collect_inbox();
            self.abandoned.set(true);
            for class in 0..NUM_CLASSES {
                let mut pool = self.pools[class].get();
                while pool != self.sentinel() {
                    let next = (*pool).next.get();
                    self.settle(pool);
                    pool = if next.is_null() {
                        self.sentinel()
                    } else {
                        next
                    };
                }
            }
            self.arenas.release_spare(self);
            self.let_go(Holder::Active);
        }
    }

    /// A new thread took this heap over (see `Registry::attach`).
    ///
    /// # Safety
    /// The calling thread has just adopted the heap.
    pub(crate) unsafe fn adopted(&self) {
        // SAFETY: the caller holds the heap.
        unsafe {
            self.abandoned.set(false);
            self.collect_inbox();
        }
    }

    /// Lets go of the heap, taking in whatever arrives meanwhile.
    ///
    /// # Safety
    /// The caller holds the heap, as `held`.
    pub(crate) unsafe fn let_go(&self, held: Holder) {
        while !self.inbox.let_go(held) {
            // SAFETY: pools wait, so we still hold the heap.
            unsafe { self.collect_inbox() };
        }
    }

    // ----- class lists ------------------------------------------------------

    unsafe fn link_front(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap; `pool` is on no list.
        unsafe {
            let head_cell = &self.pools[(*pool).class as usize];
            let head = head_cell.get();
            (*pool).prev.set(ptr::null_mut());
            if head == self.sentinel() {
                (*pool).next.set(ptr::null_mut());
            } else {
                (*pool).next.set(head);
                (*head).prev.set(pool);
            }
            head_cell.set(pool);
        }
    }

    unsafe fn unlink(&self, pool: *mut Pool) {
        // SAFETY: the caller holds the heap; `pool` is on its class list.
        unsafe {
            let prev = (*pool).prev.get();
            let next = (*pool).next.get();
            if prev.is_null() {
                let head = if next.is_null() {
                    self.sentinel()
                } else {
                    next
                };
                self.pools[(*pool).class as usize].set(head);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }
}
