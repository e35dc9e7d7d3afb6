//! Resident memory of the calling process, from `/proc/self/status`:
//! `VmRSS` (now) and `VmHWM` (the peak so far), in bytes.
//!
//! Linux only; elsewhere the readers return `None`. Reading allocates a
//! little (a `String`), which is noise next to the megabytes measured.

/// Resident set size now (`VmRSS`), in bytes.
pub fn current() -> Option<u64> {
    field("VmRSS:")
}

/// Peak resident set size so far (`VmHWM`), in bytes.
pub fn peak() -> Option<u64> {
    field("VmHWM:")
}

/// Bytes to MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The value of a `kB` line of `/proc/self/status`, in bytes.
fn field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kb_field(&status, name)
}

/// Finds `name` at the start of a line of `status` and reads its `kB` value.
fn parse_kb_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_kb_field(s, "VmRSS:"), Some(1024 * 1024));
        assert_eq!(parse_kb_field(s, "VmHWM:"), Some(2048 * 1024));
        assert_eq!(parse_kb_field(s, "VmSwap:"), None);
    }
}
