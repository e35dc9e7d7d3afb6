//! The models have teeth: in a build with `--cfg pymalloc_loom_weak`, the
//! remote push publishes a freed block with a relaxed CAS instead of an
//! acquire-release one, and the remote-free model must fail (loom reports a
//! causality violation on the block's link or user word).
//!
//! ```sh
//! RUSTFLAGS="--cfg loom --cfg pymalloc_loom_weak" CARGO_TARGET_DIR=target/loom-weak \
//!   cargo test -p loom-tests --release --test teeth
//! ```

#![cfg(all(loom, pymalloc_loom_weak))]

#[test]
#[should_panic(expected = "Causality violation")]
fn a_relaxed_remote_push_is_caught() {
    loom_tests::model(loom_tests::remote_free_vs_owner_drain);
}
