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

#[test]
fn exiting_thread_collects_its_cycles() {
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    std::thread::spawn(move || {
        cyclegc::disable();
        for _ in 0..100 {
            let a = Gc::new(Node {
                next: RefCell::new(None),
                finalized: f.clone(),
                dropped: d.clone(),
            });
            let b = Gc::new(Node {
                next: RefCell::new(Some(a.clone())),
                finalized: f.clone(),
                dropped: d.clone(),
            });
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
