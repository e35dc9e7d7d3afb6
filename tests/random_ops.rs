//! Randomised alloc / alloc_zeroed / realloc / free sequences over sizes
//! 1..=4096 and alignments 1..=4096, checking every block's contents. The
//! seed is printed; replay with `PYMALLOC_TEST_SEED=<seed>`.

use integration::{Rng, check, fill};
use std::alloc::{GlobalAlloc, Layout};

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

struct Live {
    p: *mut u8,
    layout: Layout,
    tag: u64,
}

fn random_layout(rng: &mut Rng) -> Layout {
    let size = match rng.below(10) {
        0..=5 => rng.range(1, 512),
        6..=7 => rng.range(1, 64),
        _ => rng.range(513, 4096),
    };
    // Mostly the alignments of real types, sometimes large ones.
    let align = match rng.below(10) {
        0..=7 => 1 << rng.below(5),
        _ => 1 << rng.range(5, 12),
    };
    Layout::from_size_align(size, align).unwrap()
}

/// Runs `ops` random operations; returns how many blocks each kind of
/// operation touched, so that the caller can see the mix was exercised.
fn run(rng: &mut Rng, ops: usize, max_live: usize) -> [usize; 4] {
    let mut live: Vec<Live> = Vec::with_capacity(max_live);
    let mut counts = [0usize; 4];
    for _ in 0..ops {
        let choice = if live.len() >= max_live {
            3
        } else {
            rng.below(4)
        };
        match choice {
            0 | 1 => {
                let layout = random_layout(rng);
                let zeroed = choice == 1;
                // SAFETY: non-zero size; freed below with the same layout.
                let p = unsafe {
                    if zeroed {
                        GLOBAL.alloc_zeroed(layout)
                    } else {
                        GLOBAL.alloc(layout)
                    }
                };
                assert!(!p.is_null(), "allocation of {layout:?} failed");
                assert_eq!(
                    p.addr() % layout.align(),
                    0,
                    "{layout:?} misaligned at {p:p}"
                );
                if zeroed {
                    // SAFETY: the block is `layout.size()` bytes.
                    let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
                    assert!(
                        bytes.iter().all(|&b| b == 0),
                        "alloc_zeroed {layout:?} not zeroed"
                    );
                }
                let tag = rng.next_u64();
                // SAFETY: the block is ours.
                unsafe { fill(p, layout.size(), tag) };
                live.push(Live { p, layout, tag });
                counts[choice] += 1;
            }
            2 if !live.is_empty() => {
                let i = rng.below(live.len());
                let b = &mut live[i];
                let new_size = random_layout(rng).size();
                // SAFETY: the block is live with this layout; new_size > 0.
                let q = unsafe { GLOBAL.realloc(b.p, b.layout, new_size) };
                assert!(!q.is_null());
                assert_eq!(q.addr() % b.layout.align(), 0, "realloc lost alignment");
                let kept = b.layout.size().min(new_size);
                // SAFETY: the new block holds at least `kept` old bytes.
                unsafe { check(q, kept, b.tag) };
                b.p = q;
                b.layout = Layout::from_size_align(new_size, b.layout.align()).unwrap();
                b.tag = rng.next_u64();
                // SAFETY: the block is ours, `new_size` bytes.
                unsafe { fill(q, new_size, b.tag) };
                counts[2] += 1;
            }
            _ if !live.is_empty() => {
                let b = live.swap_remove(rng.below(live.len()));
                // SAFETY: live block, freed once with its layout.
                unsafe {
                    check(b.p, b.layout.size(), b.tag);
                    GLOBAL.dealloc(b.p, b.layout);
                }
                counts[3] += 1;
            }
            _ => {}
        }
    }
    for b in live {
        // SAFETY: as above.
        unsafe {
            check(b.p, b.layout.size(), b.tag);
            GLOBAL.dealloc(b.p, b.layout);
        }
    }
    counts
}

#[test]
fn random_sequences_keep_every_byte() {
    let mut rng = Rng::from_env("random_sequences_keep_every_byte");
    for round in 0..4 {
        let counts = run(&mut rng, 60_000, 1 << (8 + 2 * round));
        assert!(
            counts.iter().all(|&c| c > 1000),
            "operation mix too thin: {counts:?}"
        );
    }
}

#[test]
fn random_sequences_on_many_threads() {
    let mut rng = Rng::from_env("random_sequences_on_many_threads");
    let seeds: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
    let handles: Vec<_> = seeds
        .into_iter()
        .map(|seed| std::thread::spawn(move || run(&mut Rng::new(seed), 80_000, 2_000)))
        .collect();
    for h in handles {
        let counts = h.join().unwrap();
        assert!(counts.iter().all(|&c| c > 1000));
    }
}

#[test]
fn realloc_moves_across_the_small_line_both_ways() {
    let mut rng = Rng::from_env("realloc_moves_across_the_small_line_both_ways");
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: each step reallocs the live block with its current layout.
    unsafe {
        let mut p = GLOBAL.alloc(layout);
        let mut size = 100;
        let tag = rng.next_u64();
        fill(p, size, tag);
        assert!(pymalloc::owns(p));
        // Same class: stays in place.
        let q = GLOBAL.realloc(p, layout, 110);
        assert_eq!(q, p, "realloc within a class must not move");
        size = 110;
        fill(p, size, tag);
        // Up across the line: leaves the pools.
        for new_size in [512, 513, 4096, 100_000, 600, 512, 48, 16, 1] {
            let old = Layout::from_size_align(size, 8).unwrap();
            p = GLOBAL.realloc(p, old, new_size);
            assert!(!p.is_null());
            check(p, size.min(new_size), tag);
            assert_eq!(
                pymalloc::owns(p),
                new_size <= 512,
                "size {new_size} in the wrong allocator"
            );
            size = new_size;
            fill(p, size, tag);
        }
        GLOBAL.dealloc(p, Layout::from_size_align(size, 8).unwrap());
    }
}

#[test]
fn over_aligned_small_requests_go_to_the_system() {
    for align in [32usize, 64, 4096] {
        let layout = Layout::from_size_align(24, align).unwrap();
        // SAFETY: non-zero layout, freed with the same layout.
        unsafe {
            let p = GLOBAL.alloc(layout);
            assert_eq!(p.addr() % align, 0);
            assert!(!pymalloc::owns(p));
            GLOBAL.dealloc(p, layout);
        }
    }
}
