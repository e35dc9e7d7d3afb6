//! A short tour: a program that runs with `PyMalloc` as its global
//! allocator, does some real allocation work on several threads, prints the
//! allocator's statistics like CPython's `sys._debugmallocstats()`, then
//! builds a graph full of cycles with `cyclegc` and collects it.
//!
//! Run it with `cargo run --release --example tour`.

use cyclegc::{Gc, Trace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// A graph node for the collector's part of the tour.
#[derive(Trace)]
struct Node {
    id: usize,
    edges: RefCell<Vec<Gc<Node>>>,
}

static NODES_DROPPED: AtomicUsize = AtomicUsize::new(0);

impl Drop for Node {
    fn drop(&mut self) {
        NODES_DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds `n` nodes in a ring with a chord from each node, drops every
/// handle, and lets the cycle collector find them.
fn collect_a_graph(n: usize) {
    let nodes: Vec<Gc<Node>> = (0..n)
        .map(|id| {
            Gc::new(Node {
                id,
                edges: RefCell::default(),
            })
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let mut edges = node.edges.borrow_mut();
        edges.push(nodes[(i + 1) % n].clone());
        edges.push(nodes[(i * 7919) % n].clone());
    }
    let ids: usize = nodes.iter().map(|node| node.id).sum();
    assert_eq!(ids, n * (n - 1) / 2);
    drop(nodes);
    println!(
        "\n{n} graph nodes in cycles, all handles dropped: reference counting freed {}",
        NODES_DROPPED.load(Ordering::Relaxed)
    );
    let start = Instant::now();
    let found = cyclegc::collect();
    let took = start.elapsed();
    println!(
        "cyclegc::collect() found {found} unreachable objects in {:.2} ms; {} nodes dropped now",
        took.as_secs_f64() * 1e3,
        NODES_DROPPED.load(Ordering::Relaxed)
    );
    println!("generation  collections  collected  uncollectable");
    for (g, s) in cyclegc::stats().iter().enumerate() {
        println!(
            "{g:10} {:12} {:10} {:14}",
            s.collections, s.collected, s.uncollectable
        );
    }
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

    // 4. A graph with cycles on cyclegc, whose boxes come from pymalloc.
    collect_a_graph(100_000);
    pymalloc::collect();
    println!(
        "pymalloc after the collection: {} small blocks in use, {} arenas mapped",
        pymalloc::stats().small_blocks_in_use,
        pymalloc::stats().arenas_current
    );
    println!("done in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
}
