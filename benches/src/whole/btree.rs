//! A `BTreeMap<String, Vec<u64>>` built from random keys (17-byte strings)
//! with values of 0 to 8 numbers, looked up once per key, then dropped.
//! Mixed small blocks: B-tree nodes, key strings, value vectors.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use super::{Metric, ms};
use crate::rng::Rng;

/// Builds a map of `keys` random keys, looks each up, drops it. Metrics:
/// `build_ms`, `drop_ms`, and `time_ms` for the whole.
pub(super) fn run(keys: usize) -> Vec<Metric> {
    let mut rng = Rng::with_stream(300);
    let start = Instant::now();
    let mut map: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for _ in 0..keys {
        let key = format!("k{:016x}", rng.next_u64());
        let len = rng.below(9);
        let value: Vec<u64> = (0..len as u64).collect();
        map.insert(key, value);
    }
    let mut sum = 0u64;
    let mut probe = Rng::with_stream(300);
    for _ in 0..keys {
        let key = format!("k{:016x}", probe.next_u64());
        probe.below(9);
        sum += map.get(&key).map_or(0, |v| v.len() as u64);
    }
    let built = start.elapsed();
    let len = black_box(&map).len();
    drop(map);
    let total = start.elapsed();
    println!("# keys {len} values {sum}");
    vec![
        ("time_ms", ms(total)),
        ("build_ms", ms(built)),
        ("drop_ms", ms(total - built)),
    ]
}
