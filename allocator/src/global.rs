//! The `GlobalAlloc` face: small requests to the calling thread's heap, the
//! rest to the system allocator, and `realloc` across the 512-byte line.
//!
//! Routing depends only on the layout, and Rust passes `dealloc` and
//! `realloc` the layout the block was allocated with, so a pointer always
//! goes back to the allocator that made it without looking it up.
//!
//! Invariant: a block is small exactly when `is_small(size, align)` holds
//! for the layout it currently has.

use crate::size_class::{block_size, class_of, is_small};
use crate::{debug, large, sanitizer, thread};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

/// The pymalloc allocator. Install it as the global allocator:
///
/// ```
/// #[global_allocator]
/// static GLOBAL: pymalloc::PyMalloc = pymalloc::PyMalloc;
///
/// fn main() {
///     let v: Vec<u32> = (0..100).collect(); // served from a 512-byte class
///     assert_eq!(v.iter().sum::<u32>(), 4950);
/// }
/// ```
///
/// or call it directly through [`GlobalAlloc`]:
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// let layout = Layout::from_size_align(48, 8).unwrap();
/// // SAFETY: the layout is not zero-sized; the block is freed with it.
/// unsafe {
///     let p = pymalloc::PyMalloc.alloc(layout);
///     assert!(!p.is_null());
///     p.write_bytes(0xAB, 48);
///     pymalloc::PyMalloc.dealloc(p, layout);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PyMalloc;

// SAFETY: small blocks come from pools in arenas that stay mapped while any
// block of theirs is live, are 16-byte aligned (block sizes and pool data
// offsets are multiples of 16, which covers every alignment `is_small`
// accepts), and are at least the requested size. Everything else is the
// system allocator's, which upholds the same contract.
unsafe impl GlobalAlloc for PyMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        if is_small(size, layout.align()) {
            // SAFETY: the heap is this thread's; class matches size.
            unsafe { thread::current().alloc::<false>(class_of(size), size) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { large::alloc(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_small(layout.size(), layout.align()) {
            debug::check_dealloc(ptr, layout.size());
            // SAFETY: the caller frees a live small block with its layout.
            unsafe { thread::current().free(ptr) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { large::dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        if is_small(size, layout.align()) {
            // SAFETY: as in `alloc`; blocks carved from never-written memory
            // are not cleared again.
            unsafe { thread::current().alloc::<true>(class_of(size), size) }
        } else {
            // SAFETY: forwarded contract.
            unsafe { large::alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        let old_size = layout.size();
        match (is_small(old_size, align), is_small(new_size, align)) {
            // Same class: the block already fits.
            (true, true) if class_of(old_size) == class_of(new_size) => {
                sanitizer::resized(ptr, old_size, new_size, block_size(class_of(new_size)));
                ptr
            }
            (false, false) => {
                // SAFETY: forwarded contract; both layouts are large.
                unsafe { large::realloc(ptr, layout, new_size) }
            }
            // Across classes or across the 512-byte line: move.
            _ => {
                // SAFETY: `Layout` invariants hold for `new_size` by the
                // `realloc` contract (it does not overflow when rounded).
                let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
                // SAFETY: a fresh block of the new layout, then a copy of the
                // bytes both blocks hold, then the old one freed.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        ptr::copy_nonoverlapping(ptr, new, old_size.min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}
