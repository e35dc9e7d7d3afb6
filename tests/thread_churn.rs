//! Thousands of short-lived threads whose blocks outlive them and are freed
//! elsewhere: afterwards `stats()` shows the blocks gone, the arenas given
//! back, and the dead threads' heaps reused rather than multiplied.

use std::sync::mpsc;
use std::thread;

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

#[test]
fn blocks_outliving_their_threads_are_reclaimed() {
    const THREADS: usize = 3_000;
    const PER_THREAD: usize = 1_000;
    // Warm up this thread's heap so that its own arena is in the baseline.
    let warm: Vec<Box<[u8; 48]>> = (0..100).map(|_| Box::new([1; 48])).collect();
    drop(warm);
    pymalloc::collect();
    let before = pymalloc::stats();
    println!("before:\n{before}");

    let (tx, rx) = mpsc::channel::<Vec<Box<[u64; 6]>>>();
    let mut peak_arenas = 0;
    let mut kept: Vec<Vec<Box<[u64; 6]>>> = Vec::new();
    for t in 0..THREADS {
        let tx = tx.clone();
        thread::spawn(move || {
            let blocks: Vec<Box<[u64; 6]>> = (0..PER_THREAD)
                .map(|i| Box::new([(t * PER_THREAD + i) as u64; 6]))
                .collect();
            tx.send(blocks).unwrap();
        })
        .join()
        .unwrap();
        kept.push(rx.recv().unwrap());
        // Free older batches as we go, from this (another) thread.
        if kept.len() > 50 {
            let batch = kept.remove(0);
            assert!(batch.iter().all(|b| b[0] == b[5]));
            drop(batch);
        }
        if t % 500 == 0 {
            peak_arenas = peak_arenas.max(pymalloc::stats().arenas_current);
        }
    }
    let during = pymalloc::stats();
    println!("with {} batches still alive:\n{during}", kept.len());
    assert!(during.small_blocks_in_use >= kept.len() * PER_THREAD);
    // The heaps of dead threads are adopted, not piled up.
    assert!(
        during.heaps_active + during.heaps_abandoned < 20,
        "{} heaps for {THREADS} sequential threads",
        during.heaps_active + during.heaps_abandoned
    );
    drop(kept);
    drop(tx);
    // Thread bookkeeping (spawn and join structures) that the children freed
    // into this thread's live heap waits on remote lists until this heap
    // takes it in; do that now so that the count is exact.
    pymalloc::collect();

    let after = pymalloc::stats();
    println!("after:\n{after}");
    assert!(
        after.small_blocks_in_use <= before.small_blocks_in_use + 10,
        "blocks still counted in use: before {}, after {}",
        before.small_blocks_in_use,
        after.small_blocks_in_use
    );
    assert!(
        after.arenas_current <= before.arenas_current + 2,
        "arenas not given back: before {}, after {} (peak {peak_arenas})",
        before.arenas_current,
        after.arenas_current
    );
    assert!(after.arenas_reclaimed_total > before.arenas_reclaimed_total);
}
