//! Remote free vs owner drain: two threads free blocks into a pool while its
//! owner allocates and takes remote frees in. No block is lost, none is
//! handed out twice, and what a freeing thread wrote into a block before
//! freeing it is visible to the owner that gets it back (loom checks every
//! access to the blocks' user words and links).

#![cfg(loom)]

#[test]
fn remote_free_vs_owner_drain() {
    loom_tests::model(loom_tests::remote_free_vs_owner_drain);
}
