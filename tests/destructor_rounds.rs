//! A pthread key destructor that allocates in every round glibc runs
//! (`PTHREAD_DESTRUCTOR_ITERATIONS`, 4), including the last one, after
//! pymalloc's own destructor: no heap may stay attached to the dead thread.
//! Before the fix, each such thread left an active heap and its arena
//! mapped for good (found by review; 50 threads left 50 heaps and 50 MiB).

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

static KEY: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Allocates, then sets its key again so that glibc runs another round.
extern "C" fn every_round(value: *mut c_void) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    let boxes: Vec<Box<u64>> = (0..10).map(Box::new).collect();
    assert!(boxes.iter().enumerate().all(|(i, b)| **b == i as u64));
    drop(boxes);
    let round = value.addr();
    // SAFETY: the key is valid; the value is a plain counter.
    unsafe {
        libc::pthread_setspecific(
            KEY.load(Ordering::Relaxed) as libc::pthread_key_t,
            std::ptr::without_provenance_mut(round + 1),
        )
    };
}

#[test]
fn no_heap_stays_with_a_thread_that_allocates_in_the_last_round() {
    // pymalloc's exit key first, so that its destructor runs before ours in
    // each round.
    drop(Box::new(1u64));
    std::thread::spawn(|| drop(Box::new(2u64))).join().unwrap();
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: plain key creation.
    let rc = unsafe { libc::pthread_key_create(&mut key, Some(every_round)) };
    assert_eq!(rc, 0);
    KEY.store(key as usize, Ordering::Relaxed);

    const THREADS: usize = 50;
    let before = pymalloc::stats();
    for _ in 0..THREADS {
        std::thread::spawn(|| {
            // SAFETY: the key is valid.
            unsafe {
                libc::pthread_setspecific(
                    KEY.load(Ordering::Relaxed) as libc::pthread_key_t,
                    std::ptr::without_provenance_mut(1),
                )
            };
            let v: Vec<Box<u32>> = (0..100).map(Box::new).collect();
            drop(v);
        })
        .join()
        .unwrap();
    }
    let after = pymalloc::stats();
    let calls = CALLS.load(Ordering::Relaxed);
    // glibc's limit is 4 rounds; every round allocated after pymalloc's
    // destructor had run in the first.
    assert!(calls >= 2 * THREADS, "only {calls} destructor calls");
    // This is the binary's only test: no other thread holds a heap.
    assert_eq!(after.heaps_active, before.heaps_active, "{after}");
    assert!(
        after.arenas_current <= before.arenas_current + 2,
        "arenas of dead threads left mapped: {before} then {after}"
    );
}
