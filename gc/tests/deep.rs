//! Deep structures: releasing and collecting ten-million-node chains needs
//! no stack proportional to their length (`Rc` overflows an 8 MiB stack
//! dropping a chain of a few hundred thousand).

use std::cell::RefCell;

use cyclegc::{Gc, Trace};

const N: usize = 10_000_000;

#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
}

#[derive(Trace)]
struct Double {
    next: RefCell<Option<Gc<Double>>>,
    prev: RefCell<Option<Gc<Double>>>,
}

fn on_stack<F: FnOnce() + Send + 'static>(bytes: usize, f: F) {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic, no overflow");
}

#[test]
fn dropping_a_ten_million_chain_on_an_8_mib_stack() {
    on_stack(8 << 20, || {
        cyclegc::disable(); // this test is about the release path only
        let mut head = None;
        for _ in 0..N {
            head = Some(Gc::new(Link { next: head }));
        }
        assert_eq!(cyclegc::object_counts().0, N);
        drop(head);
        assert_eq!(cyclegc::object_counts(), (0, 0, 0));
    });
}

#[test]
fn dropping_a_ten_million_untracked_chain_of_boxes_is_not_our_business() {
    // A chain of untracked boxes nests through `Drop` of the value only when
    // the value type holds a `Gc`, which untracked types cannot: so the
    // deep case is always a tracked one. Check the claim's premise.
    const { assert!(!<Option<Box<u64>> as Trace>::MAY_CONTAIN_GC) };
    const { assert!(<Option<Gc<Link>> as Trace>::MAY_CONTAIN_GC) };
}

/// Builds a doubly linked chain of `n` nodes; returns its first node.
fn chain(n: usize) -> Gc<Double> {
    let first = Gc::new(Double {
        next: RefCell::new(None),
        prev: RefCell::new(None),
    });
    let mut last = first.clone();
    for _ in 1..n {
        let node = Gc::new(Double {
            next: RefCell::new(None),
            prev: RefCell::new(Some(last.clone())),
        });
        *last.next.borrow_mut() = Some(node.clone());
        last = node;
    }
    first
}

#[test]
fn full_collection_of_a_ten_million_chain_on_the_default_stack() {
    // Runs on the test harness's thread (2 MiB by default).
    cyclegc::disable();
    let first = chain(N);
    assert_eq!(cyclegc::collect(), 0, "all reachable");
    assert_eq!(cyclegc::object_counts(), (0, 0, N));
    // Now make the whole chain garbage: one 10M-object cycle structure.
    drop(first);
    assert_eq!(cyclegc::collect(), N);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}

#[test]
fn garbage_cycle_holding_a_long_frozen_tail() {
    cyclegc::disable();
    let mut tail = None;
    for _ in 0..1_000_000 {
        tail = Some(Gc::new(Link { next: tail }));
    }
    // Frozen objects are never candidates: when the holder's value is
    // dropped by the collector, the tail goes by reference counting, a
    // million nested releases that must be queued, not recursed.
    cyclegc::freeze();
    assert_eq!(cyclegc::freeze_count(), 1_000_000);
    #[derive(Trace)]
    struct Holder {
        me: RefCell<Option<Gc<Holder>>>,
        tail: Option<Gc<Link>>,
    }
    let h = Gc::new(Holder {
        me: RefCell::new(None),
        tail,
    });
    *h.me.borrow_mut() = Some(h.clone());
    drop(h);
    assert_eq!(cyclegc::collect(), 1);
    assert_eq!(cyclegc::freeze_count(), 0);
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}
