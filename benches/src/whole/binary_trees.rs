//! binary-trees, the benchmarks-game shape, single-threaded, with `Box`
//! nodes: a stretch tree of depth `max + 1`, a long-lived tree of depth
//! `max`, then for each even depth `d` from 4 to `max`, `2^(max - d + 4)`
//! trees of depth `d` built, checked and dropped. Nearly all the work is
//! allocating and freeing 16-byte nodes.

use std::hint::black_box;
use std::time::Instant;

use super::{Metric, ms};

/// The smallest depth iterated.
const MIN_DEPTH: u32 = 4;

/// A tree node: two optional children, 16 bytes.
struct Node {
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// A complete tree of `depth`.
fn bottom_up(depth: u32) -> Box<Node> {
    if depth == 0 {
        Box::new(Node {
            left: None,
            right: None,
        })
    } else {
        Box::new(Node {
            left: Some(bottom_up(depth - 1)),
            right: Some(bottom_up(depth - 1)),
        })
    }
}

/// Nodes in the tree.
fn check(node: &Node) -> u64 {
    1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
}

/// Runs the benchmark with maximum depth `max_depth`; `time_ms` is the
/// whole run.
pub(super) fn run(max_depth: u32) -> Vec<Metric> {
    let max_depth = max_depth.max(MIN_DEPTH + 2);
    let start = Instant::now();
    let stretch = check(&bottom_up(black_box(max_depth + 1)));
    let long_lived = bottom_up(max_depth);
    let mut total = stretch;
    for depth in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations = 1u64 << (max_depth - depth + MIN_DEPTH);
        for _ in 0..iterations {
            total += check(&bottom_up(black_box(depth)));
        }
    }
    total += check(&long_lived);
    drop(long_lived);
    let elapsed = start.elapsed();
    println!("# nodes checked {total}");
    vec![("time_ms", ms(elapsed))]
}
