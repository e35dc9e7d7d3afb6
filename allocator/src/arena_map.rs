//! Which 1 MiB-aligned ranges of the address space are live pymalloc arenas:
//! a two-level bitmap over the 47-bit user address space, as CPython 3.10's
//! radix tree answers "is this one of ours?" without reading the memory
//! itself.
//!
//! It backs [`owns`](crate::owns) and the debug-build check that a pointer
//! handed to `dealloc` came from pymalloc. It changes only when an arena is
//! mapped or unmapped.
//!
//! Invariants: a leaf, once installed by CAS, is never removed or moved; a
//! bit is set between an arena's mapping and its unmapping, and only then.

use crate::os;
use crate::size_class::ARENA_SIZE;
use crate::sync::{AtomicPtr, AtomicU64, Ordering};
use core::ptr;

const ADDRESS_BITS: u32 = 47;
const ARENA_BITS: u32 = ADDRESS_BITS - ARENA_SIZE.trailing_zeros();
/// A leaf is one 4 KiB page of bits: 32768 arenas, 32 GiB of address space.
const LEAF_BITS: u32 = 15;
const ROOT_BITS: u32 = ARENA_BITS - LEAF_BITS;
const LEAF_WORDS: usize = (1 << LEAF_BITS) / 64;

type Leaf = [AtomicU64; LEAF_WORDS];

static ROOT: [AtomicPtr<Leaf>; 1 << ROOT_BITS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; 1 << ROOT_BITS];

/// Root slot, word and bit of an arena base address; None beyond 47 bits.
fn locate(addr: usize) -> Option<(usize, usize, u64)> {
    let arena = addr >> ARENA_SIZE.trailing_zeros();
    if arena >> ARENA_BITS != 0 {
        return None;
    }
    let root = arena >> LEAF_BITS;
    let bit = arena & ((1 << LEAF_BITS) - 1);
    Some((root, bit / 64, 1 << (bit % 64)))
}

/// Records a new arena. False when the address is out of range or a leaf
/// cannot be mapped; the caller then gives the arena up.
pub(crate) fn insert(base: *mut u8) -> bool {
    let Some((root, word, bit)) = locate(base.addr()) else {
        return false;
    };
    let mut leaf = ROOT[root].load(Ordering::Acquire);
    if leaf.is_null() {
        let fresh = os::map(size_of::<Leaf>()).cast::<Leaf>();
        if fresh.is_null() {
            return false;
        }
        match ROOT[root].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => leaf = fresh,
            Err(theirs) => {
                // SAFETY: our leaf lost the race and was never published.
                unsafe { os::unmap(fresh.cast(), size_of::<Leaf>()) };
                leaf = theirs;
            }
        }
    }
    // SAFETY: installed leaves are zeroed mappings that are never removed.
    unsafe { (*leaf)[word].fetch_or(bit, Ordering::Release) };
    true
}

/// Forgets an arena about to be unmapped.
pub(crate) fn remove(base: *mut u8) {
    if let Some((root, word, bit)) = locate(base.addr()) {
        let leaf = ROOT[root].load(Ordering::Acquire);
        if !leaf.is_null() {
            // SAFETY: installed leaves are never removed.
            unsafe { (*leaf)[word].fetch_and(!bit, Ordering::Release) };
        }
    }
}

/// Whether `p` lies inside a live arena.
pub(crate) fn contains(p: *const u8) -> bool {
    let Some((root, word, bit)) = locate(p.addr() & !(ARENA_SIZE - 1)) else {
        return false;
    };
    let leaf = ROOT[root].load(Ordering::Acquire);
    // SAFETY: installed leaves are never removed.
    !leaf.is_null() && unsafe { (*leaf)[word].load(Ordering::Acquire) } & bit != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let base = os::map_aligned(ARENA_SIZE, ARENA_SIZE);
        assert!(!base.is_null());
        assert!(!contains(base));
        assert!(insert(base));
        assert!(contains(base));
        // SAFETY: inside the 1 MiB mapping.
        assert!(contains(unsafe { base.add(ARENA_SIZE - 1) }));
        assert!(!contains(base.wrapping_add(ARENA_SIZE)));
        remove(base);
        assert!(!contains(base));
        // SAFETY: the mapping made above.
        unsafe { os::unmap(base, ARENA_SIZE) };
        assert!(!contains(ptr::null()));
        assert!(!contains(usize::MAX as *const u8));
    }
}
