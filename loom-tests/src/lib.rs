//! loom model checks of pymalloc's concurrent protocols.
//!
//! The models run pymalloc's own code: built with `--cfg loom`, every atomic
//! and cell of the allocator comes from its `sync` module as loom's type, pools
//! shrink to 4 KiB and arenas to 16 KiB, and `pymalloc::model` (built only
//! under `cfg(loom)`) opens the heap and registry to explicit use (loom threads
//! have no thread-locals). Blocks carry a loom cell of user data, so loom
//! checks that what a thread wrote into a block before freeing it is visible to
//! the thread that gets the block next.
//!
//! | protocol | model |
//! |---|---|
//! | remote free vs owner drain | `tests/remote_free.rs` |
//! | full pool delivered to the inbox (no lost wake-up) | `tests/full_pool.rs` |
//! | thread exit: abandon, remote frees, adoption | `tests/thread_exit.rs` |
//! | arena release vs a late remote free | `tests/arena_release.rs` |
//! | statistics read while owners update them | `tests/stats.rs` |
//! | first-use heap initialisation: attach race, once-only exit key | `tests/registry.rs` |
//! | the arena map: leaf install race, bits of one word | `tests/arena_map.rs` |
//! | the models have teeth (weakened ordering must fail) | `tests/teeth.rs` |
//!
//! The spare arena needs no model of its own: only a heap's holder touches
//! it, and it changes hands with the heap (the thread-exit model).
//!
//! Run them (in their own target directory, optimised):
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 CARGO_TARGET_DIR=target/loom \
//!   cargo test -p loom-tests --release
//! ```
//!
//! Without `--cfg loom` this crate compiles to nothing.

#[cfg(loom)]
mod helpers {
    use pymalloc::model::{Heap, Registry};

    /// A block address that may cross to another loom thread.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Block(pub usize);

    impl Block {
        /// The block's pointer.
        pub fn ptr(self) -> *mut u8 {
            std::ptr::with_exposed_provenance_mut(self.0)
        }

        /// Allocates `size` bytes from `heap`, stores `value` in the block's
        /// user word and returns it.
        pub fn alloc(heap: &Heap, size: usize, value: usize) -> Block {
            let b = Block::take(heap, size);
            b.write(value);
            b
        }

        /// Allocates `size` bytes from `heap` and leaves the user word as
        /// the block's last owner left it.
        pub fn take(heap: &Heap, size: usize) -> Block {
            // SAFETY: the calling model thread holds `heap`.
            let p = unsafe { heap.alloc(size) };
            assert!(!p.is_null(), "allocation failed");
            Block(p.expose_provenance())
        }

        /// Writes the block's user word (loom checks the access).
        pub fn write(self, value: usize) {
            // SAFETY: the caller owns the live block.
            unsafe { pymalloc::model::payload(self.ptr()) }.with_mut(|p| unsafe { *p = value });
        }

        /// Reads the block's user word (loom checks the access).
        pub fn read(self) -> usize {
            // SAFETY: the caller owns the live block.
            unsafe { pymalloc::model::payload(self.ptr()) }.with(|p| unsafe { *p })
        }

        /// Frees the block through `heap` (locally or remotely, as the
        /// real allocator decides).
        pub fn free(self, heap: &Heap) {
            // SAFETY: the caller owns the live block and holds `heap`.
            unsafe { heap.free(self.ptr()) }
        }

        /// Frees the block from a thread that holds no heap.
        pub fn free_remote(self) {
            // SAFETY: the caller owns the live block.
            unsafe { pymalloc::model::free_remote(self.ptr()) }
        }
    }

    /// Runs `f` under loom's model checker. Like `loom::model` (and reading
    /// the same `LOOM_*` environment variables), but allows more branch
    /// points per execution: a statistics snapshot alone reads about a
    /// hundred counters per heap.
    pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
        let mut builder = loom::model::Builder::new();
        builder.max_branches = 100_000;
        builder.check(f);
    }

    /// Frees every block and abandons `heap` (what a thread's exit does).
    pub fn finish(heap: Heap, blocks: impl IntoIterator<Item = Block>) {
        for b in blocks {
            b.free(&heap);
        }
        // SAFETY: the model thread holds the heap and gives it up.
        unsafe { heap.abandon() };
    }

    /// The end state of every model, once all its threads are done: no
    /// block counted in use, every arena given back to the OS.
    pub fn assert_all_returned(registry: &Registry) {
        let s = registry.stats();
        assert_eq!(s.small_blocks_in_use, 0, "blocks left in use:\n{s}");
        assert_eq!(s.arenas_current, 0, "arenas left mapped:\n{s}");
    }
}

#[cfg(loom)]
pub use helpers::*;

#[cfg(loom)]
mod scenarios {
    use crate::{Block, assert_all_returned, finish};
    use loom::thread;
    use pymalloc::model::Registry;

    /// Two threads free blocks of the owner's pool while the owner allocates
    /// and takes remote frees in; afterwards both blocks come back once each,
    /// and what their freers wrote into them is visible. (A model body:
    /// `tests/remote_free.rs` runs it, `tests/teeth.rs` runs it against a
    /// deliberately weakened build.)
    pub fn remote_free_vs_owner_drain() {
        let registry = Registry::new();
        let owner = registry.attach();
        let a = Block::alloc(&owner, 128, 1);
        let b = Block::alloc(&owner, 128, 2);
        let c = Block::alloc(&owner, 128, 3);

        let freers: Vec<_> = [(b, 20), (c, 30)]
            .into_iter()
            .map(|(block, value)| {
                thread::spawn(move || {
                    assert_eq!(block.read(), value / 10);
                    block.write(value);
                    block.free_remote();
                })
            })
            .collect();

        // Meanwhile the owner allocates and takes in whatever has arrived.
        let d = Block::alloc(&owner, 128, 4);
        // SAFETY: this thread holds `owner`.
        unsafe { owner.collect() };
        for t in freers {
            t.join().unwrap();
        }
        // SAFETY: as above.
        unsafe { owner.collect() };

        // Both blocks come back, once each, with what their freer wrote.
        let mut again = Vec::new();
        let mut seen = [false; 2];
        while !(seen[0] && seen[1]) {
            let p = Block::take(&owner, 128);
            assert!(
                p != a && p != d && !again.contains(&p),
                "block {p:?} handed out twice"
            );
            again.push(p);
            assert!(
                again.len() <= 32,
                "remote frees lost: b {} c {}",
                seen[0],
                seen[1]
            );
            for (i, (x, value)) in [(b, 20), (c, 30)].into_iter().enumerate() {
                if p == x {
                    // The freer's write, made before its free, is visible.
                    assert_eq!(p.read(), value);
                    seen[i] = true;
                }
            }
        }
        assert_eq!(registry.stats().small_blocks_in_use, 2 + again.len());
        finish(owner, [a, d].into_iter().chain(again));
        assert_all_returned(&registry);
    }
}

#[cfg(loom)]
pub use scenarios::*;
