//! valgrind's memcheck sees pool blocks when pymalloc is built with
//! `--cfg pymalloc_valgrind`: each case runs in a child process under
//! valgrind, and memcheck must report (or, for correct code, not report) the
//! error, naming a pool block. Without that cfg this file is empty.
//!
//! ```sh
//! RUSTFLAGS="--cfg pymalloc_valgrind" CARGO_TARGET_DIR=target/valgrind \
//!   cargo test -p integration --test memcheck
//! ```

#![cfg(pymalloc_valgrind)]

use integration::is_child;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::process::{Command, Output};

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

/// Runs the named test of this binary alone under memcheck.
fn under_memcheck(test: &str) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new("valgrind")
        .args(["--error-exitcode=99", "--track-origins=yes"])
        .arg(exe)
        .args(["--exact", test, "--test-threads=1"])
        .env("PYMALLOC_CHILD", "1")
        .output()
        .expect("run valgrind (is it installed?)")
}

#[test]
fn use_after_free_of_a_pool_block_is_reported() {
    if is_child() {
        let b = Box::new([7u64; 4]);
        let p: *const u64 = b.as_ptr();
        drop(b);
        // SAFETY: deliberately wrong: the block was freed.
        black_box(unsafe { std::ptr::read_volatile(p) });
        return;
    }
    let out = under_memcheck("use_after_free_of_a_pool_block_is_reported");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(99),
        "memcheck saw nothing: {stderr}"
    );
    assert!(stderr.contains("Invalid read of size 8"), "{stderr}");
    assert!(
        stderr.contains("inside a block of size 32 free'd"),
        "{stderr}"
    );
}

#[test]
fn uninitialised_read_of_a_pool_block_is_reported() {
    if is_child() {
        let layout = Layout::from_size_align(48, 8).unwrap();
        // SAFETY: a fresh block, read before it is written (the misuse),
        // then freed with its layout.
        unsafe {
            let p = GLOBAL.alloc(layout);
            if std::ptr::read_volatile(p.add(40)) == 42 {
                println!("forty-two");
            }
            GLOBAL.dealloc(p, layout);
        }
        return;
    }
    let out = under_memcheck("uninitialised_read_of_a_pool_block_is_reported");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(99),
        "memcheck saw nothing: {stderr}"
    );
    assert!(
        stderr.contains("depends on uninitialised value"),
        "{stderr}"
    );
}

#[test]
fn correct_use_is_clean() {
    if is_child() {
        let mut kept = Vec::new();
        for i in 0..2_000u64 {
            let mut v = vec![i; (i % 70) as usize + 1];
            v.push(i);
            v.shrink_to_fit();
            if i % 3 == 0 {
                kept.push(v);
            }
        }
        let zeroed: Vec<u64> = vec![0; 40];
        assert!(zeroed.iter().all(|&x| x == 0));
        let moved = std::thread::spawn(move || kept.into_iter().map(|v| v.len()).sum::<usize>());
        assert!(moved.join().unwrap() > 0);
        return;
    }
    let out = under_memcheck("correct_use_is_clean");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "memcheck complained: {stderr}");
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
}
