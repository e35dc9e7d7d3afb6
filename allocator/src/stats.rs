//! Statistics: the counters heaps keep, the process-wide arena counters, and
//! the [`Stats`] snapshot with a table in the spirit of CPython's
//! `sys._debugmallocstats()`.
//!
//! Counting stays off the fast path's critical cost: a heap's counters are
//! written only by its holder with a relaxed load and store (no locked
//! instruction); arena counters change only when an arena is mapped or
//! unmapped, which is rare, so they use plain atomic read-modify-writes.
//!
//! Invariants: a snapshot reads each counter whole, so no value is torn; it
//! reads different counters at slightly different times while threads run, so
//! derived figures are computed with saturating arithmetic and never go
//! negative. Remote frees are counted when the block's heap takes them in.

use crate::arena::FIRST_BLOCK_IN_ARENA;
use crate::registry::Registry;
use crate::remote::Holder;
use crate::size_class::{
    ARENA_SIZE, NUM_CLASSES, POOLS_PER_ARENA, SMALL_REQUEST_THRESHOLD, block_size,
};
use crate::sync::{AtomicUsize, Counter, Ordering, array_of, const_unless_loom};
use core::fmt;

/// Counters of one heap, written by its holder only.
pub(crate) struct HeapCounters {
    /// Blocks handed out, per class (the hot one: first).
    pub(crate) in_use: [Counter; NUM_CLASSES],
    /// Pools assigned to each class.
    pub(crate) pools: [Counter; NUM_CLASSES],
    /// Blocks those pools can hold, per class.
    pub(crate) capacity: [Counter; NUM_CLASSES],
    /// Bytes of the pools assigned to a class (pool 0 of an arena is smaller).
    pub(crate) pool_bytes: Counter,
}

impl HeapCounters {
    const_unless_loom! {
        /// All zero.
        pub(crate) fn new() -> Self {
            Self {
                in_use: array_of![Counter::new(); NUM_CLASSES],
                pools: array_of![Counter::new(); NUM_CLASSES],
                capacity: array_of![Counter::new(); NUM_CLASSES],
                pool_bytes: Counter::new(),
            }
        }
    }
}

/// Process-wide counters, changed on the rare events only.
pub(crate) struct GlobalCounters {
    arenas_current: AtomicUsize,
    arenas_highwater: AtomicUsize,
    arenas_allocated_total: AtomicUsize,
    arenas_reclaimed_total: AtomicUsize,
    bytes_mapped: AtomicUsize,
}

impl GlobalCounters {
    const_unless_loom! {
        /// All zero.
        pub(crate) fn new() -> Self {
            Self {
                arenas_current: AtomicUsize::new(0),
                arenas_highwater: AtomicUsize::new(0),
                arenas_allocated_total: AtomicUsize::new(0),
                arenas_reclaimed_total: AtomicUsize::new(0),
                bytes_mapped: AtomicUsize::new(0),
            }
        }
    }

    /// An arena of `bytes` was mapped.
    pub(crate) fn arena_mapped(&self, bytes: usize) {
        let now = self.arenas_current.fetch_add(1, Ordering::Relaxed) + 1;
        self.arenas_highwater.fetch_max(now, Ordering::Relaxed);
        self.arenas_allocated_total.fetch_add(1, Ordering::Relaxed);
        self.bytes_mapped.fetch_add(bytes, Ordering::Relaxed);
    }

