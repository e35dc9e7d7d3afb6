//! Automatic collection: counts, thresholds, the generation schedule, the
//! 25% rule for full collections, and enable/disable.

use std::cell::RefCell;
use std::rc::Rc;

use cyclegc::{Gc, Phase, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
    })
}

/// Records the generation of every collection that starts.
fn record() -> (Rc<RefCell<Vec<usize>>>, cyclegc::CallbackId) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let id = cyclegc::add_callback(move |info| {
        if info.phase == Phase::Start {
            l.borrow_mut().push(info.generation);
        }
    });
    (log, id)
}

#[test]
fn defaults_are_cpython_3_13() {
    assert_eq!(cyclegc::threshold(), (2000, 10, 10));
    assert!(cyclegc::is_enabled());
    assert_eq!(cyclegc::count(), (0, 0, 0));
}

#[test]
fn count_is_tracked_allocations_minus_deallocations() {
    let mut keep: Vec<_> = (0..50).map(|_| node()).collect();
    assert_eq!(cyclegc::count(), (50, 0, 0));
    let plain: Vec<_> = (0..50).map(Gc::new).collect(); // untracked: not counted
    assert_eq!(cyclegc::count(), (50, 0, 0));
    keep.truncate(30);
    assert_eq!(cyclegc::count(), (30, 0, 0));
    drop(plain);
    cyclegc::collect_generation(0);
    assert_eq!(cyclegc::count(), (0, 1, 0));
    cyclegc::collect_generation(1);
    assert_eq!(cyclegc::count(), (0, 0, 1));
    cyclegc::collect();
    assert_eq!(cyclegc::count(), (0, 0, 0));
    assert_eq!(cyclegc::object_counts(), (0, 0, 30));
}

#[test]
fn generation_0_runs_when_count_exceeds_threshold_0() {
    cyclegc::set_threshold(100, 10, 10);
    let (log, id) = record();
    let keep: Vec<_> = (0..101).map(|_| node()).collect();
    assert!(log.borrow().is_empty());
    assert_eq!(cyclegc::count().0, 101);
    let one_more = node(); // count 101 > 100: collect, then allocate
    assert_eq!(*log.borrow(), [0]);
    assert_eq!(cyclegc::count(), (1, 1, 0));
    assert_eq!(cyclegc::object_counts(), (1, 101, 0));
    drop((keep, one_more));
    cyclegc::remove_callback(id);
}

#[test]
fn generation_schedule_follows_thresholds_1_and_2() {
    cyclegc::set_threshold(5, 3, 1_000_000);
    let (log, id) = record();
    let mut keep = Vec::new();
    for _ in 0..6 * 30 {
        keep.push(node());
    }
    let gens = log.borrow().clone();
    assert!(gens.len() >= 25, "{gens:?}");
    // CPython's rule: generation 1 when its count exceeds 3, i.e. after
    // every four collections of generation 0.
    for (i, g) in gens.iter().enumerate() {
        assert_eq!(*g, if i % 5 == 4 { 1 } else { 0 }, "{gens:?}");
    }
    cyclegc::remove_callback(id);
}

#[test]
fn full_collections_wait_for_25_percent_new_long_lived_objects() {
    cyclegc::disable();
    let mut keep: Vec<_> = (0..1000).map(|_| node()).collect();
    cyclegc::collect(); // 1000 long-lived objects
    cyclegc::set_threshold(5, 1, 1);
    cyclegc::enable();
    let (log, id) = record();
    // Survivors reach generation 2 through generation-1 collections; until
    // 250 of them are pending, generation 2 is skipped (generation 1 runs
    // in its place).
    while log.borrow().iter().all(|&g| g != 2) {
        keep.push(node());
        assert!(keep.len() < 1000 + 400, "no full collection happened");
    }
    let reached = keep.len() - 1000;
    assert!(
        reached >= 250,
        "full collection after only {reached} new objects"
    );
    assert!(reached < 270, "full collection late: {reached}");
    cyclegc::remove_callback(id);
}

#[test]
fn disable_and_enable() {
    cyclegc::set_threshold(10, 10, 10);
    let (log, id) = record();
    cyclegc::disable();
    assert!(!cyclegc::is_enabled());
    let keep: Vec<_> = (0..500).map(|_| node()).collect();
    assert!(log.borrow().is_empty());
    assert_eq!(cyclegc::count().0, 500);
    // Explicit collection still works while disabled.
    let a = node();
    *a.next.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(log.borrow().len(), 1);
    cyclegc::enable();
    let _more: Vec<_> = (0..12).map(|_| node()).collect();
    assert_eq!(log.borrow().len(), 2, "automatic again");
    drop(keep);
    cyclegc::remove_callback(id);
}

#[test]
fn threshold_0_of_zero_disables_automatic_collection() {
    cyclegc::set_threshold(0, 10, 10);
    let (log, id) = record();
    let _keep: Vec<_> = (0..5000).map(|_| node()).collect();
    assert!(log.borrow().is_empty());
    assert!(cyclegc::is_enabled());
    cyclegc::set_threshold(100, 10, 10);
    let _one = node();
    assert_eq!(log.borrow().len(), 1);
    cyclegc::remove_callback(id);
}

#[test]
fn automatic_collection_frees_cycles_without_explicit_calls() {
    cyclegc::set_threshold(50, 10, 10);
    let w = {
        let a = node();
        *a.next.borrow_mut() = Some(a.clone());
        Gc::downgrade(&a)
    };
    let mut keep = Vec::new();
    while w.upgrade().is_some() {
        keep.push(node());
        assert!(keep.len() < 100, "never collected");
    }
}

#[test]
#[should_panic(expected = "invalid generation 3")]
fn collect_generation_rejects_bad_generations() {
    cyclegc::collect_generation(3);
}
