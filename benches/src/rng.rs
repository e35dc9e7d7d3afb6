//! The fixed-seed pseudo-random generator used by every randomised workload,
//! so that runs (and allocators) see the same sequence of sizes and orders.
//!
//! SplitMix64: tiny, fast, and good enough to pick sizes and shuffle. Not
//! for anything that needs unpredictability.

/// The seed every workload starts from (printed by the report and by the
/// whole-program binaries). Workloads that need several streams derive them
/// with [`Rng::with_stream`].
pub const SEED: u64 = 0x5EED_0005_A110_CA7E;

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for stream `stream` of [`SEED`] (e.g. one per thread).
    pub fn with_stream(stream: u64) -> Self {
        let mut base = Self::new(SEED ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        base.next_u64();
        base
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (`lo <= hi`), with a negligible modulo bias.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A value in `0..n` as `usize` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A float in `[0, 1)`.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_ranges_hold() {
        let mut a = Rng::with_stream(3);
        let mut b = Rng::with_stream(3);
        for _ in 0..1000 {
            let x = a.range(16, 512);
            assert_eq!(x, b.range(16, 512));
            assert!((16..=512).contains(&x));
        }
        let mut v: Vec<u32> = (0..100).collect();
        a.shuffle(&mut v);
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }
}
