//! A full pool receiving a remote free: the pool left its class list when it
//! filled up, so only the notice the free delivers to the heap's inbox can
//! bring it back. No lost wake-up: the freed block becomes allocatable again,
//! before the heap needs yet another pool.

#![cfg(loom)]

use loom::thread;
use loom_tests::{Block, assert_all_returned, finish, model};
use pymalloc::model::{Registry, same_pool};

/// Fills one pool of 512-byte blocks; returns its blocks and the first block
/// of the next pool (whose allocation took the full pool off the list).
fn fill_a_pool(owner: &pymalloc::model::Heap) -> (Vec<Block>, Block) {
    let mut full = vec![Block::alloc(owner, 512, 1)];
    loop {
        let b = Block::alloc(owner, 512, 1);
        if !same_pool(b.ptr(), full[0].ptr()) {
            return (full, b);
        }
        full.push(b);
    }
}

#[test]
fn remote_free_into_a_full_pool_is_not_lost() {
    model(|| {
        let registry = Registry::new();
        let owner = registry.attach();
        let (mut full, next) = fill_a_pool(&owner);
        let pools_before = registry.stats().pools_in_use;
        let freed = full.pop().unwrap();

        let freer = thread::spawn(move || {
            freed.write(7);
            freed.free_remote();
        });
        // The owner goes on allocating (from the next pool) meanwhile, and
        // its slow path takes in the inbox.
        let other = Block::alloc(&owner, 512, 2);
        // SAFETY: this thread holds `owner`.
        unsafe { owner.collect_inbox() };
        freer.join().unwrap();
        // SAFETY: as above.
        unsafe { owner.collect_inbox() };

        // The freed block comes back before any new pool is taken.
        let mut got = Vec::new();
        loop {
            let b = Block::take(&owner, 512);
            got.push(b);
            if b == freed {
                assert_eq!(b.read(), 7);
                break;
            }
            assert!(
                registry.stats().pools_in_use <= pools_before,
                "a new pool was taken while the freed block was never seen again"
            );
        }
        finish(owner, full.into_iter().chain([next, other]).chain(got));
        assert_all_returned(&registry);
    });
}
