//! The GC workloads, generic over a [`GcHeap`] peer. Each returns its
//! metrics (the unit is the name's suffix: `_ms`, `_ns`, `_us`; `leaked_nodes`
//! is a count). Sizes come from [`GcWorkload::default_param`](super::GcWorkload).

use std::hint::black_box;
use std::time::Instant;

use super::heap::{GcHeap, live_nodes};
use crate::rng::Rng;
use crate::whole::{Metric, ms};

/// A random graph under `ops` operations, each one of: make a node (a new
/// root), add an edge between two random roots, drop a random root, drop a
/// random root's last edge. Then every root is dropped and the peer
/// collects. `time_ms` is all of it; `leaked_nodes` what is left.
pub fn random_graph<H: GcHeap>(ops: u64) -> Vec<Metric> {
    let mut rng = Rng::with_stream(400);
    let before = live_nodes();
    let start = Instant::now();
    let mut roots: Vec<H::Ptr> = Vec::new();
    for i in 0..ops {
        let choice = rng.below(4);
        if roots.is_empty() || choice == 0 {
            roots.push(H::new_node());
        } else if choice == 1 {
            let a = rng.below(roots.len());
            let b = rng.below(roots.len());
            H::push_edge(&roots[a], roots[b].clone());
        } else if choice == 2 {
            let a = rng.below(roots.len());
            drop(roots.swap_remove(a));
        } else {
            let a = rng.below(roots.len());
            drop(H::pop_edge(&roots[a]));
        }
        H::after_op(i);
    }
    drop(roots);
    H::collect();
    let elapsed = start.elapsed();
    vec![
        ("time_ms", ms(elapsed)),
        ("leaked_nodes", (live_nodes() - before) as f64),
    ]
}

/// Acyclic garbage: chains of 100 nodes, each pointing to the one before,
/// made and dropped until `nodes` nodes have been. No collection is asked
/// for (a peer's own trigger may run). `ns_per_node` is the cost of making
/// and freeing one node.
pub fn acyclic<H: GcHeap>(nodes: u64) -> Vec<Metric> {
    const CHAIN: u64 = 100;
    let start = Instant::now();
    for _ in 0..nodes.div_ceil(CHAIN) {
        let mut head = H::new_node();
        for _ in 1..CHAIN {
            let next = H::new_node();
            H::push_edge(&next, head);
            head = next;
        }
        drop(black_box(head));
    }
    let elapsed = start.elapsed();
    vec![(
        "ns_per_node",
        elapsed.as_secs_f64() * 1e9 / (nodes.div_ceil(CHAIN) * CHAIN) as f64,
    )]
}

/// A complete binary tree of `depth` whose children point back to their
/// parent (every edge is in a cycle).
fn parent_tree<H: GcHeap>(depth: u32, parent: Option<&H::Ptr>) -> H::Ptr {
    let node = H::new_node();
    if let Some(p) = parent {
        H::push_edge(&node, p.clone());
    }
    if depth > 0 {
        let left = parent_tree::<H>(depth - 1, Some(&node));
        H::push_edge(&node, left);
        let right = parent_tree::<H>(depth - 1, Some(&node));
        H::push_edge(&node, right);
    }
    node
}

/// GCBench's shape with parent pointers: a long-lived tree of `depth` stays
/// up while 8 short-lived trees of `depth` are built, dropped and collected
/// one after another. `time_ms` is all of it; `leaked_nodes` what is left
/// once the long-lived tree is dropped too and a last collection ran.
pub fn gcbench<H: GcHeap>(depth: u32) -> Vec<Metric> {
    let before = live_nodes();
    let start = Instant::now();
    let long_lived = parent_tree::<H>(depth, None);
    for _ in 0..8 {
        drop(black_box(parent_tree::<H>(depth, None)));
        H::collect();
    }
    drop(long_lived);
    H::collect();
    let elapsed = start.elapsed();
    vec![
        ("time_ms", ms(elapsed)),
        ("leaked_nodes", (live_nodes() - before) as f64),
    ]
}

/// A live doubly linked chain of `n` nodes (each points to the next and
/// back), rooted at its head; the time of one full collection that must
/// walk all of it, as `ns_per_object`. The chain is left alive (the process
/// exits next), so no recursive drop is measured or risked.
///
/// With `GC_PEERS_REPEAT=k` in the environment, `k` more full collections
/// of the same chain follow, each printed as a `# again` line, and their
/// median is reported as `repeat_ns_per_object`: many samples from one
/// process, for comparing two builds of one collector (a fresh process per
/// sample spreads by ±20% here).
pub fn full_collection<H: GcHeap>(n: u64) -> Vec<Metric> {
    let head = H::new_node();
    let mut tail = head.clone();
    for _ in 1..n {
        let next = H::new_node();
        H::push_edge(&tail, next.clone());
        H::push_edge(&next, tail);
        tail = next;
    }
    drop(tail);
    H::make_candidate(&head);
    let per_object = |d: std::time::Duration| d.as_secs_f64() * 1e9 / n as f64;
    let start = Instant::now();
    H::collect();
    let elapsed = start.elapsed();
    let kept = live_nodes();
    let mut metrics = vec![("ns_per_object", per_object(elapsed))];
    let repeat: usize = std::env::var("GC_PEERS_REPEAT")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(0);
    if repeat > 0 {
        let mut again: Vec<f64> = (0..repeat)
            .map(|_| {
                // Each collection starts from a candidate again, as the
                // first did (the peers that trace from candidates forget
                // them once collected).
                H::make_candidate(&head);
                let start = Instant::now();
                H::collect();
                let t = per_object(start.elapsed());
                println!("# again {t:.2}");
                t
            })
            .collect();
        again.sort_by(f64::total_cmp);
        metrics.push(("repeat_ns_per_object", again[again.len() / 2]));
    }
    std::mem::forget(head);
    println!("# live nodes after the collection {kept}");
    metrics
}

/// Young-collection pauses: `old` nodes live (children of one root, so no
/// long chain), then 20 rounds of 350 garbage two-node cycles made and
/// dropped, each followed by a collection (of the youngest generation,
/// where the peer has generations). `pause_us` is the median pause; a
/// generational collector need not look at the old nodes.
pub fn young_pause<H: GcHeap>(old: u64) -> Vec<Metric> {
    let root = H::node_with((0..old).map(|_| H::new_node()).collect());
    H::collect();
    let mut pauses = Vec::new();
    for _ in 0..20 {
        for _ in 0..350 {
            let a = H::new_node();
            let b = H::new_node();
            H::push_edge(&a, b.clone());
            H::push_edge(&b, a);
        }
        let start = Instant::now();
        H::collect_young();
        pauses.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let pause = crate::report::stats::median(&pauses).unwrap_or(f64::NAN);
    std::mem::forget(root);
    vec![("pause_us", pause)]
}
