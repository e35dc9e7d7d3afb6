//! Helpers shared by the integration tests: a tiny seeded PRNG that prints
//! its seed, and per-thread drop counters.

#![allow(dead_code)]

use std::cell::RefCell;

/// SplitMix64. Randomised tests print the seed they use; set
/// `CYCLEGC_TEST_SEED` to replay one.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CYCLEGC_TEST_SEED`, or from the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("CYCLEGC_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x5eed)
            });
        println!("{test}: seed {seed} (replay with CYCLEGC_TEST_SEED={seed})");
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`%.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

thread_local! {
    static DROPS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Forgets all recorded drops and sizes the table for `n` ids.
pub fn reset_drops(n: usize) {
    DROPS.with(|d| {
        let mut d = d.borrow_mut();
        d.clear();
        d.resize(n, 0);
    });
}

/// Records that the value with this id was dropped.
pub fn record_drop(id: usize) {
    DROPS.with(|d| {
        let mut d = d.borrow_mut();
        if d.len() <= id {
            d.resize(id + 1, 0);
        }
        d[id] += 1;
    });
}

/// How many times the value with this id was dropped.
pub fn drops_of(id: usize) -> u32 {
    DROPS.with(|d| d.borrow().get(id).copied().unwrap_or(0))
}

/// Total drops recorded.
pub fn total_drops() -> u32 {
    DROPS.with(|d| d.borrow().iter().sum())
}

/// Runs `body` in a child process (this test binary, running only `test`)
/// and asserts that the child aborted (`SIGABRT`) with `message` on stderr.
/// In the child itself, runs `body` and returns; the parent then sees it
/// exit normally and fails.
pub fn expect_abort(test: &str, message: &str, body: impl FnOnce()) {
    use std::os::unix::process::ExitStatusExt;
    const CHILD: &str = "CYCLEGC_ABORT_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(test) {
        body();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("current_exe"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .expect("spawn child test process");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(SIGABRT),
        "{test}: expected an abort, got {:?}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(message),
        "{test}: stderr lacks {message:?}:\n{stderr}"
    );
}

/// `SIGABRT` on Linux.
const SIGABRT: i32 = 6;
