//! Independent mixed churn on N threads: each thread keeps 256 live blocks
//! of mixed sizes (16..=512 bytes) and, step after step, frees a randomly
//! chosen one and allocates a new block of a random size in its place. No
//! block crosses threads: this measures how well per-thread paths scale.
//!
//! Each thread runs `iters` steps; the result is the slowest thread's time,
//! so ns per iteration is the time of one step on one thread while all run
//! (perfect scaling keeps it at the one-thread figure).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::{ALIGN, touch};
use crate::rng::Rng;
use crate::shim::{alloc_via, dealloc_via};

/// Live blocks per thread.
const LIVE: usize = 256;
/// Length of each thread's pre-drawn table of (slot, size) steps.
const STEPS: usize = 4096;

/// The churn workload.
#[derive(Clone, Debug)]
pub struct Churn {
    /// Threads running at once.
    pub threads: usize,
}

impl Churn {
    /// Churn on `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
        }
    }

    /// `iters` steps on every thread; returns the slowest thread's time.
    pub fn run<A: GlobalAlloc + Sync>(&self, a: &A, iters: u64) -> Duration {
        let barrier = Barrier::new(self.threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..self.threads)
                .map(|t| {
                    let barrier = &barrier;
                    s.spawn(move || churn_thread(a, t as u64, iters, barrier))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("churn thread"))
                .max()
                .unwrap_or_default()
        })
    }
}

/// One thread's share: set up its live set and step table, wait for the
/// others, time `iters` steps, then free what is left (untimed).
fn churn_thread<A: GlobalAlloc>(a: &A, stream: u64, iters: u64, barrier: &Barrier) -> Duration {
    let mut rng = Rng::with_stream(100 + stream);
    let layout = |size: u64| Layout::from_size_align(size as usize, ALIGN).expect("valid layout");
    let steps: Vec<(usize, Layout)> = (0..STEPS)
        .map(|_| (rng.below(LIVE), layout(rng.range(16, 512))))
        .collect();
    let mut live: Vec<(*mut u8, Layout)> = (0..LIVE)
        .map(|_| {
            let l = layout(rng.range(16, 512));
            // SAFETY: non-zero size.
            (unsafe { alloc_via(a, l) }, l)
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for i in 0..iters {
        let (slot, new_layout) = steps[i as usize % STEPS];
        let (old, old_layout) = live[slot];
        // SAFETY: `old` is live with `old_layout` and freed once; the new
        // block has a non-zero size.
        unsafe {
            dealloc_via(a, old, old_layout);
            let p = alloc_via(a, new_layout);
            touch(p, i);
            live[slot] = (p, new_layout);
        }
    }
    let elapsed = start.elapsed();
    for (p, l) in live {
        // SAFETY: every live block is freed once with its layout.
        unsafe { dealloc_via(a, p, l) };
    }
    elapsed
}
