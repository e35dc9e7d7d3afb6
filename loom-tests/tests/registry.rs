//! The registry: new threads racing to attach while an abandoned heap waits
//! (exactly one adopts it, the other gets a new heap; no heap is held twice),
//! and the lock-free once-only publication of the thread-exit key.

#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use loom_tests::{Block, assert_all_returned, finish, model};
use pymalloc::model::Registry;

#[test]
fn two_new_threads_and_one_abandoned_heap() {
    model(|| {
        let registry = Registry::new();
        // A thread that has come and gone, leaving a block behind.
        let old = registry.attach();
        let left = Block::alloc(&old, 32, 9);
        finish(old, []);

        let threads: Vec<_> = (0..2)
            .map(|t| {
                let registry = registry.clone();
                thread::spawn(move || {
                    let heap = registry.attach();
                    // Two threads allocating from one heap would race on its
                    // pools, and loom would say so.
                    let mine = Block::alloc(&heap, 32, t);
                    assert_eq!(mine.read(), t);
                    finish(heap, [mine]);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Either both ran at once (one adopted, one made a heap) or one came
        // after the other had exited and adopted the same heap again.
        let heaps = registry.heaps();
        assert!(
            (1..=2).contains(&heaps),
            "{heaps} heaps for 3 threads, never 2 at once"
        );
        left.free_remote();
        assert_all_returned(&registry);
    });
}

#[test]
fn the_exit_key_is_published_once() {
    model(|| {
        let slot = Arc::new(AtomicUsize::new(0));
        let made = Arc::new(AtomicUsize::new(0));
        let unmade = Arc::new(AtomicUsize::new(0));
        let racers: Vec<_> = (1..=2)
            .map(|id| {
                let (slot, made, unmade) = (slot.clone(), made.clone(), unmade.clone());
                thread::spawn(move || {
                    pymalloc::model::publish_once(
                        &slot,
                        || {
                            made.fetch_add(1, Ordering::Relaxed);
                            Some(id)
                        },
                        |lost| {
                            assert_eq!(lost, id, "a racer may only destroy its own key");
                            unmade.fetch_add(1, Ordering::Relaxed);
                        },
                    )
                    .unwrap()
                })
            })
            .collect();
        let got: Vec<usize> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got[0], got[1], "both threads use the published key");
        assert_eq!(got[0], slot.load(Ordering::Relaxed));
        assert_eq!(
            made.load(Ordering::Relaxed) - unmade.load(Ordering::Relaxed),
            1
        );
    });
}
