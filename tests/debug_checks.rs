//! Misuse that debug builds detect and report clearly (in a child process,
//! which must abort with pymalloc's message): a double free on the owning
//! thread, a double free from another thread, a pointer pymalloc never
//! handed out, an interior pointer, and a layout of another size class.

#![cfg(debug_assertions)]

use integration::{is_child, run_child};
use std::alloc::{GlobalAlloc, Layout};
use std::os::unix::process::ExitStatusExt;

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

fn expect_abort(test: &str, message: &str) {
    let out = run_child(test, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "expected an abort: {out:?}"
    );
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
}

const L64: Layout = match Layout::from_size_align(64, 8) {
    Ok(l) => l,
    Err(_) => panic!(),
};

#[test]
fn double_free_on_the_owning_thread() {
    if is_child() {
        // SAFETY: deliberately wrong: the second dealloc is the misuse.
        unsafe {
            let p = GLOBAL.alloc(L64);
            let q = GLOBAL.alloc(L64);
            GLOBAL.dealloc(p, L64);
            GLOBAL.dealloc(q, L64);
            GLOBAL.dealloc(p, L64);
        }
        return;
    }
    expect_abort(
        "double_free_on_the_owning_thread",
        "pymalloc: double free of block",
    );
}

#[test]
fn double_free_from_another_thread() {
    if is_child() {
        // SAFETY: deliberately wrong, as above.
        let p = unsafe { GLOBAL.alloc(L64) }.addr();
        for _ in 0..2 {
            std::thread::spawn(move || {
                // SAFETY: deliberately wrong: the second time is the misuse.
                unsafe { GLOBAL.dealloc(std::ptr::with_exposed_provenance_mut(p), L64) }
            })
            .join()
            .unwrap();
        }
        return;
    }
    expect_abort(
        "double_free_from_another_thread",
        "pymalloc: double free of block",
    );
}

#[test]
fn foreign_pointer() {
    if is_child() {
        let mut on_stack = [0u8; 64];
        // SAFETY: deliberately wrong: the pointer is not pymalloc's.
        unsafe { GLOBAL.dealloc(on_stack.as_mut_ptr(), L64) };
        return;
    }
    expect_abort("foreign_pointer", "pymalloc did not allocate");
}

#[test]
fn interior_pointer() {
    if is_child() {
        // SAFETY: deliberately wrong: an address inside the block.
        unsafe {
            let p = GLOBAL.alloc(L64);
            GLOBAL.dealloc(p.add(16), L64);
        }
        return;
    }
    expect_abort("interior_pointer", "not the start of a pymalloc block");
}

#[test]
fn layout_of_another_class() {
    if is_child() {
        // SAFETY: deliberately wrong: freed with a 200-byte layout.
        unsafe {
            let p = GLOBAL.alloc(L64);
            GLOBAL.dealloc(p, Layout::from_size_align(200, 8).unwrap());
        }
        return;
    }
    expect_abort("layout_of_another_class", "another size class");
}

#[test]
fn correct_use_does_not_trip_the_checks() {
    // Freed blocks carry a canary; reallocating one must clear it, or the
    // next free of the new block would be taken for a double free.
    for _ in 0..10 {
        // SAFETY: each block is freed once with its layout.
        unsafe {
            let blocks: Vec<*mut u8> = (0..1000).map(|_| GLOBAL.alloc(L64)).collect();
            for &p in &blocks {
                GLOBAL.dealloc(p, L64);
            }
            for _ in 0..1000 {
                let p = GLOBAL.alloc_zeroed(Layout::from_size_align(8, 8).unwrap());
                assert_eq!(p.cast::<u64>().read(), 0);
                GLOBAL.dealloc(p, Layout::from_size_align(8, 8).unwrap());
            }
        }
    }
}
