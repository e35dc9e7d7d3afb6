//! Exact drop counts on random small graphs: every unreachable node is
//! dropped exactly once, every reachable one is kept intact, whatever mix of
//! containers the edges live in and whenever collections happen.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};

use common::{Rng, drops_of, record_drop, reset_drops};
use cyclegc::{Gc, Trace, Tracer};

#[derive(Trace)]
enum Edge {
    Plain(Gc<Node>),
    Boxed(Box<Gc<Node>>),
    Pair(Option<Gc<Node>>, u8),
    Nothing,
}

#[derive(Trace)]
struct Node {
    #[trace(skip)]
    id: usize,
    vec: RefCell<Vec<Gc<Node>>>,
    map: RefCell<HashMap<u32, Gc<Node>>>,
    tree: RefCell<BTreeMap<u32, (u8, Gc<Node>)>>,
    cell: Cell<Option<Gc<Node>>>,
    enums: RefCell<VecDeque<Edge>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        record_drop(self.id);
    }
}

/// A correct hand-written impl, hence not exact: a collection that
/// examines one runs its trace first to find its places, then counts
/// unfused, so the rounds run through both paths of the collector.
struct Hand(RefCell<Vec<Gc<Node>>>);

impl Trace for Hand {
    fn trace<'a>(&'a self, tracer: &mut Tracer<'a>) {
        self.0.trace(tracer);
    }
}

/// With `inexact`, a fresh young `Hand` holding one of the nodes, kept
/// for the collection that follows (it is one of its candidates).
fn hand(inexact: bool, nodes: &[Gc<Node>]) -> Option<Gc<Hand>> {
    inexact.then(|| Gc::new(Hand(RefCell::new(nodes.iter().take(1).cloned().collect()))))
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        vec: RefCell::default(),
        map: RefCell::default(),
        tree: RefCell::default(),
        cell: Cell::new(None),
        enums: RefCell::default(),
    })
}

/// Adds the edge `from -> to` in a randomly chosen container.
fn add_edge(rng: &mut Rng, key: &mut u32, from: &Gc<Node>, to: &Gc<Node>) {
    *key += 1;
    match rng.below(6) {
        0 => from.vec.borrow_mut().push(to.clone()),
        1 => {
            from.map.borrow_mut().insert(*key, to.clone());
        }
        2 => {
            from.tree.borrow_mut().insert(*key, (1, to.clone()));
        }
        3 => match from.cell.take() {
            None => from.cell.set(Some(to.clone())),
            Some(old) => {
                from.cell.set(Some(old));
                from.vec.borrow_mut().push(to.clone());
            }
        },
        4 => from
            .enums
            .borrow_mut()
            .push_back(Edge::Boxed(Box::new(to.clone()))),
        _ => {
            let mut e = from.enums.borrow_mut();
            e.push_back(Edge::Nothing);
            if rng.chance(50) {
                e.push_back(Edge::Plain(to.clone()));
            } else {
                e.push_back(Edge::Pair(Some(to.clone()), 7));
            }
        }
    }
}

/// The ids a node points to, read from the real structure.
fn targets(n: &Node) -> Vec<usize> {
    let mut out: Vec<usize> = n.vec.borrow().iter().map(|g| g.id).collect();
    out.extend(n.map.borrow().values().map(|g| g.id));
    out.extend(n.tree.borrow().values().map(|(_, g)| g.id));
    let c = n.cell.take();
    out.extend(c.as_ref().map(|g| g.id));
    n.cell.set(c);
    for e in n.enums.borrow().iter() {
        match e {
            Edge::Plain(g) => out.push(g.id),
            Edge::Boxed(g) => out.push(g.id),
            Edge::Pair(Some(g), _) => out.push(g.id),
            Edge::Pair(None, _) | Edge::Nothing => {}
        }
    }
    out.sort_unstable();
    out
}

fn reachable(model: &[Vec<usize>], roots: &[usize]) -> Vec<bool> {
    let mut seen = vec![false; model.len()];
    let mut stack: Vec<usize> = roots.to_vec();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(&model[i]);
        }
    }
    seen
}

