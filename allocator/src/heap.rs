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
//! - An empty pool stays on its class list only while it is the class's
//!   current pool (the head), or while it waits in the inbox. So one block
//!   allocated and freed again and again never leaves the fast paths, and
//!   an empty pool goes back to its arena as soon as another pool takes the
//!   head, or when a check every `IDLE_CHECK_PERIOD` slow paths finds it
//!   empty twice with no allocation slow path for its class in between.
//! - Nor does an empty head keep an arena mapped that would otherwise be
//!   unmapped: when a heap that has a spare arena is left with nothing but
//!   empty heads in some arena, they go back and the arena is unmapped.
//! - `counters.in_use[c]` equals the sum of `used` over the class's pools.

use crate::arena::{Arena, ArenaSet};
use crate::pool::{Block, Pool};
use crate::registry::Registry;
use crate::remote::{Arm, Holder, Inbox};
use crate::sanitizer;
use crate::size_class::{NUM_CLASSES, POOLS_PER_ARENA};
use crate::stats::HeapCounters;
use crate::sync::{UnsafeCell, array_of, const_unless_loom};
use crate::{debug, remote};
use core::ptr;

/// Whether every pool in use in `arena` is a class head, so that empty
/// heads may be all that keeps it mapped.
///
/// # Safety
/// The caller holds the heap that owns `arena`.
#[inline(always)]
unsafe fn only_heads_in_use(arena: *mut Arena) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { Arena::free_pools(arena) + Arena::heads(arena) >= POOLS_PER_ARENA }
}

/// [`only_heads_in_use`] for `arena` as it will be once one more pool (not
/// a head) is given back.
///
/// # Safety
/// As for [`only_heads_in_use`].
unsafe fn only_heads_in_use_after_release(arena: *mut Arena) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { Arena::free_pools(arena) + 1 + Arena::heads(arena) >= POOLS_PER_ARENA }
}

