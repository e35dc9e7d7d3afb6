//! Temporary placeholder: forwards to the system allocator while the real
//! allocator is written. The public face (`PyMalloc`, `stats`) stays the same.
#![allow(missing_docs)]
use std::alloc::{GlobalAlloc, Layout, System};

pub struct PyMalloc;

unsafe impl GlobalAlloc for PyMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
