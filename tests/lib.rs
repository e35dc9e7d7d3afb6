//! Shared helpers for the integration tests: a seeded PRNG that prints its
//! seed, byte patterns to check block contents, RSS from `/proc/self/status`,
//! and running a test body in a child process.
//!
//! Each test binary installs `pymalloc::PyMalloc` as its global allocator.

use std::process::{Command, Output};

/// A small, fast PRNG (SplitMix64). Randomised tests print the seed they
/// use; set `PYMALLOC_TEST_SEED` to replay one.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `PYMALLOC_TEST_SEED`, or from the clock; the
    /// seed is printed so that a failure can be replayed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("PYMALLOC_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                t.as_nanos() as u64
            });
        println!("{test}: seed {seed} (replay with PYMALLOC_TEST_SEED={seed})");
        Rng(seed)
    }

    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// The byte a block tagged `tag` holds at offset `i`.
pub fn pattern(tag: u64, i: usize) -> u8 {
    (tag as usize)
        .wrapping_mul(31)
        .wrapping_add(i.wrapping_mul(7)) as u8
}

/// Fills `len` bytes at `p` with the pattern of `tag`.
///
/// # Safety
/// `p` is valid for `len` writes.
pub unsafe fn fill(p: *mut u8, len: usize, tag: u64) {
    for i in 0..len {
        // SAFETY: in bounds by the contract.
        unsafe { p.add(i).write(pattern(tag, i)) };
    }
}

/// Checks that `len` bytes at `p` hold the pattern of `tag`; panics with
/// the first wrong offset otherwise.
///
/// # Safety
/// `p` is valid for `len` reads.
pub unsafe fn check(p: *const u8, len: usize, tag: u64) {
    for i in 0..len {
        // SAFETY: in bounds by the contract.
        let got = unsafe { p.add(i).read() };
        assert_eq!(
            got,
            pattern(tag, i),
            "block {p:p} (tag {tag}) corrupted at byte {i} of {len}"
        );
    }
}

/// The resident set size of this process in KiB (`VmRSS`).
pub fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Runs the named test of the current test binary alone in a child process
/// with `env` set, and returns its output. The child knows it is the child by
/// `PYMALLOC_CHILD=1`.
pub fn run_child(test: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    cmd.env("PYMALLOC_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn child test process")
}

/// Whether this process is a child started by [`run_child`].
pub fn is_child() -> bool {
    std::env::var_os("PYMALLOC_CHILD").is_some()
}
