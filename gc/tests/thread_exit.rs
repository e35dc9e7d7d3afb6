//! When a thread exits, a final collection frees its cycles.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cyclegc::{Finalize, Gc, Trace};

#[derive(Trace)]
#[trace(finalize)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[trace(skip)]
    finalized: Arc<AtomicUsize>,
    #[trace(skip)]
    dropped: Arc<AtomicUsize>,
}

impl Finalize for Node {
    fn finalize(&self) {
        self.finalized.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A node counting its finalizations in `f` and its drops in `d`.
fn node(next: Option<Gc<Node>>, f: &Arc<AtomicUsize>, d: &Arc<AtomicUsize>) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(next),
        finalized: f.clone(),
        dropped: d.clone(),
    })
}

#[test]
fn exiting_thread_collects_its_cycles() {
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    std::thread::spawn(move || {
        cyclegc::disable();
        for _ in 0..100 {
            let a = node(None, &f, &d);
            let b = node(Some(a.clone()), &f, &d);
            *a.next.borrow_mut() = Some(b);
        }
        assert_eq!(d.load(Ordering::SeqCst), 0, "nothing freed before exit");
    })
    .join()
    .unwrap();
    assert_eq!(finalized.load(Ordering::SeqCst), 200);
    assert_eq!(dropped.load(Ordering::SeqCst), 200);
}

#[test]
fn threads_have_separate_collectors() {
    cyclegc::set_threshold(123, 4, 5);
    let other = std::thread::spawn(|| {
        let _g = Gc::new(RefCell::new(Vec::<Gc<u8>>::new()));
        (cyclegc::threshold(), cyclegc::count())
    })
    .join()
    .unwrap();
    assert_eq!(other, ((2000, 10, 10), (1, 0, 0)));
    assert_eq!(cyclegc::threshold(), (123, 4, 5));
    assert_eq!(cyclegc::count(), (0, 0, 0));
}

thread_local! {
    /// A thread-local with a destructor, first used before the collector.
    static ROOT: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

/// Thread-locals are destroyed in the reverse order of their first use, so
/// `ROOT` (used before the thread's first `Gc`) is destroyed after the
/// collector's thread-local exit collection has run. The cycle it was the
/// last root of is found by the collection that runs after every
/// thread-local destructor (found by review: it leaked).
#[test]
fn cycle_rooted_in_an_older_thread_local_is_collected_at_exit() {
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    std::thread::spawn(move || {
        ROOT.with(|_| {});
        let a = node(None, &f, &d);
        let b = node(Some(a.clone()), &f, &d);
        *a.next.borrow_mut() = Some(b);
        ROOT.with(|r| *r.borrow_mut() = Some(a));
    })
    .join()
    .unwrap();
    assert_eq!(finalized.load(Ordering::SeqCst), 2);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}
