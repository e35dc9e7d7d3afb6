//! Whole-program workloads, run under a swapped *global* allocator.
//!
//! **How the allocator is swapped.** One binary per allocator
//! (`src/bin/wp_system.rs`, `wp_pymalloc.rs`, `wp_mimalloc.rs`,
//! `wp_jemalloc.rs`), each a three-line file with a plain
//! `#[global_allocator] static` and a call to [`child::main`]. This is the
//! configuration a real program has, so the dispatch cost is exactly the real
//! one for each allocator (`__rust_alloc` with the allocator's method inlined
//! into it), there is no indirection that only a benchmark would pay, and no
//! allocation can ever be made by one allocator and freed by another (the
//! allocator is fixed at link time, before the first allocation). A single
//! binary choosing at start-up would need an env-var read before `main`
//! without allocating and a forwarding layer on every call; separate
//! binaries need neither.
//!
//! Each run of a binary runs one workload in a fresh process (so peak RSS
//! belongs to that workload alone) and prints its results in the
//! [`protocol`] line format, which the report parses.
//!
//! | file | workload |
//! |---|---|
//! | `binary_trees` | the benchmarks-game binary-trees with `Box` nodes |
//! | `json` | serde_json parse + serialize round trip of a generated document |
//! | `btree` | `BTreeMap<String, Vec<u64>>` build and teardown |
//! | `memory` | RSS with millions of 64-byte blocks live, then after freeing them |
//! | `protocol` | the `RESULT <metric> <value>` line format |
//! | `child` | `main` of the `wp_*` binaries |

mod binary_trees;
mod btree;
pub mod child;
mod json;
mod memory;
pub mod protocol;

/// A measured value: metric name (its unit is the suffix: `_ms`, `_mib`) and
/// value.
pub type Metric = (&'static str, f64);

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// The report's smoke size: a fraction of a second per run.
    Quick,
    /// The size the numbers are quoted at.
    Full,
}

/// One whole-program workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whole {
    /// binary-trees.
    BinaryTrees,
    /// JSON round trip.
    Json,
    /// `BTreeMap<String, Vec<u64>>` build and teardown.
    BTree,
    /// Resident memory with many small blocks live and after they are freed.
    Memory,
}

impl Whole {
    /// All workloads, in report order.
    pub const ALL: [Whole; 4] = [Whole::BinaryTrees, Whole::Json, Whole::BTree, Whole::Memory];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Whole::BinaryTrees => "binary_trees",
            Whole::Json => "json_roundtrip",
            Whole::BTree => "btreemap",
            Whole::Memory => "memory_64b",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The size parameter at `scale`: tree depth, document KiB, map keys, or
    /// blocks.
    pub const fn default_param(self, scale: Scale) -> u64 {
        match (self, scale) {
            (Whole::BinaryTrees, Scale::Full) => 16,
            (Whole::BinaryTrees, Scale::Quick) => 12,
            (Whole::Json, Scale::Full) => 4096,
            (Whole::Json, Scale::Quick) => 256,
            (Whole::BTree, Scale::Full) => 500_000,
            (Whole::BTree, Scale::Quick) => 20_000,
            (Whole::Memory, Scale::Full) => 4_000_000,
            (Whole::Memory, Scale::Quick) => 200_000,
        }
    }

    /// The size of a run at `param`, in words, for the report.
    pub fn describe(self, param: u64) -> String {
        match self {
            Whole::BinaryTrees => format!("depth {param}"),
            Whole::Json => format!("{param} KiB doc, 4 round trips"),
            Whole::BTree => format!("{param} keys"),
            Whole::Memory => format!("{param} blocks of 64 B"),
        }
    }

    /// Runs the workload at size `param`; returns its metrics.
    pub fn run(self, param: u64) -> Vec<Metric> {
        match self {
            Whole::BinaryTrees => binary_trees::run(param as u32),
            Whole::Json => json::run(param as usize * 1024),
            Whole::BTree => btree::run(param as usize),
            Whole::Memory => memory::run(param as usize),
        }
    }
}

/// Milliseconds in `d`.
pub(crate) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
