//! `realloc` growth: a buffer grows from 8 bytes to 64 KiB, by doubling (as
//! `Vec` does) or by +16 bytes at a time (a string appended to without
//! reserving), one byte written at the new end after each step. Crosses
//! pymalloc's 512-byte line, where blocks move to the system allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::time::{Duration, Instant};

use super::{ALIGN, touch};
use crate::shim::{alloc_via, dealloc_via, realloc_via};

/// Where growth starts.
pub const START: usize = 8;
/// Where growth ends.
pub const END: usize = 64 * 1024;

/// How the buffer grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
    /// Size doubles each step: 8, 16, ... 65536.
    Doubling,
    /// Size grows by 16 bytes each step: 8, 24, ... up to 65536.
    Step16,
}

impl Growth {
    /// Lower-case name for ids.
    pub const fn name(self) -> &'static str {
        match self {
            Growth::Doubling => "doubling",
            Growth::Step16 => "plus16",
        }
    }
}

/// The realloc growth workload.
#[derive(Clone, Debug)]
pub struct Realloc {
    /// How the buffer grows.
    pub growth: Growth,
    sizes: Vec<usize>,
}

impl Realloc {
    /// The workload for `growth`.
    pub fn new(growth: Growth) -> Self {
        let mut sizes = vec![START];
        let mut s = START;
        while s < END {
            s = match growth {
                Growth::Doubling => s * 2,
                Growth::Step16 => s + 16,
            }
            .min(END);
            sizes.push(s);
        }
        Self { growth, sizes }
    }

    /// `realloc` calls per iteration.
    pub fn calls(&self) -> usize {
        self.sizes.len() - 1
    }

    /// One whole growth (alloc, every realloc, free) per iteration.
    pub fn run<A: GlobalAlloc>(&self, a: &A, iters: u64) -> Duration {
        let first = Layout::from_size_align(self.sizes[0], ALIGN).expect("valid layout");
        let start = Instant::now();
        for i in 0..iters {
            // SAFETY: non-zero sizes; each step passes the layout the block
            // has, and the block is freed with its last layout.
            unsafe {
                let mut p = alloc_via(a, first);
                touch(p, i);
                let mut layout = first;
                for &size in &self.sizes[1..] {
                    p = realloc_via(a, p, layout, size);
                    touch(p.add(size - 1), i);
                    layout = Layout::from_size_align_unchecked(size, ALIGN);
                }
                dealloc_via(a, p, layout);
            }
        }
        start.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_ends_at_64_kib() {
        let d = Realloc::new(Growth::Doubling);
        assert_eq!(d.calls(), 13);
        let s = Realloc::new(Growth::Step16);
        assert_eq!(*s.sizes.last().unwrap(), END);
        assert_eq!(s.calls(), 4096);
    }
}
