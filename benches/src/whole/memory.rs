//! Resident memory: `n` 64-byte blocks (`Box<[u8; 64]>`) live at once, held
//! in a pre-sized `Vec` of pointers, every block written; then all freed.
//! Reports RSS with everything live, RSS after freeing it all (what the
//! allocator kept, without any explicit trim call), and the time to
//! allocate and free.

use std::hint::black_box;
use std::time::Instant;

use super::{Metric, ms};
use crate::rss;

/// Size of each block.
const BLOCK: usize = 64;

/// Allocates `n` blocks, measures, frees them all, measures again.
pub(super) fn run(n: usize) -> Vec<Metric> {
    let start = Instant::now();
    let mut blocks: Vec<Box<[u8; BLOCK]>> = Vec::with_capacity(n);
    for i in 0..n {
        blocks.push(Box::new([i as u8; BLOCK]));
    }
    black_box(&mut blocks);
    let allocated = start.elapsed();
    let live = rss::current().unwrap_or(0);
    let free_start = Instant::now();
    drop(blocks);
    let freed = free_start.elapsed();
    let after = rss::current().unwrap_or(0);
    vec![
        ("time_ms", ms(allocated + freed)),
        ("rss_live_mib", rss::mib(live)),
        ("rss_after_free_mib", rss::mib(after)),
    ]
}
