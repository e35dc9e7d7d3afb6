//! Out of memory under a low `RLIMIT_AS`: pymalloc returns null, and Rust
//! reports the failed allocation and aborts; nothing crashes inside the
//! allocator. Each case runs in a child process.

use integration::{is_child, run_child};
use std::alloc::{GlobalAlloc, Layout};
use std::os::unix::process::ExitStatusExt;

#[global_allocator]
static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;

/// Caps this process's address space at its current size plus `extra` bytes.
fn limit_address_space(extra: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let limit = vm_kib * 1024 + extra;
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: plain setrlimit on this process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
}

#[test]
#[cfg_attr(
    pymalloc_asan,
    ignore = "AddressSanitizer needs address space of its own"
)]
fn small_allocations_return_null_when_arenas_cannot_be_mapped() {
    if is_child() {
        limit_address_space(64 << 20);
        let layout = Layout::from_size_align(64, 8).unwrap();
        let mut n = 0usize;
        // The last pool's worth of blocks (a 64-byte pool holds 256).
        let mut recent = [std::ptr::null_mut(); 256];
        loop {
            // SAFETY: non-zero layout; the blocks are leaked on purpose.
            let p = unsafe { GLOBAL.alloc(layout) };
            if p.is_null() {
                break;
            }
            recent[n % recent.len()] = p;
            n += 1;
        }
        println!("null after {n} blocks");
        assert!(n > 100_000);
        // The allocator still works for what is already mapped: once a full
        // pool has an eighth of its blocks back it is used again, though no
        // new arena can be mapped.
        for &p in &recent {
            // SAFETY: each came from `alloc` with `layout` and is not used.
            unsafe { GLOBAL.dealloc(p, layout) };
        }
        // SAFETY: non-zero layout.
        let again = unsafe { GLOBAL.alloc(layout) };
        assert!(!again.is_null(), "no block after freeing a pool's worth");
        return;
    }
    let out = run_child(
        "small_allocations_return_null_when_arenas_cannot_be_mapped",
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {out:?}");
    assert!(stdout.contains("null after"), "{stdout}");
}

#[test]
#[cfg_attr(
    pymalloc_asan,
    ignore = "AddressSanitizer needs address space of its own"
)]
fn small_oom_ends_in_rusts_allocation_error_report() {
    if is_child() {
        limit_address_space(64 << 20);
        let mut keep: Vec<Box<[u8; 48]>> = Vec::new();
        loop {
            keep.push(Box::new([1; 48]));
        }
    }
    let out = run_child("small_oom_ends_in_rusts_allocation_error_report", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "expected an abort: {out:?}"
    );
    assert!(stderr.contains("memory allocation of"), "stderr: {stderr}");
    assert!(stderr.contains("failed"), "stderr: {stderr}");
    assert!(
        !stderr.contains("pymalloc:"),
        "the allocator itself complained: {stderr}"
    );
}

#[test]
#[cfg_attr(
    pymalloc_asan,
    ignore = "AddressSanitizer needs address space of its own"
)]
fn large_oom_ends_in_rusts_allocation_error_report() {
    if is_child() {
        limit_address_space(64 << 20);
        let mut keep: Vec<Vec<u8>> = Vec::new();
        loop {
            keep.push(vec![1u8; 1 << 20]);
        }
    }
    let out = run_child("large_oom_ends_in_rusts_allocation_error_report", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "expected an abort: {out:?}"
    );
    assert!(stderr.contains("memory allocation of"), "stderr: {stderr}");
}
