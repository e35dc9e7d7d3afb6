//! One block of one size, allocated and freed again and again: the
//! allocator's fast path with everything in cache.

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::{Duration, Instant};

use super::{ALIGN, touch};
use crate::shim::{alloc_via, dealloc_via};

/// Alloc+free of one size.
#[derive(Clone, Debug)]
pub struct Single {
    /// Block size in bytes.
    pub size: usize,
}

impl Single {
    /// The workload for blocks of `size` bytes (`size > 0`).
    pub fn new(size: usize) -> Self {
        assert!(size > 0);
        Self { size }
    }

    /// One alloc+free pair per iteration.
    pub fn run<A: GlobalAlloc>(&self, a: &A, iters: u64) -> Duration {
        let layout = Layout::from_size_align(self.size, ALIGN).expect("valid layout");
        let start = Instant::now();
        for i in 0..iters {
            // SAFETY: non-zero size; the block is freed with its layout.
            unsafe {
                let p = alloc_via(a, black_box(layout));
                touch(p, i);
                dealloc_via(a, black_box(p), layout);
            }
        }
        start.elapsed()
    }
}
