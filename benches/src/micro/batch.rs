//! A batch of 1000 blocks of mixed small sizes (16..=512 bytes, drawn with
//! the fixed seed), all allocated, then all freed in LIFO, FIFO or shuffled
//! order. Shuffled frees scatter the free lists, as long-running programs do.

use std::alloc::{GlobalAlloc, Layout};
use std::time::{Duration, Instant};

use super::{ALIGN, touch};
use crate::rng::Rng;
use crate::shim::{alloc_via, dealloc_via};

/// Blocks per batch.
pub const BATCH_LEN: usize = 1000;

/// The order in which a batch is freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeOrder {
    /// Last allocated, first freed.
    Lifo,
    /// First allocated, first freed.
    Fifo,
    /// A fixed random permutation.
    Random,
}

impl FreeOrder {
    /// Lower-case name for ids.
    pub const fn name(self) -> &'static str {
        match self {
            FreeOrder::Lifo => "lifo",
            FreeOrder::Fifo => "fifo",
            FreeOrder::Random => "random",
        }
    }
}

/// The mixed-size batch workload.
#[derive(Clone, Debug)]
pub struct Batch {
    /// How the batch is freed.
    pub order: FreeOrder,
    layouts: Vec<Layout>,
    free_order: Vec<usize>,
}

impl Batch {
    /// A batch of `BATCH_LEN` (1000) sizes, freed in `order`.
    pub fn new(order: FreeOrder) -> Self {
        let mut rng = Rng::with_stream(1);
        let layouts = (0..BATCH_LEN)
            .map(|_| {
                Layout::from_size_align(rng.range(16, 512) as usize, ALIGN).expect("valid layout")
            })
            .collect();
        let mut free_order: Vec<usize> = (0..BATCH_LEN).collect();
        match order {
            FreeOrder::Lifo => free_order.reverse(),
            FreeOrder::Fifo => {}
            FreeOrder::Random => Rng::with_stream(2).shuffle(&mut free_order),
        }
        Self {
            order,
            layouts,
            free_order,
        }
    }

    /// Blocks per iteration.
    pub fn len(&self) -> usize {
        self.layouts.len()
    }

    /// Whether the batch is empty (never: kept for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        self.layouts.is_empty()
    }

    /// One whole batch (allocate all, free all) per iteration.
    pub fn run<A: GlobalAlloc>(&self, a: &A, iters: u64) -> Duration {
        let mut ptrs: Vec<*mut u8> = Vec::with_capacity(self.len());
        let start = Instant::now();
        for i in 0..iters {
            for &layout in &self.layouts {
                // SAFETY: non-zero size.
                let p = unsafe { alloc_via(a, layout) };
                touch(p, i);
                ptrs.push(p);
            }
            for &j in &self.free_order {
                // SAFETY: each block is live, freed once, with its layout.
                unsafe { dealloc_via(a, ptrs[j], self.layouts[j]) };
            }
            ptrs.clear();
        }
        start.elapsed()
    }
}