/// One random round; `young_collections` sprinkles generation 0/1
/// collections during construction; `inexact` puts an inexact object among
/// the candidates of every explicit collection.
fn round(rng: &mut Rng, young_collections: bool, inexact: bool) {
    let n = 1 + rng.below(30);
    reset_drops(n);
    let nodes: Vec<Gc<Node>> = (0..n).map(node).collect();
    let mut model = vec![Vec::new(); n];
    let mut key = 0;
    for _ in 0..rng.below(3 * n + 1) {
        let (a, b) = (rng.below(n), rng.below(n));
        add_edge(rng, &mut key, &nodes[a], &nodes[b]);
        model[a].push(b);
        if young_collections && rng.chance(5) {
            let _hand = hand(inexact, &nodes);
            cyclegc::collect_generation(rng.below(2));
            assert!(
                (0..n).all(|i| drops_of(i) == 0),
                "a node with a handle was dropped"
            );
        }
    }
    for m in &mut model {
        m.sort_unstable();
    }
    let root_ids: Vec<usize> = (0..n).filter(|_| rng.chance(30)).collect();
    let mut roots = Vec::new();
    for (i, g) in nodes.into_iter().enumerate() {
        if root_ids.contains(&i) {
            roots.push(g);
        }
    }
    let live = reachable(&model, &root_ids);
    if young_collections && rng.chance(50) {
        let _hand = hand(inexact, &roots);
        cyclegc::collect_generation(rng.below(2));
        for (i, &l) in live.iter().enumerate() {
            assert!(drops_of(i) <= 1, "node {i} dropped twice");
            if l {
                assert_eq!(drops_of(i), 0, "reachable node {i} dropped");
            }
        }
    }
    // Whatever reference counting has not freed yet is cyclic garbage (or
    // hangs off it), and a full collection must find exactly that.
    // (The hand first: making it may run an automatic collection.)
    let hand_ = hand(inexact, &roots);
    let pending = (0..n).filter(|&i| !live[i] && drops_of(i) == 0).count();
    assert_eq!(cyclegc::collect(), pending);
    drop(hand_);
    for (i, &l) in live.iter().enumerate() {
        assert_eq!(drops_of(i), u32::from(!l), "node {i} (reachable: {l})");
    }
    // The survivors are intact: walk the real graph from the roots.
    let mut seen = vec![false; n];
    let mut stack: Vec<Gc<Node>> = roots.clone();
    while let Some(g) = stack.pop() {
        if std::mem::replace(&mut seen[g.id], true) {
            continue;
        }
        assert_eq!(targets(&g), model[g.id], "edges of node {}", g.id);
        stack.extend(g.vec.borrow().iter().cloned());
        stack.extend(g.map.borrow().values().cloned());
        stack.extend(g.tree.borrow().values().map(|(_, g)| g.clone()));
        for e in g.enums.borrow().iter() {
            match e {
                Edge::Plain(t) | Edge::Pair(Some(t), _) => stack.push(t.clone()),
                Edge::Boxed(t) => stack.push((**t).clone()),
                _ => {}
            }
        }
        let c = g.cell.take();
        stack.extend(c.clone());
        g.cell.set(c);
    }
    assert_eq!(seen, live);
    let hand_ = hand(inexact, &[]);
    drop(roots);
    let rest = (0..n).filter(|&i| drops_of(i) == 0).count();
    assert_eq!(cyclegc::collect(), rest);
    drop(hand_);
    for i in 0..n {
        assert_eq!(drops_of(i), 1, "node {i} after dropping the roots");
    }
}

/// Runs `rounds` random rounds, half of them with an inexact object among
/// the candidates, and checks that both kinds of collection happened.
fn rounds(name: &str, rounds: usize, young: impl Fn(&mut Rng) -> bool) {
    let mut rng = Rng::from_env(name);
    let before = cyclegc::stats();
    for i in 0..rounds {
        let young = young(&mut rng);
        round(&mut rng, young, i % 2 == 1);
    }
    let after = cyclegc::stats();
    let inexact: usize = (0..3).map(|g| after[g].inexact - before[g].inexact).sum();
    let collections: usize = (0..3)
        .map(|g| after[g].collections - before[g].collections)
        .sum();
    assert!(
        inexact > rounds / 4,
        "{inexact} collections ran hand-written traces first"
    );
    assert!(
        collections - inexact > rounds / 4,
        "{} collections counted in one pass",
        collections - inexact
    );
}

#[test]
fn random_graphs_full_collections() {
    rounds("random_graphs_full_collections", 400, |_| false);
}

#[test]
fn random_graphs_with_young_collections() {
    rounds("random_graphs_with_young_collections", 400, |_| true);
}

#[test]
fn random_graphs_with_tiny_thresholds() {
    // Automatic collections then run in the middle of building the graphs.
    cyclegc::set_threshold(3, 2, 2);
    rounds("random_graphs_with_tiny_thresholds", 400, |rng| {
        rng.chance(50)
    });
    assert!(cyclegc::stats()[0].collections > 100);
    assert!(cyclegc::stats()[1].collections > 10);
}

#[test]
fn objects_move_up_one_generation_per_collection() {
    let a = node(0);
    assert_eq!(cyclegc::object_counts(), (1, 0, 0));
    cyclegc::collect_generation(0);
    assert_eq!(cyclegc::object_counts(), (0, 1, 0));
    let b = node(1);
    cyclegc::collect_generation(1);
    assert_eq!(cyclegc::object_counts(), (0, 0, 2));
    cyclegc::collect_generation(2);
    assert_eq!(cyclegc::object_counts(), (0, 0, 2));
    drop((a, b));
    assert_eq!(cyclegc::object_counts(), (0, 0, 0));
}

#[test]
fn old_garbage_is_only_found_by_collecting_its_generation() {
    reset_drops(2);
    let a = node(0);
    let b = node(1);
    a.vec.borrow_mut().push(b.clone());
    b.vec.borrow_mut().push(a.clone());
    cyclegc::collect_generation(1); // both now in generation 2
    drop((a, b));
    assert_eq!(cyclegc::collect_generation(0), 0);
    assert_eq!(cyclegc::collect_generation(1), 0);
    assert_eq!(drops_of(0) + drops_of(1), 0);
    assert_eq!(cyclegc::collect_generation(2), 2);
    assert_eq!((drops_of(0), drops_of(1)), (1, 1));
}

#[test]
fn references_from_older_generations_keep_young_objects() {
    reset_drops(3);
    let old = node(0);
    cyclegc::collect_generation(1); // `old` is in generation 2
    let young = node(1);
    young.vec.borrow_mut().push(young.clone()); // a self-cycle...
    old.vec.borrow_mut().push(young.clone()); // ...held by an old object
    drop(young);
    assert_eq!(cyclegc::collect_generation(0), 0);
    assert_eq!(drops_of(1), 0);
    old.vec.borrow_mut().clear();
    assert_eq!(cyclegc::collect_generation(1), 1);
    assert_eq!(drops_of(1), 1);
}
