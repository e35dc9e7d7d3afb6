//! Micro-benchmarks that call an allocator's `GlobalAlloc` directly, through
//! the equal-cost shims of [`crate::shim`].
//!
//! Each workload measures its own loop and returns the time, criterion
//! `iter_custom` style: set-up (size tables, pointer arrays, threads waiting
//! at a barrier) is outside the measured span. One *iteration* is the unit
//! criterion counts; [`Micro::ops_per_iter`] says how many allocator
//! operations (alloc+free pairs, or realloc calls) it holds, so results can
//! be given in ns per operation.
//!
//! | file | workload |
//! |---|---|
//! | `single` | alloc then free one block of one size, again and again |
//! | `batch` | 1000 blocks of mixed sizes, freed LIFO, FIFO or shuffled |
//! | `realloc` | a buffer grown from 8 B to 64 KiB by doubling or by +16 B |
//! | `cross_thread` | a producer thread allocates, a consumer thread frees |
//! | `churn` | N threads each replacing random blocks of a live set |

mod batch;
mod churn;
mod cross_thread;
mod realloc;
mod single;

pub use batch::{Batch, FreeOrder};
pub use churn::Churn;
pub use cross_thread::ProducerConsumer;
pub use realloc::{Growth, Realloc};
pub use single::Single;

use std::alloc::GlobalAlloc;
use std::time::Duration;

/// The block sizes of the single-size workload.
pub const SINGLE_SIZES: [usize; 6] = [16, 64, 256, 512, 1024, 4096];

/// The alignment every workload asks for (that of `u64` and of most Rust
/// heap data).
pub const ALIGN: usize = 8;

/// One micro-benchmark workload.
#[derive(Clone, Debug)]
pub enum Micro {
    /// One size, alloc+free.
    Single(Single),
    /// A batch of mixed sizes freed in some order.
    Batch(Batch),
    /// `realloc` growth.
    Realloc(Realloc),
    /// Blocks crossing from an allocating thread to a freeing thread.
    ProducerConsumer(ProducerConsumer),
    /// Independent mixed churn on several threads.
    Churn(Churn),
}

impl Micro {
    /// Every workload, in report order. `cores` is the machine's core count:
    /// churn runs on 2 threads and, if different, on `cores` threads.
    pub fn all(cores: usize) -> Vec<Micro> {
        let mut v: Vec<Micro> = SINGLE_SIZES
            .iter()
            .map(|&size| Micro::Single(Single::new(size)))
            .collect();
        for order in [FreeOrder::Lifo, FreeOrder::Fifo, FreeOrder::Random] {
            v.push(Micro::Batch(Batch::new(order)));
        }
        for growth in [Growth::Doubling, Growth::Step16] {
            v.push(Micro::Realloc(Realloc::new(growth)));
        }
        v.push(Micro::ProducerConsumer(ProducerConsumer::new()));
        let mut threads = vec![2];
        if cores != 2 && cores > 0 {
            threads.push(cores);
        }
        for t in threads {
            v.push(Micro::Churn(Churn::new(t)));
        }
        v
    }

    /// The criterion group and report row name, e.g. `single/64`.
    pub fn name(&self) -> String {
        match self {
            Micro::Single(w) => format!("single/{}B", w.size),
            Micro::Batch(w) => format!("batch_mixed/{}", w.order.name()),
            Micro::Realloc(w) => format!("realloc_grow/{}", w.growth.name()),
            Micro::ProducerConsumer(_) => "cross_thread/producer_consumer".to_string(),
            Micro::Churn(w) => format!("churn/{}_threads", w.threads),
        }
    }

    /// What one operation is, for the report's unit column.
    pub fn op(&self) -> &'static str {
        match self {
            Micro::Realloc(_) => "realloc call",
            Micro::Churn(_) => "free+alloc, per thread",
            _ => "alloc+free",
        }
    }

    /// Allocator operations in one iteration.
    pub fn ops_per_iter(&self) -> u64 {
        match self {
            Micro::Single(_) => 1,
            Micro::Batch(w) => w.len() as u64,
            Micro::Realloc(w) => w.calls() as u64,
            Micro::ProducerConsumer(_) => 1,
            Micro::Churn(_) => 1,
        }
    }

    /// Runs `iters` iterations against `a`; returns the measured time.
    pub fn run<A: GlobalAlloc + Sync>(&self, a: &A, iters: u64) -> Duration {
        match self {
            Micro::Single(w) => w.run(a, iters),
            Micro::Batch(w) => w.run(a, iters),
            Micro::Realloc(w) => w.run(a, iters),
            Micro::ProducerConsumer(w) => w.run(a, iters),
            Micro::Churn(w) => w.run(a, iters),
        }
    }
}

/// Writes one byte into a fresh block, as a program would use its memory
/// (and so the allocator cannot hand out memory that faults later unseen).
#[inline(always)]
pub(crate) fn touch(p: *mut u8, v: u64) {
    // SAFETY: `p` is a live block of at least one byte.
    unsafe { p.write(v as u8) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::Allocator;

    /// Every workload runs a few iterations against every allocator.
    #[test]
    fn every_workload_runs_on_every_allocator() {
        for w in Micro::all(3) {
            for a in Allocator::ALL {
                let _ = a.run(&w, 3);
            }
            assert!(w.ops_per_iter() >= 1, "{}", w.name());
        }
    }
}
