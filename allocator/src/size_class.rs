//! Size classes and the geometry of pools and arenas.
//!
//! As in CPython's obmalloc: requests of 1..=512 bytes with alignment at most
//! 16 are rounded up to a multiple of 16, giving 32 classes; class `c` holds
//! blocks of `(c + 1) * 16` bytes. Pools are 16 KiB, arenas 1 MiB (64 pools),
//! and both are aligned to their size, so masking a block's address finds its
//! arena header, and its pool's index in the arena picks its pool header
//! from the table after it (`pool.rs`).
//!
//! Under `cfg(loom)` pools and arenas shrink so that models reach "pool full"
//! and "arena empty" in a handful of operations.
//!
//! Invariants: `POOL_SIZE` and `ARENA_SIZE` are powers of two, an arena holds
//! a whole number of pools, and every class's block size is a multiple of
//! [`ALIGNMENT`].

/// Alignment of every small block, and the distance between size classes.
pub const ALIGNMENT: usize = 16;
/// The largest request served from pools; larger ones go to the system.
pub const SMALL_REQUEST_THRESHOLD: usize = 512;
/// Number of size classes.
pub const NUM_CLASSES: usize = SMALL_REQUEST_THRESHOLD / ALIGNMENT;

#[cfg(not(loom))]
const POOL_SHIFT: u32 = 14;
#[cfg(loom)]
const POOL_SHIFT: u32 = 12;
#[cfg(not(loom))]
const ARENA_SHIFT: u32 = 20;
#[cfg(loom)]
const ARENA_SHIFT: u32 = 14;

/// Bytes in a pool (16 KiB; 4 KiB under loom).
pub const POOL_SIZE: usize = 1 << POOL_SHIFT;
/// Bytes in an arena (1 MiB; 16 KiB under loom).
pub const ARENA_SIZE: usize = 1 << ARENA_SHIFT;
/// Pools in an arena (64; 4 under loom).
pub const POOLS_PER_ARENA: usize = ARENA_SIZE / POOL_SIZE;
/// The granularity at which fresh blocks are carved, so that a pool touches
/// only the pages it hands out.
pub(crate) const CARVE_SPAN: usize = 4096;

const _: () = assert!(POOLS_PER_ARENA >= 2 && POOLS_PER_ARENA <= 64);

/// Whether a request is served from pools.
///
/// `size == 0` is not: it wraps to `usize::MAX` and goes to the system
/// allocator, which is also where its `dealloc` will look.
#[inline(always)]
pub const fn is_small(size: usize, align: usize) -> bool {
    size.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD && align <= ALIGNMENT
}

/// The class of a small request (`1..=512` bytes).
#[inline(always)]
pub const fn class_of(size: usize) -> usize {
    (size - 1) / ALIGNMENT
}

/// The block size of a class.
#[inline(always)]
pub const fn block_size(class: usize) -> usize {
    (class + 1) * ALIGNMENT
}

/// Rounds `n` up to a multiple of `align` (a power of two).
#[inline(always)]
pub(crate) const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_small_size_exactly() {
        for size in 1..=SMALL_REQUEST_THRESHOLD {
            let class = class_of(size);
            assert!(class < NUM_CLASSES);
            assert!(block_size(class) >= size, "size {size} class {class}");
            assert!(
                block_size(class) - size < ALIGNMENT,
                "size {size} wastes too much"
            );
            if class > 0 {
                assert!(
                    block_size(class - 1) < size,
                    "size {size} should be in a smaller class"
                );
            }
        }
        assert_eq!(class_of(1), 0);
        assert_eq!(class_of(16), 0);
        assert_eq!(class_of(17), 1);
        assert_eq!(class_of(512), 31);
        assert_eq!(block_size(31), 512);
    }

    #[test]
    fn the_small_line() {
        assert!(is_small(1, 1));
        assert!(is_small(512, 16));
        assert!(!is_small(513, 1));
        assert!(
            !is_small(0, 1),
            "zero-size requests go to the system allocator"
        );
        assert!(
            !is_small(64, 32),
            "over-aligned requests go to the system allocator"
        );
    }

    #[test]
    fn geometry() {
        assert!(POOL_SIZE.is_power_of_two() && ARENA_SIZE.is_power_of_two());
        assert_eq!(POOLS_PER_ARENA * POOL_SIZE, ARENA_SIZE);
        #[cfg(not(loom))]
        {
            assert_eq!(POOL_SIZE, 16 * 1024);
            assert_eq!(ARENA_SIZE, 1024 * 1024);
        }
        assert_eq!(round_up(17, 16), 32);
        assert_eq!(round_up(32, 16), 32);
    }
}
