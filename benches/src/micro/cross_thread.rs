//! Producer/consumer: the measuring thread allocates 64-byte blocks in
//! batches and hands each batch to a consumer thread, which frees them. Every
//! free is a free from a thread that does not own the block.
//!
//! Batches travel through bounded `std::sync::mpsc` channels whose slots are
//! allocated once, and the batch vectors circulate (a full one goes to the
//! consumer, an empty one comes back), so the hand-off itself allocates
//! nothing and costs every allocator the same.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use super::{ALIGN, touch};
use crate::shim::{alloc_via, dealloc_via};

/// Size of each block.
pub const BLOCK: usize = 64;
/// Blocks per hand-off.
pub const BATCH: usize = 1000;
/// Batches in circulation (so both threads can work at once).
const IN_FLIGHT: usize = 4;

/// Pointers to live blocks, owned by whichever thread holds the batch.
struct Blocks(Vec<*mut u8>);

// SAFETY: the blocks behind the pointers are owned by the holder of the
// batch alone, and `GlobalAlloc` blocks may be freed from any thread.
unsafe impl Send for Blocks {}

/// The producer/consumer workload.
#[derive(Clone, Debug, Default)]
pub struct ProducerConsumer;

impl ProducerConsumer {
    /// The workload.
    pub fn new() -> Self {
        Self
    }

    /// One block (allocated here, freed on the consumer) per iteration; the
    /// time runs until the consumer has freed the last one.
    pub fn run<A: GlobalAlloc + Sync>(&self, a: &A, iters: u64) -> Duration {
        let layout = Layout::from_size_align(BLOCK, ALIGN).expect("valid layout");
        let batches = iters.div_ceil(BATCH as u64).max(1);
        let (full_tx, full_rx) = sync_channel::<Blocks>(IN_FLIGHT);
        let (empty_tx, empty_rx) = sync_channel::<Blocks>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            empty_tx
                .send(Blocks(Vec::with_capacity(BATCH)))
                .expect("receiver alive");
        }
        std::thread::scope(|s| {
            let consumer = s.spawn(move || {
                for mut blocks in full_rx {
                    for p in blocks.0.drain(..) {
                        // SAFETY: a live block of `layout`, freed once.
                        unsafe { dealloc_via(a, p, layout) };
                    }
                    // The producer may have stopped listening: fine.
                    let _ = empty_tx.send(blocks);
                }
            });
            let start = Instant::now();
            for i in 0..batches {
                let mut blocks = empty_rx.recv().expect("consumer alive");
                for _ in 0..BATCH {
                    // SAFETY: non-zero size.
                    let p = unsafe { alloc_via(a, layout) };
                    touch(p, i);
                    blocks.0.push(p);
                }
                full_tx.send(blocks).expect("consumer alive");
            }
            drop(full_tx);
            consumer.join().expect("consumer thread");
            let elapsed = start.elapsed();
            // Scale to the iterations asked for when rounded up to batches.
            elapsed.mul_f64(iters.max(1) as f64 / (batches * BATCH as u64) as f64)
        })
    }
}
