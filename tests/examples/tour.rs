//! A short tour of pymalloc: a program that runs with `PyMalloc` as its
//! global allocator, does some real allocation work on several threads, and
//! prints the allocator's statistics like CPython's
//! `sys._debugmallocstats()`.
//!
//! Run it with `cargo run --release --example tour`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

/// A tiny deterministic word generator, so the tour needs no input file.
fn words(seed: u64, n: usize) -> impl Iterator<Item = String> {
    const SYLLABLES: [&str; 12] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "py", "th", "on", "gc",
    ];
    let mut state = seed;
    (0..n).map(move |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = 1 + (state >> 60) as usize % 4;
        (0..len)
            .map(|i| SYLLABLES[(state >> (8 * i + 8)) as usize % SYLLABLES.len()])
            .collect()
    })
}

fn main() {
    let start = Instant::now();

    // 1. Word frequencies: many small strings and a growing hash map.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in words(42, 400_000) {
        *counts.entry(word).or_default() += 1;
    }
    let mut top: Vec<(&String, &usize)> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("{} distinct words; the most frequent:", counts.len());
    for (word, n) in top.iter().take(5) {
        println!("  {word:<10} {n}");
    }

    // 2. Four threads build records; the main thread frees them (remote
    //    frees into heaps whose threads have exited).
    let (tx, rx) = mpsc::channel::<Vec<Box<[u64; 6]>>>();
    let producers: Vec<_> = (0..4u64)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for batch in 0..50 {
                    let records = (0..2_000)
                        .map(|i| Box::new([t, batch, i, 0, 0, 0]))
                        .collect();
                    tx.send(records).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let received: Vec<Vec<Box<[u64; 6]>>> = rx.iter().collect();
    for p in producers {
        p.join().unwrap();
    }
    let records: usize = received.iter().map(Vec::len).sum();

    let live = pymalloc::stats();
    println!("\n{records} records from 4 threads, plus the word map, live:\n");
    print!("{live}");

    // 3. Free it all, here, and let the allocator give memory back.
    drop(received);
    drop(top);
    drop(counts);
    pymalloc::collect();
    let after = pymalloc::stats();
    println!(
        "\nafter freeing: {} small blocks in use; {} of the {} arenas ever mapped given back to the OS, {} still mapped",
        after.small_blocks_in_use,
        after.arenas_reclaimed_total,
        after.arenas_allocated_total,
        after.arenas_current
    );
    println!("done in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
}
