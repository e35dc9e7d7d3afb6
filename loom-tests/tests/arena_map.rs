//! The arena map (what `pymalloc::owns` and the debug checks ask): threads
//! recording arenas race to install the same leaf (the loser unmaps its own)
//! and set and clear bits in the same word. No recorded arena is lost, a
//! forgotten one is not reported, and nothing outside is.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::model;
use pymalloc::model::ArenaMap;

#[test]
fn leaf_install_race_and_bits_of_one_word() {
    model(|| {
        let map = Arc::new(ArenaMap::new());
        let inserters: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let map = map.clone();
                thread::spawn(move || {
                    assert!(map.insert(ArenaMap::arena(n)));
                    assert!(map.contains(ArenaMap::arena(n) + 100));
                })
            })
            .collect();
        assert!(map.insert(ArenaMap::arena(3)));
        map.remove(ArenaMap::arena(3));
        assert!(!map.contains(ArenaMap::arena(3)));
        for t in inserters {
            t.join().unwrap();
        }
        assert!(map.contains(ArenaMap::arena(1)) && map.contains(ArenaMap::arena(2)));
        assert!(!map.contains(ArenaMap::arena(3)) && !map.contains(ArenaMap::arena(0)));
        assert!(
            !map.contains(ArenaMap::arena(64 + 1)),
            "a leaf that was never installed"
        );
    });
}
