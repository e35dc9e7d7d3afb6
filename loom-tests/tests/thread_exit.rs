//! Thread exit: a heap is abandoned while another thread frees blocks into
//! its pools, and a third thread adopts it (or makes a heap of its own,
//! depending on timing). No block is lost or owned twice: the adopter's
//! allocations never hand out a block the freeing thread still owns (loom
//! would see the two threads' accesses to its user word race), every block
//! is counted free at the end, and every arena goes back.

#![cfg(loom)]

use loom::thread;
use loom_tests::{Block, assert_all_returned, finish, model};
use pymalloc::model::Registry;

#[test]
fn abandon_while_freeing_while_adopting() {
    model(|| {
        let registry = Registry::new();

        // The exiting thread: allocates, hands two blocks to a freeing
        // thread, and exits (abandons its heap) while that one frees them.
        let exiting = {
            let registry = registry.clone();
            thread::spawn(move || {
                let heap = registry.attach();
                let keep = Block::alloc(&heap, 64, 1);
                let given = [Block::alloc(&heap, 64, 10), Block::alloc(&heap, 64, 20)];
                let freeing = thread::spawn(move || {
                    for (b, value) in given.into_iter().zip([10, 20]) {
                        assert_eq!(b.read(), value);
                        b.write(value + 1);
                        b.free_remote();
                    }
                });
                finish(heap, [keep]);
                freeing
            })
        };

        // A new thread: adopts the abandoned heap if it is there by now.
        let newcomer = {
            let registry = registry.clone();
            thread::spawn(move || {
                let heap = registry.attach();
                let mine = [Block::alloc(&heap, 64, 100), Block::alloc(&heap, 64, 200)];
                assert_ne!(mine[0], mine[1]);
                assert_eq!(mine[0].read() + mine[1].read(), 300);
                finish(heap, mine);
            })
        };

        let freeing = exiting.join().unwrap();
        freeing.join().unwrap();
        newcomer.join().unwrap();
        assert_all_returned(&registry);
        let s = registry.stats();
        // Both threads exited: one or two heaps (two if the newcomer came
        // before the exit), all abandoned.
        assert!(
            s.heaps_active == 0 && (1..=2).contains(&s.heaps_abandoned),
            "{s}"
        );
    });
}
