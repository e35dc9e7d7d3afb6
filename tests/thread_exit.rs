//! The allocator keeps working while thread-local destructors run after its
//! own: a pthread key made after pymalloc's (so its destructor runs later)
//! and a Rust `thread_local!` with a `Drop`, both allocating and freeing at
//! thread exit.

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

static LATE_DTORS: AtomicUsize = AtomicUsize::new(0);
static TLS_DTORS: AtomicUsize = AtomicUsize::new(0);

/// A pthread destructor that runs after pymalloc's has abandoned the heap.
extern "C" fn late_destructor(value: *mut c_void) {
    // SAFETY: the value is a Box<Vec<String>> leaked by the thread.
    let kept = unsafe { Box::from_raw(value.cast::<Vec<String>>()) };
    assert_eq!(kept.len(), 100);
    assert!(
        kept.iter()
            .enumerate()
            .all(|(i, s)| *s == format!("kept {i}"))
    );
    // Allocate and free at this late moment, small and large.
    let fresh: Vec<Box<[u64; 8]>> = (0..1000).map(|i| Box::new([i; 8])).collect();
    assert!(fresh.iter().enumerate().all(|(i, b)| b[7] == i as u64));
    let big = vec![3u8; 100_000];
    assert_eq!(big[99_999], 3);
    drop((kept, fresh, big));
    LATE_DTORS.fetch_add(1, Ordering::Relaxed);
}

/// Boxes on purpose: many small blocks to free at thread exit.
#[allow(clippy::vec_box)]
struct Noisy(Vec<Box<[u8; 32]>>);

impl Drop for Noisy {
    fn drop(&mut self) {
        let more: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(more[99], "99");
        self.0.clear();
        TLS_DTORS.fetch_add(1, Ordering::Relaxed);
    }
}

thread_local! {
    static NOISY: RefCell<Noisy> = const { RefCell::new(Noisy(Vec::new())) };
}

#[test]
fn allocation_inside_later_thread_exit_destructors() {
    // Make sure pymalloc's exit key exists before ours.
    drop(Box::new(1u64));
    std::thread::spawn(|| drop(Box::new(2u64))).join().unwrap();
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: plain key creation.
    let rc = unsafe { libc::pthread_key_create(&mut key, Some(late_destructor)) };
    assert_eq!(rc, 0);

    const THREADS: usize = 200;
    let before = pymalloc::stats();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(move || {
                let kept: Vec<String> = (0..100).map(|i| format!("kept {i}")).collect();
                // SAFETY: the key is valid; the destructor takes the box back.
                unsafe { libc::pthread_setspecific(key, Box::into_raw(Box::new(kept)).cast()) };
                NOISY.with(|n| {
                    n.borrow_mut()
                        .0
                        .extend((0..50).map(|_| Box::new([9u8; 32])))
                });
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(LATE_DTORS.load(Ordering::Relaxed), THREADS);
    assert_eq!(TLS_DTORS.load(Ordering::Relaxed), THREADS);
    let s = pymalloc::stats();
    // Threads that allocated after their heap was abandoned got a heap again
    // and gave it up again: none is left active (this is the binary's only
    // test, so no other thread attaches meanwhile), and heaps are reused,
    // not piled up.
    assert_eq!(s.heaps_active, before.heaps_active, "{s}");
    assert!(s.heaps_active + s.heaps_abandoned <= THREADS + 2, "{s}");
}