/// Allocation slow paths between two checks for idle empty pools.
const IDLE_CHECK_PERIOD: u32 = 64;

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
    /// Bit `c`: class `c`'s head pool was empty at the last idle check.
    idle: UnsafeCell<u32>,
    /// Bit `c`: class `c` took an allocation slow path since that check.
    active: UnsafeCell<u32>,
    /// Allocation slow paths since that check.
    slow_calls: UnsafeCell<u32>,
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
    const_unless_loom! {
        /// A heap whose class lists still have to be pointed at its own
        /// sentinel (which needs the heap's final address).
        fn unlinked(registry: *const Registry, placeholder: bool) -> Heap {
            Heap {
                pools: array_of![UnsafeCell::new(ptr::null_mut()); NUM_CLASSES],
                counters: HeapCounters::new(),
                arenas: ArenaSet::new(),
                abandoned: UnsafeCell::new(false),
                idle: UnsafeCell::new(0),
                active: UnsafeCell::new(0),
                slow_calls: UnsafeCell::new(0),
                placeholder,
                registry,
                next_in_registry: ptr::null(),
                sentinel: Pool::sentinel(),
                inbox: Inbox::new(),
            }
        }
    }

    /// The placeholder heap new threads start on; `this` is its own address.
    #[cfg(not(loom))]
    pub(crate) const fn placeholder(this: *const Heap, registry: *const Registry) -> Heap {
        // SAFETY: only the address of the field is taken.
        let sentinel = unsafe { &raw const (*this).sentinel } as *mut Pool;
        let mut heap = Heap::unlinked(registry, true);
        let mut i = 0;
        while i < NUM_CLASSES {
            heap.pools[i] = UnsafeCell::new(sentinel);
            i += 1;
        }
        heap
    }

    /// Writes a new heap, held by the calling thread, at `this`.
    ///
    /// # Safety
    /// `this` is writable memory for a `Heap` that nothing else refers to.
    pub(crate) unsafe fn init(this: *mut Heap, registry: *const Registry) {
        // SAFETY: only the address of the field is taken.
        let sentinel = unsafe { &raw mut (*this).sentinel };
        // SAFETY: the caller gives us `this`; the heap is not shared yet.
        unsafe {
            this.write(Heap::unlinked(registry, false));
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
            sanitizer::block_open(p, block_size);
            debug::on_alloc(p, block_size, !ZERO);
            if ZERO {
                if zeroed {
                    // Only the link word was ever written.
                    p.cast::<usize>().write(0);
                } else {
                    p.write_bytes(0, size);
                }
            }
            sanitizer::block_allocated(p, size, block_size, ZERO);
            p
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn alloc_slow<const ZERO: bool>(&self, class: usize, size: usize) -> *mut u8 {
        #[cfg(not(loom))]
        if self.placeholder {
            // SAFETY: the thread holds no heap (it is on the placeholder);
            // it holds `heap` while the closure runs.
            return unsafe {
                crate::thread::alloc_attached(|heap| heap.alloc::<ZERO>(class, size))
            };
        }
        // SAFETY: the caller holds the heap.
        unsafe {
            self.collect_inbox();
            self.note_slow_call(class);
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
                    p.detach_full();
                }
            }
            let Some(taken) = self.arenas.take_pool(self) else {
                return ptr::null_mut();
            };
            Pool::init(taken.pool, self, class, taken.fresh);
            let p = &*taken.pool;
            self.counters.pools[class].add(1);
            self.counters.capacity[class].add(p.capacity as usize);
            self.counters.pool_bytes.add(Pool::bytes(taken.pool));
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
            sanitizer::free_begin(p, size);
            debug::on_free_local(pool, block);
            sanitizer::block_freed(p, size);
            let used = (*pool).push_local(block);
            let class = (*pool).class as usize;
            // `class < NUM_CLASSES` for every initialised pool; unchecked, so
            // that the fast path has no panic branch.
            self.counters.in_use.get_unchecked(class).sub(1);
            // One comparison covers both rare cases: the pool emptied (the
            // mark is 0), or it is full and enough came back to relink it.
            if used <= (*pool).slow_mark.get() {
                // An empty pool that is its class's current one stays (the
                // next allocations come from it) unless it may be what keeps
                // a mostly free arena mapped.
                if (*pool).in_full.get()
                    || self.pools.get_unchecked(class).get() != pool
                    || self.may_pin(pool)
                {
                    self.free_slow(pool);
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn free_slow(&self, pool: *mut Pool) {
        #[cfg(all(test, not(loom)))]
        tests::FREE_SLOW.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            // One of the two, never both: a full pool is relinked with seven
            // eighths of its blocks still out, so one free cannot empty it.
            let arena = if p.in_full.get() {
                // Enough came back to a full pool: it goes back at the front,
                // as obmalloc puts back a full pool on its first free (see
                // `Pool::detach_full` for why not on the first).
                p.mark_listed();
                self.link_front(pool)
            } else {
                self.pool_emptied(pool)
            };
            // Only now, holding no pool: `unpin` may give `pool` back.
            self.unpin(arena);
        }
    }

    /// A pool's last block came back: it stays if it is its class's
    /// current pool (or can become it), else it goes back to its arena.
    /// Returns what [`Heap::release_pool`] returns, or null.
    unsafe fn pool_emptied(&self, pool: *mut Pool) -> *mut Arena {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            if !self.is_abandoned() {
                let head = self.pools[p.class as usize].get();
                if !p.in_full.get() && head == pool {
                    // It stays, but it may be what keeps its arena mapped.
                    return if self.may_pin(pool) {
                        Arena::of(pool)
                    } else {
                        ptr::null_mut()
                    };
                }
                if p.in_full.get() && head == self.sentinel() {
                    p.mark_listed();
                    self.link_front(pool);
                    return ptr::null_mut();
                }
            }
            if p.shared.remote.is_pending() {
                // It waits in the inbox; `collect_inbox` will see it again.
                return ptr::null_mut();
            }
            self.release_pool(pool)
        }
    }

    /// Counts an allocation slow path of `class`; every `IDLE_CHECK_PERIOD`
    /// of them, gives back the empty head pools of classes that have been
    /// idle since the last check.
    #[inline]
    unsafe fn note_slow_call(&self, class: usize) {
        // SAFETY: the caller holds the heap.
        unsafe {
            self.active.set(self.active.get() | 1 << class);
            let calls = self.slow_calls.get() + 1;
            if calls < IDLE_CHECK_PERIOD {
                self.slow_calls.set(calls);
                return;
            }
            self.slow_calls.set(0);
            let was_idle = self.idle.get() & !self.active.get();
            let mut idle = 0;
            for class in 0..NUM_CLASSES {
                let head = self.pools[class].get();
                if head == self.sentinel() || (*head).used.get() != 0 {
                    continue;
                }
                if was_idle & 1 << class != 0 && !(*head).shared.remote.is_pending() {
                    self.release_pool(head);
                } else {
                    idle |= 1 << class;
                }
            }
            self.idle.set(idle);
            self.active.set(0);
        }
    }

    /// Gives an empty pool that is not pending in the inbox back to its
    /// arena, taking it off its class list first. Returns the arena if it is
    /// still mapped and so little used that empty heads might be all that
    /// keeps it (see [`Heap::unpin`]), else null. Never releases any other
    /// pool, so callers may hold pointers to pools while calling it.
    unsafe fn release_pool(&self, pool: *mut Pool) -> *mut Arena {
        // SAFETY: the caller holds the heap; the pool is empty, not pending.
        unsafe {
            let p = &*pool;
            if !p.in_full.get() {
                self.unlink(pool);
            }
            let class = p.class as usize;
            self.counters.pools[class].sub(1);
            self.counters.capacity[class].sub(p.capacity as usize);
            self.counters.pool_bytes.sub(Pool::bytes(pool));
            let arena = Arena::of(pool);
            let free_after = Arena::free_pools(arena) + 1;
            // Asked before `give_back`, which may unmap the arena.
            let pinnable = only_heads_in_use_after_release(arena);
            self.arenas.give_back(self, pool);
            // A wholly free arena is gone now: never hand it out.
            if free_after < POOLS_PER_ARENA && pinnable {
                arena
            } else {
                ptr::null_mut()
            }
        }
    }

    /// Whether an empty head pool might be (with other empty heads) all that
    /// keeps its arena mapped while the heap has a spare: only if every pool
    /// in use there is a class head. Cheap to ask, so that `unpin`'s scan
    /// runs only then.
    #[inline(always)]
    unsafe fn may_pin(&self, pool: *mut Pool) -> bool {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe { self.arenas.has_spare() && only_heads_in_use(Arena::of(pool)) }
    }

    /// Empty head pools must not keep an arena mapped when the heap already
    /// has a spare: if they are all that is in use in `arena` (null: none),
    /// gives them back, and with the last the arena is unmapped. Call only
    /// while holding no pointer to a pool of the heap.
    unsafe fn unpin(&self, arena: *mut Arena) {
        // SAFETY: the caller holds the heap; a non-null `arena` came from
        // `release_pool` with nothing released since, so it is mapped.
        unsafe {
            if !arena.is_null() && self.arenas.has_spare() {
                self.release_heads_pinning(arena, Arena::free_pools(arena));
            }
        }
    }

    /// If the only pools in use in `arena` (which has `free` free pools)
    /// are empty heads, gives them back, and with the last the arena goes.
    #[cold]
    unsafe fn release_heads_pinning(&self, arena: *mut Arena, free: usize) {
        // SAFETY: the caller holds the heap; `arena` is one of its arenas and
        // still mapped (it has pools in use).
        unsafe {
            let mut heads = [ptr::null_mut::<Pool>(); NUM_CLASSES];
            let mut n = 0;
            for class in 0..NUM_CLASSES {
                let head = self.pools[class].get();
                if head != self.sentinel()
                    && Arena::of(head) == arena
                    && (*head).used.get() == 0
                    && !(*head).shared.remote.is_pending()
                {
                    heads[n] = head;
                    n += 1;
                }
            }
            if free + n == POOLS_PER_ARENA {
                for &head in &heads[..n] {
                    self.release_pool(head);
                }
            }
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
            self.for_each_listed(|pool| {
                let p = &*pool;
                let taken = p.absorb(p.shared.remote.take());
                self.counters.in_use[p.class as usize].sub(taken as usize);
                if p.used.get() == 0 && !p.shared.remote.is_pending() {
                    self.release_pool(pool);
                }
            });
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
                let arena = self.settle(pool);
                // `next` is pending, which `unpin` never gives back.
                self.unpin(arena);
                pool = next;
            }
        }
    }

    /// Puts a pool the holder has just looked at where it belongs: back in
    /// its arena if empty, back on its class list if it was full and has free
    /// blocks, and armed if it is still full or the heap is abandoned.
    /// Returns what [`Heap::release_pool`] returns, or null.
    unsafe fn settle(&self, pool: *mut Pool) -> *mut Arena {
        // SAFETY: the caller holds the heap that owns `pool`.
        unsafe {
            let p = &*pool;
            loop {
                if p.used.get() == 0 {
                    return self.pool_emptied(pool);
                }
                if p.in_full.get() && p.has_free() {
                    // Remote frees relink a full pool on their first notice:
                    // re-arming it for every later one would cost each of
                    // them a delivery.
                    p.mark_listed();
                    // A head it displaces goes back; whether that unpins an
                    // arena is left to the next check (best effort).
                    self.link_front(pool);
                }
                if !p.in_full.get() && !self.is_abandoned() {
                    return ptr::null_mut();
                }
                if p.shared.remote.arm() != Arm::Blocks {
                    return ptr::null_mut();
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
            self.for_each_listed(|pool| {
                self.settle(pool);
            });
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

    /// Calls `f` on every pool on a class list. `f` may take the pool it is
    /// given off its list (give it back, or find it full), but must not
    /// touch any other listed pool.
    ///
    /// # Safety
    /// The caller holds the heap.
    unsafe fn for_each_listed(&self, mut f: impl FnMut(*mut Pool)) {
        // SAFETY: the caller holds the heap; each pool's successor is read
        // before `f` may unlink the pool.
        unsafe {
            for class in 0..NUM_CLASSES {
                let mut pool = self.pools[class].get();
                while pool != self.sentinel() {
                    let next = (*pool).next.get();
                    f(pool);
                    pool = if next.is_null() {
                        self.sentinel()
                    } else {
                        next
                    };
                }
            }
        }
    }

    /// Puts `pool` at the front of its class list. An empty pool it
    /// displaces goes back to its arena.
    /// Returns what [`Heap::release_pool`] returns for the displaced pool,
    /// or null.
    unsafe fn link_front(&self, pool: *mut Pool) -> *mut Arena {
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
            self.set_head((*pool).class as usize, pool);
            if head != self.sentinel()
                && (*head).used.get() == 0
                && !(*head).shared.remote.is_pending()
            {
                return self.release_pool(head);
            }
            ptr::null_mut()
        }
    }

    /// Makes `pool` (or the sentinel) the head of `class`'s list, keeping
    /// the arenas' head counts.
    unsafe fn set_head(&self, class: usize, pool: *mut Pool) {
        // SAFETY: the caller holds the heap; heads are its live pools.
        unsafe {
            let cell = &self.pools[class];
            let old = cell.get();
            if old != self.sentinel() {
                Arena::count_head(Arena::of(old), false);
            }
            if pool != self.sentinel() {
                Arena::count_head(Arena::of(pool), true);
            }
            cell.set(pool);
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
                self.set_head((*pool).class as usize, head);
            } else {
                (*prev).next.set(next);
            }
            if !next.is_null() {
                (*next).prev.set(prev);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! A heap of a private registry, driven directly: carving, pool and
    //! arena geometry, the class lists, and memory going back.

    use super::*;
    use crate::arena::FIRST_BLOCK_IN_ARENA;
    use std::cell::Cell;

    thread_local! {
        /// `Heap::free_slow` calls on this thread (tests run one per
        /// thread).
        pub(super) static FREE_SLOW: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn free_slow_calls() -> usize {
        FREE_SLOW.with(Cell::get)
    }

    use crate::size_class::{ARENA_SIZE, CARVE_SPAN, POOL_SIZE, block_size, class_of};

    fn alloc(heap: &Heap, size: usize) -> *mut u8 {
        // SAFETY: the test thread holds the heap.
        let p = unsafe { heap.alloc::<false>(class_of(size), size) };
        assert!(!p.is_null());
        p
    }

    fn free(heap: &Heap, p: *mut u8) {
        // SAFETY: the test thread holds the heap; `p` is one of its blocks.
        unsafe { heap.free(p) }
    }

    /// 512-byte blocks in one pool.
    const BLOCKS_512_PER_POOL: usize = POOL_SIZE / 512;
    /// 512-byte blocks in one arena (its first pool also holds the arena
    /// header and pool table).
    const BLOCKS_512_PER_ARENA: usize =
        (POOLS_PER_ARENA - 1) * BLOCKS_512_PER_POOL + (POOL_SIZE - FIRST_BLOCK_IN_ARENA) / 512;

    #[test]
    fn arenas_are_aligned_and_headers_found_by_masking() {
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        let p = alloc(heap, 100);
        let arena = Arena::of(p);
        assert_eq!(
            arena.addr() % ARENA_SIZE,
            0,
            "arena not aligned to its size"
        );
        assert_eq!(p.addr() % 16, 0);
        let pool = Pool::of(p);
        // The header is the table entry of the pool the address falls in.
        assert_eq!(Pool::index(pool), (p.addr() - arena.addr()) / POOL_SIZE);
        // SAFETY: the block is live, so its pool header is initialised.
        unsafe {
            assert_eq!((*pool).heap, heap as *const Heap);
            assert_eq!((*pool).class as usize, class_of(100));
            assert_eq!((*pool).block_size as usize, block_size(class_of(100)));
        }
        assert_eq!(registry.counters_snapshot().0, 1, "one arena mapped");
        free(heap, p);
    }

    #[test]
    fn carving_is_lazy_contiguous_and_exact() {
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        for size in [16usize, 48, 64, 208, 512] {
            let first = alloc(heap, size);
            let pool = Pool::of(first);
            // SAFETY: the pool is live and held by this thread.
            let (capacity, start) = unsafe {
                let index = Pool::index(pool);
                let base = Arena::of(first).cast::<u8>().addr() + index * POOL_SIZE;
                let start = if index == 0 { FIRST_BLOCK_IN_ARENA } else { 0 };
                assert_eq!(
                    first.addr(),
                    base + start,
                    "the first block starts the pool's data"
                );
                ((*pool).capacity as usize, start)
            };
            assert_eq!(capacity, (POOL_SIZE - start) / size.next_multiple_of(16));
            // Only the blocks that start in the first 4 KiB were carved.
            // SAFETY: as above.
            let carved = 1 + unsafe { list_len((*pool).free.get()) };
            assert_eq!(
                carved,
                (CARVE_SPAN - start % CARVE_SPAN).div_ceil(size.next_multiple_of(16))
            );
            // Allocating the pool's capacity gives consecutive blocks, all in
            // this pool; one more starts another pool.
            let mut blocks = vec![first];
            for i in 1..capacity {
                let p = alloc(heap, size);
                assert_eq!(
                    p.addr(),
                    first.addr() + i * size.next_multiple_of(16),
                    "size {size} block {i}"
                );
                blocks.push(p);
            }
            let next = alloc(heap, size);
            assert_ne!(
                Pool::of(next),
                pool,
                "a full pool handed out one block too many"
            );
            blocks.push(next);
            for p in blocks {
                free(heap, p);
            }
        }
    }

    #[test]
    fn empty_pools_and_arenas_go_back() {
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        // Three arenas' worth of 512-byte blocks.
        let per_arena = BLOCKS_512_PER_ARENA;
        let blocks: Vec<*mut u8> = (0..3 * per_arena).map(|_| alloc(heap, 512)).collect();
        assert_eq!(registry.counters_snapshot().0, 3);
        for &p in &blocks {
            free(heap, p);
        }
        // One arena stays as the spare (holding the class's current pool);
        // the others are unmapped.
        let (current, reclaimed) = registry.counters_snapshot();
        assert_eq!((current, reclaimed), (1, 2));
        // SAFETY: the test thread holds the heap.
        unsafe { heap.collect() };
        assert_eq!(
            registry.counters_snapshot(),
            (0, 3),
            "collect gives back the spare too"
        );
        assert_eq!(heap.counters.in_use[class_of(512)].get(), 0);
        assert_eq!(heap.counters.pools[class_of(512)].get(), 0);
    }

    #[test]
    fn one_block_again_and_again_stays_on_the_fast_path() {
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        let first = alloc(heap, 32);
        free(heap, first);
        let pool = Pool::of(first);
        for _ in 0..10_000 {
            let p = alloc(heap, 32);
            assert_eq!(Pool::of(p), pool, "the class's current pool must stay");
            free(heap, p);
        }
        assert_eq!(registry.counters_snapshot(), (1, 0), "no arena churn");
    }

    #[test]
    fn one_block_stays_fast_beside_a_spare_and_a_half_free_arena() {
        // The empty-heads check (`may_pin`) must not send every free of a
        // class's current pool to the slow path just because the heap has
        // a spare and the pool's arena has many free pools: only pools in
        // use that are all class heads can pin an arena.
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        let per_arena = BLOCKS_512_PER_ARENA;
        let blocks: Vec<*mut u8> = (0..3 * per_arena).map(|_| alloc(heap, 512)).collect();
        let arenas: Vec<*mut Arena> = [0, per_arena, 2 * per_arena]
            .iter()
            .map(|&i| Arena::of(blocks[i]))
            .collect();
        // Arena 2 goes wholly free (the spare: emptied first, so that the
        // class's current pool ends up in arena 1); arena 1 keeps 30 pools
        // in use, one block each; arena 0 stays full.
        for &p in blocks.iter().filter(|&&p| Arena::of(p) == arenas[2]) {
            free(heap, p);
        }
        let mut kept: Vec<*mut u8> = blocks
            .iter()
            .copied()
            .filter(|&p| Arena::of(p) == arenas[0])
            .collect();
        let mut pools_kept = Vec::new();
        for &p in blocks.iter().filter(|&&p| Arena::of(p) == arenas[1]) {
            let pool = Pool::of(p);
            if pools_kept.len() < 30 && !pools_kept.contains(&pool) {
                pools_kept.push(pool);
                kept.push(p);
            } else {
                free(heap, p);
            }
        }
        // SAFETY: the test thread holds the heap.
        unsafe {
            assert!(heap.arenas.has_spare());
            assert!(Arena::free_pools(arenas[1]) + NUM_CLASSES >= POOLS_PER_ARENA);
        }
        let first = alloc(heap, 32);
        assert_eq!(Arena::of(first), arenas[1], "the busiest arena with room");
        free(heap, first);
        let before = tests::free_slow_calls();
        for _ in 0..10_000 {
            let p = alloc(heap, 32);
            free(heap, p);
        }
        assert_eq!(
            tests::free_slow_calls() - before,
            0,
            "every free stayed fast"
        );
        for p in kept {
            free(heap, p);
        }
    }

    #[test]
    fn new_pools_come_from_the_busiest_arena() {
        let registry = Registry::new();
        let heap = registry.attach().unwrap();
        // Arena A full of 512-byte pools, then three pools in arena B.
        let per_pool = BLOCKS_512_PER_POOL;
        let in_a = BLOCKS_512_PER_ARENA;
        let a_blocks: Vec<*mut u8> = (0..in_a).map(|_| alloc(heap, 512)).collect();
        let b_blocks: Vec<*mut u8> = (0..3 * per_pool).map(|_| alloc(heap, 512)).collect();
        let (a, b) = (Arena::of(a_blocks[0]), Arena::of(b_blocks[0]));
        assert_ne!(a, b);
        assert!(a_blocks.iter().all(|&p| Arena::of(p) == a));
        // Empty two whole pools of A, so that A has a free pool and is still
        // far busier than B.
        let emptied = [
            Pool::of(a_blocks[per_pool]),
            Pool::of(a_blocks[3 * per_pool]),
        ];
        assert_ne!(emptied[0], emptied[1]);
        let (gone, kept): (Vec<*mut u8>, Vec<*mut u8>) = a_blocks
            .iter()
            .partition(|&&p| emptied.contains(&Pool::of(p)));
        for &p in &gone {
            free(heap, p);
        }
        // SAFETY: the test thread holds the heap.
        let (free_a, free_b) = unsafe { (Arena::free_pools(a), Arena::free_pools(b)) };
        // (The second pool emptied was relinked at the front first, so it
        // stays as its class's current pool: one pool of A goes back.)
        assert_eq!(free_a, 1);
        assert!(free_b > 50, "B has {free_b} free pools");
        // A new pool, of another class, comes from the busier arena, A.
        let p = alloc(heap, 16);
        assert_eq!(
            Arena::of(p),
            a,
            "a new pool must come from the arena with the fewest free pools"
        );
        free(heap, p);
        for &q in kept.iter().chain(&b_blocks) {
            free(heap, q);
        }
        // SAFETY: the test thread holds the heap.
        unsafe { heap.collect() };
        assert_eq!(
            registry.counters_snapshot().0,
            0,
            "collect gives every arena back"
        );
    }

    /// Counts a free list.
    unsafe fn list_len(mut b: *mut Block) -> usize {
        let mut n = 0;
        while !b.is_null() {
            n += 1;
            // SAFETY: the caller holds the list.
            b = unsafe { Block::next(b) };
        }
        n
    }
}
