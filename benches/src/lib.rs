//! Benchmarks comparing pymalloc with its peers (issue 5), and the report
//! that puts them side by side.
//!
//! Four ways in, one body of workload code:
//!
//! * `cargo bench -p benches` runs the criterion micro-benchmarks in
//!   `benches/alloc.rs`: each workload of [`micro`] is a criterion group whose
//!   functions are the four allocators of [`shim::Allocator`].
//! * The `wp_system`, `wp_pymalloc`, `wp_mimalloc` and `wp_jemalloc`
//!   binaries each install one allocator as `#[global_allocator]` and run one
//!   whole-program workload of [`whole`], printing [`whole::protocol`] lines.
//! * The `gc_peers` binary runs one GC workload of [`gc_workloads`] on
//!   cyclegc or one of its peers, in a process of its own so a stack
//!   overflow is a result; `gc_peers_pymalloc` does the same for cyclegc with
//!   pymalloc as the global allocator.
//! * `cargo run --release -p benches --bin report` runs short versions of
//!   all of these, allocators and peers interleaved, and writes a markdown
//!   report with SVG charts ([`report`]).
//!
//! ## Modules
//! | module | holds |
//! |---|---|
//! | [`shim`] | the four allocators and the out-of-line calls that give each the same dispatch cost |
//! | [`rng`] | the fixed-seed generator every randomised workload uses |
//! | [`micro`] | micro-benchmarks that call an allocator's `GlobalAlloc` directly |
//! | [`whole`] | whole-program workloads run under a swapped global allocator |
//! | [`gc_workloads`] | the GC benchmarks: cyclegc (under either global allocator), `Rc`, bacon_rajan_cc, dumpster, gc |
//! | [`rss`] | `VmRSS` / `VmHWM` from `/proc/self/status` |
//! | [`report`] | statistics, tables, charts and the runners behind the `report` binary |

pub mod gc_workloads;
pub mod micro;
pub mod report;
pub mod rng;
pub mod rss;
pub mod shim;
pub mod whole;
