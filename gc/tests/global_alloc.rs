//! The same behaviour with pymalloc as the program's global allocator, so
//! the values' own heap data and the boxes share its pools.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;

use common::{Rng, drops_of, record_drop, reset_drops};
use cyclegc::{Gc, Trace};

#[global_allocator]
static ALLOC: pymalloc::PyMalloc = pymalloc::PyMalloc;

#[derive(Trace)]
struct Node {
    #[trace(skip)]
    id: usize,
    payload: Vec<u64>,
    edges: RefCell<HashMap<usize, Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        assert_eq!(self.payload.len(), self.id % 7);
        record_drop(self.id);
    }
}

#[test]
fn random_graphs_with_pymalloc_everywhere() {
    let mut rng = Rng::from_env("random_graphs_with_pymalloc_everywhere");
    cyclegc::set_threshold(50, 5, 5);
    for _ in 0..100 {
        let n = 1 + rng.below(60);
        reset_drops(n);
        let nodes: Vec<_> = (0..n)
            .map(|id| {
                Gc::new(Node {
                    id,
                    payload: vec![id as u64; id % 7],
                    edges: RefCell::default(),
                })
            })
            .collect();
        for k in 0..rng.below(3 * n + 1) {
            let (a, b) = (rng.below(n), rng.below(n));
            nodes[a].edges.borrow_mut().insert(k, nodes[b].clone());
        }
        drop(nodes);
        cyclegc::collect();
        for id in 0..n {
            assert_eq!(drops_of(id), 1, "node {id}");
        }
    }
}

#[test]
fn threads_collect_their_own_cycles() {
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                reset_drops(200);
                for round in 0..20 {
                    let nodes: Vec<_> = (0..10)
                        .map(|i| {
                            Gc::new(Node {
                                id: round * 10 + i,
                                payload: vec![0; (round * 10 + i) % 7],
                                edges: RefCell::default(),
                            })
                        })
                        .collect();
                    for i in 0..10 {
                        nodes[i]
                            .edges
                            .borrow_mut()
                            .insert(t, nodes[(i + 1) % 10].clone());
                    }
                }
                assert_eq!(cyclegc::collect(), 200);
                (0..200).all(|i| drops_of(i) == 1)
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}
