//! Memory goes back to the OS: after 4 million 64-byte blocks are freed, the
//! process's RSS is back within 4 MiB of where it started, and while they are
//! live pymalloc's overhead is pool headers and nothing much else.
//!
//! One test in its own binary, so that nothing else moves the RSS meanwhile.

use integration::{Rng, rss_kib};
use std::alloc::{GlobalAlloc, Layout};

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

#[test]
#[cfg_attr(
    pymalloc_asan,
    ignore = "AddressSanitizer's shadow memory dominates the RSS"
)]
fn rss_returns_after_a_large_free() {
    const N: usize = 4_000_000;
    let layout = Layout::from_size_align(64, 8).unwrap();
    let mut rng = Rng::from_env("rss_returns_after_a_large_free");
    pymalloc::collect();
    let arenas_before = pymalloc::stats().arenas_current;
    let base = rss_kib();
    let mut blocks: Vec<*mut u8> = Vec::with_capacity(N);
    for i in 0..N {
        // SAFETY: non-zero layout; freed below.
        let p = unsafe { GLOBAL.alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: the block is ours; touch it as a real program would.
        unsafe { p.cast::<u64>().write(i as u64) };
        blocks.push(p);
    }
    let live = rss_kib();
    let stats = pymalloc::stats();
    let payload_kib = N * 64 / 1024;
    let pointers_kib = N * 8 / 1024;
    println!(
        "base {} MiB, live {} MiB (payload {} MiB + pointer array {} MiB), growth {:.3}x the ideal",
        base / 1024,
        live / 1024,
        payload_kib / 1024,
        pointers_kib / 1024,
        (live - base) as f64 / (payload_kib + pointers_kib) as f64
    );
    assert!(stats.small_blocks_in_use >= N);
    // Pool headers are 128 of 16384 bytes (0.8%); 64-byte blocks fill a pool
    // exactly. Leave a little for the test harness.
    assert!(
        (live - base) as f64 <= (payload_kib + pointers_kib) as f64 * 1.02 + 2048.0,
        "live RSS {} KiB over a base of {} KiB is too much for {} KiB of data",
        live - base,
        base,
        payload_kib + pointers_kib
    );

    // Free in random order: every pool drains only at the very end.
    for i in (1..N).rev() {
        blocks.swap(i, rng.below(i + 1));
    }
    for (i, p) in blocks.drain(..).enumerate() {
        // SAFETY: each block is live and freed once with its layout.
        unsafe {
            assert!(p.cast::<u64>().read() < N as u64, "block {i} corrupted");
            GLOBAL.dealloc(p, layout);
        }
    }
    drop(blocks);
    let after = rss_kib();
    let stats = pymalloc::stats();
    println!(
        "after freeing: {} KiB ({} KiB above base)\n{stats}",
        after,
        after.saturating_sub(base)
    );
    assert!(
        after <= base + 4096,
        "RSS kept {} KiB after freeing everything (base {base} KiB, now {after} KiB)",
        after - base
    );
    // At most the arena holding the 64-byte class's current pool and the
    // heap's one spare stay mapped.
    assert!(
        stats.arenas_current <= arenas_before + 2,
        "{} arenas still mapped, {arenas_before} before",
        stats.arenas_current
    );
    assert!(stats.arenas_reclaimed_total >= 240);
}