    /// An arena of `bytes` was unmapped.
    pub(crate) fn arena_unmapped(&self, bytes: usize) {
        self.arenas_current.fetch_sub(1, Ordering::Relaxed);
        self.arenas_reclaimed_total.fetch_add(1, Ordering::Relaxed);
        self.bytes_mapped.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// A heap of `bytes` was mapped (heaps are never unmapped).
    pub(crate) fn heap_mapped(&self, bytes: usize) {
        self.bytes_mapped.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Figures for one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Bytes per block.
    pub block_size: usize,
    /// Pools currently assigned to this class.
    pub pools: usize,
    /// Blocks handed out and not yet freed (remote frees count once their
    /// heap has taken them in).
    pub blocks_in_use: usize,
    /// Blocks those pools could still hand out.
    pub blocks_available: usize,
}

/// A snapshot of the allocator over all threads, live heaps and abandoned
/// ones. Taken with [`stats()`](crate::stats()); printed with `Display`.
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// let layout = Layout::new::<[u8; 100]>(); // the 112-byte class
/// // SAFETY: non-zero layout; freed below with the same layout.
/// let p = unsafe { pymalloc::PyMalloc.alloc(layout) };
/// let s = pymalloc::stats();
/// assert!(s.classes[6].block_size == 112 && s.classes[6].blocks_in_use >= 1);
/// assert!(s.small_bytes_in_use >= 112 && s.arenas_current >= 1);
/// println!("{s}");
/// // SAFETY: the block above, once.
/// unsafe { pymalloc::PyMalloc.dealloc(p, layout) };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Small blocks handed out and not yet freed.
    pub small_blocks_in_use: usize,
    /// Bytes in those blocks (block sizes, not request sizes).
    pub small_bytes_in_use: usize,
    /// Free blocks in pools assigned to a class.
    pub small_blocks_available: usize,
    /// Pools assigned to a class.
    pub pools_in_use: usize,
    /// Pools in mapped arenas that no class uses.
    pub pools_unused: usize,
    /// Bytes of the pools assigned to a class: their blocks, used or not,
    /// and what is lost to quantization.
    pub pool_bytes: usize,
    /// Arenas mapped now.
    pub arenas_current: usize,
    /// The most arenas ever mapped at once.
    pub arenas_highwater: usize,
    /// Arenas ever mapped.
    pub arenas_allocated_total: usize,
    /// Arenas ever unmapped (given back to the OS).
    pub arenas_reclaimed_total: usize,
    /// Bytes mapped now: arenas plus heap headers.
    pub bytes_mapped: usize,
    /// Bytes the system allocator reports in use (glibc's `mallinfo2`;
    /// 0 where unavailable). Process-wide: pymalloc's large requests and
    /// every other `malloc` of the process.
    pub system_bytes_in_use: usize,
    /// Heaps whose thread is alive.
    pub heaps_active: usize,
    /// Heaps whose thread exited, waiting to be adopted.
    pub heaps_abandoned: usize,
    /// Per size class.
    pub classes: [ClassStats; NUM_CLASSES],
}

impl Stats {
    /// Bytes of arena memory taken by arena and pool headers.
    pub fn header_bytes(&self) -> usize {
        self.arenas_current * FIRST_BLOCK_IN_ARENA
    }

    /// Bytes lost because blocks do not fill their pools exactly.
    pub fn quantization_bytes(&self) -> usize {
        let blocks: usize = self
            .classes
            .iter()
            .map(|c| (c.blocks_in_use + c.blocks_available) * c.block_size)
            .sum();
        self.pool_bytes.saturating_sub(blocks)
    }

