//! Which arena-aligned ranges of the address space are live pymalloc arenas:
//! a two-level bitmap over the 47-bit user address space, as CPython 3.10's
//! radix tree answers "is this one of ours?" without reading the memory
//! itself.
//!
//! It backs [`owns`](crate::owns) and the debug-build check that a pointer
//! handed to `dealloc` came from pymalloc. It changes only when an arena is
//! mapped or unmapped. The allocator has one, [`ARENA_MAP`]; loom models
//! build small ones to check the protocol.
//!
//! Invariants: a leaf, once installed by CAS, is never removed or moved
//! while its map lives (the loser of an install race unmaps its own, never
//! published, leaf); a bit is set between an arena's mapping and its
//! unmapping, and only then.

use crate::os;
use crate::size_class::ARENA_SIZE;
use crate::sync::{AtomicU64, AtomicUsize, Ordering, array_of, const_unless_loom};
use core::ptr;

const ADDRESS_BITS: u32 = 47;

/// A bitmap of arenas: `ROOT` leaves of `WORDS` 64-bit words each.
pub(crate) struct ArenaMap<const ROOT: usize, const WORDS: usize> {
    /// Leaf addresses (0: none yet).
    root: [AtomicUsize; ROOT],
}

type Leaf<const WORDS: usize> = [AtomicU64; WORDS];

/// The allocator's map: 4096 leaves of one 4 KiB page (32768 arenas, 32 GiB
/// of address space) each.
#[cfg(not(loom))]
pub(crate) static ARENA_MAP: ArenaMap<4096, 512> = ArenaMap::new();

#[cfg(not(loom))]
const _: () = assert!(4096 * 512 * 64 * ARENA_SIZE == 1 << ADDRESS_BITS);

impl<const ROOT: usize, const WORDS: usize> ArenaMap<ROOT, WORDS> {
    const LEAF_BITS: usize = WORDS * 64;

    const_unless_loom! {
        /// An empty map.
        pub(crate) fn new() -> Self {
            Self {
                root: array_of![AtomicUsize::new(0); ROOT],
            }
        }
    }

    /// Root slot, word and bit of the arena holding `addr`; None beyond
    /// the map's reach.
    fn locate(addr: usize) -> Option<(usize, usize, u64)> {
        let arena = addr / ARENA_SIZE;
        let root = arena / Self::LEAF_BITS;
        if root >= ROOT || addr >> ADDRESS_BITS != 0 {
            return None;
        }
        let bit = arena % Self::LEAF_BITS;
        Some((root, bit / 64, 1 << (bit % 64)))
    }

    fn leaf(&self, root: usize) -> *const Leaf<WORDS> {
        ptr::with_exposed_provenance(self.root[root].load(Ordering::Acquire))
    }

    /// Records a new arena. False when the address is out of range or a leaf
    /// cannot be mapped; the caller then gives the arena up.
    pub(crate) fn insert(&self, base: *mut u8) -> bool {
        let Some((root, word, bit)) = Self::locate(base.addr()) else {
            return false;
        };
        let mut leaf = self.leaf(root);
        if leaf.is_null() {
            let fresh = os::map(size_of::<Leaf<WORDS>>()).cast::<Leaf<WORDS>>();
            if fresh.is_null() {
                return false;
            }
            #[cfg(loom)]
            // SAFETY: the new mapping is ours; loom's atomics must be built.
            unsafe {
                fresh.write(core::array::from_fn(|_| AtomicU64::new(0)))
            };
            // AcqRel: a zeroed (or built) leaf is published whole; a loser
            // acquires the winner's.
            match self.root[root].compare_exchange(
                0,
                fresh.expose_provenance(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => leaf = fresh,
                Err(theirs) => {
                    // SAFETY: our leaf lost the race and was never published.
                    unsafe { os::unmap(fresh.cast(), size_of::<Leaf<WORDS>>()) };
                    leaf = ptr::with_exposed_provenance(theirs);
                }
            }
        }
        // SAFETY: installed leaves stay for the map's life.
        unsafe { (*leaf)[word].fetch_or(bit, Ordering::Release) };
        true
    }

    /// Forgets an arena about to be unmapped.
    pub(crate) fn remove(&self, base: *mut u8) {
        if let Some((root, word, bit)) = Self::locate(base.addr()) {
            let leaf = self.leaf(root);
            if !leaf.is_null() {
                // SAFETY: installed leaves stay for the map's life.
                unsafe { (*leaf)[word].fetch_and(!bit, Ordering::Release) };
            }
        }
    }

    /// Whether `p` lies inside a recorded arena.
    pub(crate) fn contains(&self, p: *const u8) -> bool {
        let Some((root, word, bit)) = Self::locate(p.addr()) else {
            return false;
        };
        let leaf = self.leaf(root);
        // SAFETY: installed leaves stay for the map's life.
        !leaf.is_null() && unsafe { (*leaf)[word].load(Ordering::Acquire) } & bit != 0
    }
}

#[cfg(loom)]
impl<const ROOT: usize, const WORDS: usize> Drop for ArenaMap<ROOT, WORDS> {
    /// A model's map gives its leaves back (the allocator's is static).
    fn drop(&mut self) {
        for root in 0..ROOT {
            let leaf = self.leaf(root).cast_mut();
            if !leaf.is_null() {
                // SAFETY: nobody uses the map any more; the leaf is ours.
                unsafe {
                    leaf.drop_in_place();
                    os::unmap(leaf.cast(), size_of::<Leaf<WORDS>>());
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let base = os::map_aligned(ARENA_SIZE, ARENA_SIZE);
        assert!(!base.is_null());
        assert!(!ARENA_MAP.contains(base));
        assert!(ARENA_MAP.insert(base));
        assert!(ARENA_MAP.contains(base));
        // SAFETY: inside the 1 MiB mapping.
        assert!(ARENA_MAP.contains(unsafe { base.add(ARENA_SIZE - 1) }));
        assert!(!ARENA_MAP.contains(base.wrapping_add(ARENA_SIZE)));
        ARENA_MAP.remove(base);
        assert!(!ARENA_MAP.contains(base));
        // SAFETY: the mapping made above.
        unsafe { os::unmap(base, ARENA_SIZE) };
        assert!(!ARENA_MAP.contains(ptr::null()));
        assert!(!ARENA_MAP.contains(usize::MAX as *const u8));
    }
}
