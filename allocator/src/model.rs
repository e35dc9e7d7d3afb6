//! The allocator's internals opened to the loom models in `loom-tests/`.
//! Compiled only under `cfg(loom)`, where every atomic and cell of the real
//! code is loom's (see `sync.rs`) and pools and arenas are small.
//!
//! Loom runs model threads as coroutines on one OS thread, so there are no
//! thread-locals here: a model makes its own [`Registry`] and each model
//! thread holds a [`Heap`] explicitly, exactly as a real thread holds the
//! heap its thread-local points at.
//!
//! Invariant: a [`Heap`] handle is used only by the model thread that
//! attached it (or adopted it), until it calls [`Heap::abandon`]; frees of
//! blocks from other heaps through it take the real remote path.

use crate::heap;
use crate::pool::{Block, Pool};
use crate::registry;
use crate::remote::Holder;
use crate::size_class::{class_of, is_small};
use crate::stats::{self, Stats};
use loom::sync::Arc;

/// A registry of heaps for one model execution (the real allocator has one
/// static registry).
#[derive(Clone)]
pub struct Registry(Arc<registry::Registry>);

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self(Arc::new(registry::Registry::new()))
    }

    /// A heap for the calling model thread: an abandoned one adopted, or a
    /// new one (what a real thread's first allocation does).
    pub fn attach(&self) -> Heap {
        let heap = self.0.attach().expect("mapping a heap failed");
        Heap {
            registry: self.clone(),
            heap,
        }
    }

    /// Like [`stats()`](crate::stats) for this registry.
    pub fn stats(&self) -> Stats {
        stats::snapshot(&self.0)
    }

    /// How many heaps were ever made.
    pub fn heaps(&self) -> usize {
        self.0.heaps().count()
    }
}

/// A heap held by one model thread.
pub struct Heap {
    registry: Registry,
    heap: *const heap::Heap,
}

// SAFETY: a handle moves to the model thread that uses it; the heap's own
// protocol (the inbox) orders its use across threads.
unsafe impl Send for Heap {}

impl Heap {
    fn heap(&self) -> &heap::Heap {
        // SAFETY: heaps live as long as their registry, which we keep.
        unsafe { &*self.heap }
    }

    /// Allocates `size` bytes (1..=512) from this heap.
    ///
    /// # Safety
    /// The calling model thread holds this heap.
    pub unsafe fn alloc(&self, size: usize) -> *mut u8 {
        assert!(is_small(size, 16));
        // SAFETY: the caller holds the heap.
        unsafe { self.heap().alloc::<false>(class_of(size), size) }
    }

    /// Frees a block of any heap of this registry from the calling thread:
    /// locally if it is this heap's, through the remote path otherwise.
    ///
    /// # Safety
    /// The calling model thread holds this heap; `p` is a live block.
    pub unsafe fn free(&self, p: *mut u8) {
        // SAFETY: the caller holds the heap; `p` is live.
        unsafe { self.heap().free(p) }
    }

    /// Takes in the inbox (what the slow path does first).
    ///
    /// # Safety
    /// The calling model thread holds this heap.
    pub unsafe fn collect_inbox(&self) {
        // SAFETY: the caller holds the heap.
        unsafe { self.heap().collect_inbox() }
    }

    /// [`collect`](crate::collect) for this heap.
    ///
    /// # Safety
    /// The calling model thread holds this heap.
    pub unsafe fn collect(&self) {
        // SAFETY: the caller holds the heap.
        unsafe { self.heap().collect() }
    }

    /// What thread exit does: abandon the heap.
    ///
    /// # Safety
    /// The calling model thread holds this heap and drops the handle.
    pub unsafe fn abandon(self) {
        // SAFETY: the caller holds the heap and gives it up.
        unsafe { self.heap().abandon() }
    }

    /// Whether the heap is held by a thread (`Active`), by nobody
    /// (`Abandoned`), or for a moment by a freeing thread (`Claimed`).
    pub fn holder(&self) -> &'static str {
        match self.heap().inbox.holder() {
            Holder::Active => "active",
            Holder::Abandoned => "abandoned",
            Holder::Claimed => "claimed",
        }
    }

    /// The registry this heap belongs to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Frees `p` from a thread that holds no heap of this registry: the remote
/// path exactly as a real thread whose heap is not the block's takes it.
///
/// # Safety
/// `p` is a live block of a heap of a live registry, owned by the caller.
pub unsafe fn free_remote(p: *mut u8) {
    // SAFETY: as for `Heap::free` from a foreign heap.
    unsafe { crate::remote::free(Pool::of(p), p.cast()) }
}

/// A small arena map (two leaves of 64 arenas) for modelling the one the
/// allocator keeps (see `arena_map.rs`). Addresses need not be mapped: the
/// map never reads them.
pub struct ArenaMap(crate::arena_map::ArenaMap<2, 1>);

impl Default for ArenaMap {
    fn default() -> Self {
        Self::new()
    }
}

impl ArenaMap {
    /// An empty map.
    pub fn new() -> Self {
        Self(crate::arena_map::ArenaMap::new())
    }

    /// The address of arena number `n` (below 128) in this map's reach.
    pub fn arena(n: usize) -> usize {
        n * crate::size_class::ARENA_SIZE
    }

    /// Records the arena at `addr`; false if the map cannot.
    pub fn insert(&self, addr: usize) -> bool {
        self.0.insert(core::ptr::without_provenance_mut(addr))
    }

    /// Forgets the arena at `addr`.
    pub fn remove(&self, addr: usize) {
        self.0.remove(core::ptr::without_provenance_mut(addr))
    }

    /// Whether `addr` lies in a recorded arena.
    pub fn contains(&self, addr: usize) -> bool {
        self.0.contains(core::ptr::without_provenance(addr))
    }
}

/// The lock-free once-only publication used for the thread-exit key (see
/// `registry::publish_once`).
pub fn publish_once(
    slot: &loom::sync::atomic::AtomicUsize,
    make: impl FnOnce() -> Option<usize>,
    unmake: impl FnOnce(usize),
) -> Option<usize> {
    registry::publish_once(slot, make, unmake)
}

/// A word of user data inside a live block, as a loom cell: a model writes
/// it before freeing the block and reads it after allocating it again, and
/// loom checks that the write is visible.
///
/// # Safety
/// `p` is a block of a loom build's pool that the caller may use.
pub unsafe fn payload<'a>(p: *mut u8) -> &'a loom::cell::UnsafeCell<usize> {
    // SAFETY: under loom every carved block is a constructed `Block`.
    unsafe { &(*p.cast::<Block>()).payload }
}

/// Whether two blocks share a pool.
pub fn same_pool(a: *mut u8, b: *mut u8) -> bool {
    Pool::of(a) == Pool::of(b)
}
