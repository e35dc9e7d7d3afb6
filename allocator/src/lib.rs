//! # pymalloc
//!
//! A `#[global_allocator]` modelled on CPython's small-object allocator
//! (obmalloc), made thread-safe the way mimalloc is: per-thread heaps and a
//! lock-free path for frees from other threads.
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;
//! # fn main() {}
//! ```
//!
//! ## The design in a page
//!
//! **Size classes.** Requests of 1..=512 bytes with alignment at most 16 are
//! rounded up to a multiple of 16: 32 classes. Everything else (larger,
//! over-aligned, zero-sized) goes to the system allocator, as in CPython.
//!
//! **Pools and arenas.** A pool is 16 KiB of blocks of one class. An arena
//! is 1 MiB from `mmap`, aligned to 1 MiB, holding 64 pools; its header is
//! at its start, followed by a table of the 64 pool headers (128 bytes
//! each). A block's arena header is its address masked to 1 MiB, its pool
//! header entry `(address >> 14) & 63` of that table: `dealloc` never
//! searches. Blocks are carved lazily with a bump offset, 4 KiB at a time;
//! freed blocks are threaded onto lists through their first word.
//!
//! **Heaps.** Each thread owns a heap: per class, a list of partly used pools
//! carved from arenas the heap owns. Allocation pops the first block of the
//! first pool's `free` list; a free on the owning thread pushes onto the
//! pool's `local_free` list. Neither uses an atomic read-modify-write or a
//! lock. When `free` runs dry the slow path swaps in `local_free` and the
//! blocks other threads freed, carves more, moves to the next pool, or takes
//! a new pool from the busiest arena.
//!
//! **Other threads.** A free from a thread that does not own the block's
//! pool is one CAS onto the pool's remote list. A full pool is off every list,
//! so the first remote free into it also delivers the pool to its heap's
//! inbox, and the owner puts it back to use on its next slow path: no
//! scanning. When a thread exits, its heap is abandoned: a new thread adopts
//! it (blocks, pools and arenas), and meanwhile a thread that frees into it
//! claims it for a moment to take the free in, so memory freed after its
//! thread died is neither lost nor kept. See `remote.rs` for the protocol.
//!
//! **Memory back to the OS.** obmalloc's policy: new pools come from the
//! busiest arena, a wholly free arena is unmapped, and each heap keeps at
//! most one spare. An empty pool returns to its arena at once unless it is
//! its class's current pool (and even then not if empty current pools are
//! all that keeps an arena mapped beside the spare).
//!
//! **Statistics.** [`stats()`] sums owner-written counters of every heap into
//! a [`Stats`], which prints like `sys._debugmallocstats()`.
//!
//! **Never allocates, panics or blocks inside.** No `std::env`, no
//! formatting, no thread-local with a destructor: the thread's heap pointer
//! is a `const`-initialised thread-local, and thread exit is a
//! `pthread_key_create` destructor. Out of memory returns null. Debug builds
//! stop with a clear message on a double free, an interior or foreign
//! pointer, or a layout of the wrong class.
//!
//! ## Modules
//! | module | holds |
//! |---|---|
//! | `global` | the `GlobalAlloc` face: small or large, `realloc` across the line |
//! | `size_class` | the constants and size/class arithmetic |
//! | `heap` | one thread's heap: fast paths inline, slow paths out of line |
//! | `pool` | pool header, lazy carving, the free lists |
//! | `arena` | arena header, handing out pools, the release policy |
//! | `remote` | frees from other threads: remote lists, the inbox, holding a heap |
//! | `registry` | every heap, adoption of abandoned ones |
//! | `thread` | the thread-local heap pointer, attach, thread exit |
//! | `large` | requests handed to the system allocator |
//! | `stats` | counters, the [`Stats`] snapshot and its table |
//! | `os` | mmap/munmap, aligned arenas, the fatal-error report |
//! | `arena_map` | "is this address one of our arenas?" |
//! | `debug`, `sanitizer` | debug-build misuse checks; ASan annotations |
//! | `sync` | atomics and cells: std normally, loom under `cfg(loom)` |

#![cfg_attr(loom, allow(dead_code))]

mod arena;
mod arena_map;
mod debug;
#[cfg(not(loom))]
mod global;
mod heap;
#[cfg(not(loom))]
mod large;
mod os;
mod pool;
mod registry;
mod remote;
mod sanitizer;
pub mod size_class;
mod stats;
mod sync;
#[cfg(not(loom))]
mod thread;

#[cfg(loom)]
pub mod model;

#[cfg(not(loom))]
pub use global::PyMalloc;
pub use stats::{ClassStats, Stats};

/// A snapshot of the allocator's statistics over all threads.
///
/// ```
/// let s = pymalloc::stats();
/// assert!(s.arenas_allocated_total >= s.arenas_reclaimed_total);
/// print!("{s}"); // a table like CPython's sys._debugmallocstats()
/// ```
#[cfg(not(loom))]
pub fn stats() -> Stats {
    stats::snapshot(&thread::REGISTRY)
}

/// Takes in the blocks other threads have freed into the calling thread's
/// heap, and gives back to the OS what the heap no longer needs: its empty
/// pools (also those kept as their class's current one) and its spare arena.
///
/// Not needed for correctness: a heap takes remote frees in on its own slow
/// path, and [`stats()`] counts them from then on. Call it after a phase of
/// work, before measuring, or on a thread about to sleep for long.
///
/// ```
/// let v: Vec<Box<[u8; 100]>> = (0..10_000).map(|_| Box::new([7; 100])).collect();
/// let handle = std::thread::spawn(move || drop(v)); // freed by another thread
/// handle.join().unwrap();
/// pymalloc::collect();
/// ```
#[cfg(not(loom))]
pub fn collect() {
    let heap = thread::current();
    if !thread::is_placeholder(heap) {
        // SAFETY: the calling thread holds its heap.
        unsafe { heap.collect() };
    }
}

/// Whether `ptr` points into one of pymalloc's live arenas, that is, whether
/// it could be a small block pymalloc handed out. Reads no memory at `ptr`.
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// let layout = Layout::new::<[u64; 4]>();
/// // SAFETY: non-zero layout, freed with the same layout.
/// unsafe {
///     let p = pymalloc::PyMalloc.alloc(layout);
///     assert!(pymalloc::owns(p));
///     pymalloc::PyMalloc.dealloc(p, layout);
/// }
/// let on_stack = 0u8;
/// assert!(!pymalloc::owns(&on_stack));
/// ```
#[cfg(not(loom))]
pub fn owns(ptr: *const u8) -> bool {
    arena_map::ARENA_MAP.contains(ptr)
}
