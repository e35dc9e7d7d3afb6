//! The registry of heaps: every heap ever made, on a push-only list, so that
//! a new thread can adopt an abandoned one and `stats()` can read them all.
//!
//! Heaps are mapped on their own and never unmapped: a heap's address stays
//! valid forever, which is what lets a remote freer touch the heap of a block
//! whose thread died, and lets the list be walked without any reclamation
//! scheme. A thread needs a heap once in its life, so the walk in
//! [`Registry::attach`] is off every hot path.
//!
//! Invariants:
//! - `heaps` only ever gains entries, at the front, by CAS; a heap's
//!   `next_in_registry` is written before the CAS that publishes it and never
//!   again.
//! - A heap is held by at most one thread at a time; [`Registry::attach`]
//!   takes it over only through `Inbox::try_adopt`.

use crate::heap::Heap;
use crate::os;
use crate::stats::GlobalCounters;
use crate::sync::{AtomicUsize, Ordering, const_unless_loom};
use core::ptr;

/// All heaps, and the process-wide counters.
pub(crate) struct Registry {
    /// The most recently made heap; older ones follow `next_in_registry`.
    heaps: AtomicUsize,
    pub(crate) counters: GlobalCounters,
}

/// Bytes mapped for one heap.
const HEAP_MAPPING: usize = size_of::<Heap>().next_multiple_of(4096);

impl Registry {
    const_unless_loom! {
        /// An empty registry.
        pub(crate) fn new() -> Self {
            Self {
                heaps: AtomicUsize::new(0),
                counters: GlobalCounters::new(),
            }
        }
    }

    /// A heap for a thread that has none: an abandoned one if there is one
    /// (its blocks and arenas come with it), else a new one. The caller holds
    /// the result. None when memory runs out.
    pub(crate) fn attach(&self) -> Option<&Heap> {
        for heap in self.heaps() {
            if heap.inbox.try_adopt() {
                // SAFETY: we adopted it, so we hold it.
                unsafe { heap.adopted() };
                return Some(heap);
            }
        }
        self.create()
    }

    /// Maps, initialises and publishes a new heap held by the caller.
    fn create(&self) -> Option<&Heap> {
        let heap = os::map(HEAP_MAPPING).cast::<Heap>();
        if heap.is_null() {
            return None;
        }
        // SAFETY: the mapping is new and ours; the heap is published only by
        // the successful CAS below, after its link is written.
        unsafe {
            Heap::init(heap, self);
            self.counters.heap_mapped(HEAP_MAPPING);
            let mut head = self.heaps.load(Ordering::Relaxed);
            loop {
                (*heap).next_in_registry = ptr::with_exposed_provenance(head);
                match self.heaps.compare_exchange_weak(
                    head,
                    heap.expose_provenance(),
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(&*heap),
                    Err(now) => head = now,
                }
            }
        }
    }

    /// Arenas mapped now and arenas ever unmapped (for unit tests).
    #[cfg(test)]
    pub(crate) fn counters_snapshot(&self) -> (usize, usize) {
        let s = crate::stats::snapshot(self);
        (s.arenas_current, s.arenas_reclaimed_total)
    }

    /// Every heap made so far, newest first.
    pub(crate) fn heaps(&self) -> impl Iterator<Item = &Heap> {
        let mut next: *const Heap =
            ptr::with_exposed_provenance(self.heaps.load(Ordering::Acquire));
        core::iter::from_fn(move || {
            // SAFETY: published heaps are initialised and never unmapped;
            // `next_in_registry` was written before publication.
            let heap = unsafe { next.as_ref()? };
            next = heap.next_in_registry;
            Some(heap)
        })
    }
}

#[cfg(loom)]
impl Drop for Registry {
    /// Loom models make a registry per execution: give its heaps' memory back.
    fn drop(&mut self) {
        let heaps: *const Heap = ptr::with_exposed_provenance(self.heaps.load(Ordering::Acquire));
        let mut heap = heaps.cast_mut();
        while !heap.is_null() {
            // SAFETY: the model's threads are done, so nobody holds or reads
            // these heaps any more.
            unsafe {
                let next = (*heap).next_in_registry.cast_mut();
                heap.drop_in_place();
                os::unmap(heap.cast(), HEAP_MAPPING);
                heap = next;
            }
        }
    }
}

/// Publishes into `slot` (0 = empty) the first non-zero value that racing
/// callers make with `make`; every loser destroys its own with `unmake`.
/// Lock-free: nobody waits for anybody. Returns the published value, or None
/// when `make` fails and nothing is published.
pub(crate) fn publish_once(
    slot: &AtomicUsize,
    make: impl FnOnce() -> Option<usize>,
    unmake: impl FnOnce(usize),
) -> Option<usize> {
    let current = slot.load(Ordering::Acquire);
    if current != 0 {
        return Some(current);
    }
    let mine = make()?;
    debug_assert_ne!(mine, 0);
    match slot.compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(mine),
        Err(theirs) => {
            unmake(mine);
            Some(theirs)
        }
    }
}
