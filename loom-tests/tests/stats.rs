//! Statistics read by `stats()` while owners update them: every figure is a
//! whole, plausible value (no torn or "negative" count) at every moment.

#![cfg(loom)]

use loom::thread;
use loom_tests::{Block, assert_all_returned, finish, model};
use pymalloc::model::Registry;

#[test]
fn snapshots_taken_while_owners_update() {
    model(|| {
        let registry = Registry::new();
        let reader = {
            let registry = registry.clone();
            thread::spawn(move || {
                let s = registry.stats();
                assert!(s.small_blocks_in_use <= 3, "{s}");
                assert!(s.arenas_current <= 1 && s.arenas_highwater <= 1, "{s}");
                assert!(s.heaps_active + s.heaps_abandoned <= 1, "{s}");
                let per_class: usize = s.classes.iter().map(|c| c.blocks_in_use).sum();
                assert_eq!(per_class, s.small_blocks_in_use);
                for c in &s.classes {
                    assert!(c.blocks_in_use <= 3 && c.blocks_available <= 256, "{s}");
                }
            })
        };
        let owner = registry.attach();
        let a = Block::alloc(&owner, 64, 1);
        let b = Block::alloc(&owner, 64, 2);
        b.free(&owner);
        let c = Block::alloc(&owner, 200, 3);
        reader.join().unwrap();
        finish(owner, [a, c]);
        assert_all_returned(&registry);
    });
}
