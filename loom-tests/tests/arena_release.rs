//! Arena release racing a late remote free: the last block of an arena is
//! freed by another thread while the arena's heap gives memory back (its
//! owner collecting, or its exiting thread abandoning it). The arena is never
//! unmapped while that free is in flight: a freer that consumed `NOTIFY`
//! still writes the pool's inbox link after its push, and the pool stays
//! mapped until then. (Touching an unmapped arena would crash the model.)

#![cfg(loom)]

use loom::thread;
use loom_tests::{Block, assert_all_returned, finish, model};
use pymalloc::model::Registry;

#[test]
fn owner_collects_while_the_last_block_is_freed_remotely() {
    model(|| {
        let registry = Registry::new();
        let owner = registry.attach();
        let last = Block::alloc(&owner, 256, 5);
        let freer = thread::spawn(move || {
            last.write(6);
            last.free_remote();
        });
        // Gives back empty pools and the spare arena whenever it can.
        // SAFETY: this thread holds `owner`.
        unsafe { owner.collect() };
        // SAFETY: as above.
        unsafe { owner.collect() };
        freer.join().unwrap();
        finish(owner, []);
        assert_all_returned(&registry);
    });
}

#[test]
fn exiting_thread_abandons_while_the_last_block_is_freed_remotely() {
    model(|| {
        let registry = Registry::new();
        let exiting = {
            let registry = registry.clone();
            thread::spawn(move || {
                let heap = registry.attach();
                let last = Block::alloc(&heap, 256, 5);
                let freer = thread::spawn(move || {
                    last.write(6);
                    last.free_remote();
                });
                // Abandoning arms the pool: the free consumes NOTIFY and
                // either finds the heap still held or claims it.
                finish(heap, []);
                freer
            })
        };
        exiting.join().unwrap().join().unwrap();
        assert_all_returned(&registry);
    });
}
