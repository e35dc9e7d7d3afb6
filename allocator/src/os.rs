//! The operating-system layer: anonymous mappings, aligned to their size when
//! asked, and a last-resort error report.
//!
//! Invariants: every function here is async-signal-safe in spirit: no heap
//! allocation, no locks, no formatting machinery. Failure to map returns null;
//! nothing here panics.

use core::ptr;

/// Maps `size` bytes of zeroed, read-write, private anonymous memory.
/// Returns null when the kernel refuses (out of memory, address-space limit).
pub(crate) fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping with no fixed address cannot alias
    // existing memory; the result is checked before use.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p.cast()
    }
}

/// Maps `size` bytes aligned to `align` (a power of two, at least a page).
/// Returns null on failure.
///
/// The kernel often places a new mapping right below the previous one, so a
/// plain mapping is tried first; only when it is misaligned is a larger one
/// made and trimmed to the aligned window.
pub(crate) fn map_aligned(size: usize, align: usize) -> *mut u8 {
    debug_assert!(align.is_power_of_two());
    let p = map(size);
    if p.is_null() || p.addr() & (align - 1) == 0 {
        return p;
    }
    // SAFETY: `p` is the mapping of `size` bytes just made.
    unsafe { unmap(p, size) };
    let Some(padded) = size.checked_add(align) else {
        return ptr::null_mut();
    };
    let raw = map(padded);
    if raw.is_null() {
        return raw;
    }
    let head = raw.addr().next_multiple_of(align) - raw.addr();
    let tail = padded - head - size;
    // SAFETY: `head` and `tail` are the parts of the padded mapping outside
    // the aligned window, which nothing refers to.
    unsafe {
        if head > 0 {
            unmap(raw, head);
        }
        if tail > 0 {
            unmap(raw.add(head + size), tail);
        }
        raw.add(head)
    }
}

/// Unmaps `size` bytes at `p`.
///
/// # Safety
/// `[p, p + size)` is (part of) a mapping made by [`map`] that nothing will
/// touch again.
pub(crate) unsafe fn unmap(p: *mut u8, size: usize) {
    // SAFETY: the caller hands over the range; munmap of a valid range
    // cannot fail except for EINVAL, which the contract excludes.
    unsafe { libc::munmap(p.cast(), size) };
}

/// Writes `pymalloc: <what> 0x<addr>` to standard error and aborts.
///
/// Used for misuse that pymalloc can detect (double free, a pointer it did
/// not allocate): continuing would corrupt memory silently. It neither
/// allocates nor unwinds, so it is safe inside `dealloc`.
#[cold]
#[cfg_attr(not(any(debug_assertions, pymalloc_asan)), allow(dead_code))]
pub(crate) fn fatal(what: &str, addr: usize) -> ! {
    let mut buf = [0u8; 256];
    let mut len = 0;
    for part in [b"pymalloc: ".as_slice(), what.as_bytes(), b" 0x"] {
        let n = part.len().min(buf.len() - len - 20);
        buf[len..len + n].copy_from_slice(&part[..n]);
        len += n;
    }
    len += write_hex(&mut buf[len..], addr);
    buf[len] = b'\n';
    len += 1;
    // SAFETY: writing an initialised stack buffer to fd 2, then aborting.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), len);
        libc::abort()
    }
}

/// Writes `v` in lower-case hex without leading zeros; returns the length.
#[cfg_attr(not(any(debug_assertions, pymalloc_asan)), allow(dead_code))]
fn write_hex(out: &mut [u8], v: usize) -> usize {
    let digits = (usize::BITS - v.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, out) in out[..digits].iter_mut().enumerate() {
        let nibble = (v >> (4 * (digits - 1 - i))) & 0xf;
        *out = b"0123456789abcdef"[nibble];
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_mappings_are_aligned_and_zeroed() {
        for align in [4096usize, 1 << 16, 1 << 20, 1 << 22] {
            let p = map_aligned(1 << 20, align);
            assert!(!p.is_null());
            assert_eq!(p.addr() % align, 0);
            // SAFETY: the mapping is 1 MiB, readable and writable.
            unsafe {
                assert_eq!(*p, 0);
                assert_eq!(*p.add((1 << 20) - 1), 0);
                *p.add(12345) = 7;
                unmap(p, 1 << 20);
            }
        }
    }

    #[test]
    fn absurd_mappings_fail_with_null() {
        assert!(map(usize::MAX - 4095).is_null());
        assert!(map_aligned(usize::MAX - (1 << 20), 1 << 21).is_null());
    }

    #[test]
    fn hex() {
        let mut b = [0u8; 20];
        let n = write_hex(&mut b, 0xdead_beef);
        assert_eq!(&b[..n], b"deadbeef");
        let n = write_hex(&mut b, 0);
        assert_eq!(&b[..n], b"0");
        let n = write_hex(&mut b, usize::MAX);
        assert_eq!(&b[..n], b"ffffffffffffffff");
    }
}