    /// Bytes of arena memory in pools that no class uses.
    pub fn unused_pool_bytes(&self) -> usize {
        (self.arenas_current * (ARENA_SIZE - FIRST_BLOCK_IN_ARENA)).saturating_sub(self.pool_bytes)
    }
}

/// Takes a snapshot of `registry`.
pub(crate) fn snapshot(registry: &Registry) -> Stats {
    let mut s = Stats::default();
    for (c, class) in s.classes.iter_mut().enumerate() {
        class.block_size = block_size(c);
    }
    for heap in registry.heaps() {
        match heap.inbox.holder() {
            Holder::Abandoned => s.heaps_abandoned += 1,
            Holder::Active | Holder::Claimed => s.heaps_active += 1,
        }
        let c = &heap.counters;
        for (i, class) in s.classes.iter_mut().enumerate() {
            let in_use = c.in_use[i].get();
            class.pools += c.pools[i].get();
            class.blocks_in_use = class.blocks_in_use.wrapping_add(in_use);
            class.blocks_available = class
                .blocks_available
                .wrapping_add(c.capacity[i].get().wrapping_sub(in_use));
        }
        s.pool_bytes = s.pool_bytes.wrapping_add(c.pool_bytes.get());
    }
    let g = &registry.counters;
    #[cfg(not(loom))]
    {
        s.system_bytes_in_use = crate::large::system_bytes_in_use().unwrap_or(0);
    }
    for class in &mut s.classes {
        // Counters read at different moments may disagree for an instant.
        class.blocks_in_use = non_negative(class.blocks_in_use);
        class.blocks_available = non_negative(class.blocks_available);
        s.small_blocks_in_use += class.blocks_in_use;
        s.small_bytes_in_use += class.blocks_in_use * class.block_size;
        s.small_blocks_available += class.blocks_available;
        s.pools_in_use += class.pools;
    }
    s.arenas_current = g.arenas_current.load(Ordering::Relaxed);
    s.arenas_highwater = g
        .arenas_highwater
        .load(Ordering::Relaxed)
        .max(s.arenas_current);
    s.arenas_allocated_total = g.arenas_allocated_total.load(Ordering::Relaxed);
    s.arenas_reclaimed_total = g.arenas_reclaimed_total.load(Ordering::Relaxed);
    s.bytes_mapped = g.bytes_mapped.load(Ordering::Relaxed);
    s.pool_bytes = non_negative(s.pool_bytes);
    s.pools_unused = (s.arenas_current * POOLS_PER_ARENA).saturating_sub(s.pools_in_use);
    s
}

/// A sum of wrapping counters that went "below zero" in a racy read is 0.
fn non_negative(v: usize) -> usize {
    if v > isize::MAX as usize { 0 } else { v }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Small block threshold = {SMALL_REQUEST_THRESHOLD}, in {NUM_CLASSES} size classes."
        )?;
        writeln!(f)?;
        writeln!(f, "class   size   num pools   blocks in use  avail blocks")?;
        writeln!(f, "-----   ----   ---------   -------------  ------------")?;
        for (i, c) in self.classes.iter().enumerate() {
            if c.pools == 0 && c.blocks_in_use == 0 {
                continue;
            }
            writeln!(
                f,
                "{i:5} {:6} {:11} {:15} {:13}",
                c.block_size, c.pools, c.blocks_in_use, c.blocks_available
            )?;
        }
        writeln!(f)?;
        let line = |f: &mut fmt::Formatter<'_>, label: &str, v: usize| {
            writeln!(f, "{label:<35}= {:>20}", Grouped(v))
        };
        line(f, "# arenas allocated total", self.arenas_allocated_total)?;
        line(f, "# arenas reclaimed", self.arenas_reclaimed_total)?;
        line(f, "# arenas highwater mark", self.arenas_highwater)?;
        line(f, "# arenas allocated current", self.arenas_current)?;
        let arena_bytes = self.arenas_current * ARENA_SIZE;
        line(
            f,
            &format!(
                "{} arenas * {} bytes/arena",
                self.arenas_current, ARENA_SIZE
            ),
            arena_bytes,
        )?;
        writeln!(f)?;
        let blocks_bytes = self.small_bytes_in_use;
        let avail_bytes: usize = self
            .classes
            .iter()
            .map(|c| c.blocks_available * c.block_size)
            .sum();
        line(f, "# bytes in allocated blocks", blocks_bytes)?;
        line(f, "# bytes in available blocks", avail_bytes)?;
        line(
            f,
            &format!("# bytes in {} unused pools", self.pools_unused),
            self.unused_pool_bytes(),
        )?;
        line(f, "# bytes lost to headers", self.header_bytes())?;
        line(f, "# bytes lost to quantization", self.quantization_bytes())?;
        line(f, "# bytes lost to arena alignment", 0)?;
        let total = blocks_bytes
            + avail_bytes
            + self.unused_pool_bytes()
            + self.header_bytes()
            + self.quantization_bytes();
        line(f, "Total", total)?;
        writeln!(f)?;
        line(f, "# heaps active", self.heaps_active)?;
        line(f, "# heaps abandoned", self.heaps_abandoned)?;
        line(f, "# bytes mapped (arenas + heaps)", self.bytes_mapped)?;
        line(f, "# bytes in use, system malloc", self.system_bytes_in_use)
    }
}

/// A number printed with thousands separators, as CPython does.
struct Grouped(usize);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 32];
        let mut n = self.0;
        let mut len = 0;
        loop {
            if len % 4 == 3 {
                digits[len] = b',';
                len += 1;
            }
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        digits[..len].reverse();
        // The buffer holds ASCII digits and commas only.
        f.pad(core::str::from_utf8(&digits[..len]).unwrap_or("?"))
    }
}

#[cfg(test)]
mod tests {
    use super::Grouped;

    #[test]
    fn grouping() {
        assert_eq!(format!("{}", Grouped(0)), "0");
        assert_eq!(format!("{}", Grouped(999)), "999");
        assert_eq!(format!("{}", Grouped(1000)), "1,000");
        assert_eq!(format!("{}", Grouped(3145728)), "3,145,728");
        assert_eq!(format!("{:>8}", Grouped(1234)), "   1,234");
    }
}
