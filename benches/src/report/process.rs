//! Running one benchmark child process and reading its result lines, or
//! saying why there are none (a stack overflow, a signal, an exit code).

use std::path::Path;
use std::process::Command;

use crate::whole::protocol;

/// Runs `program` with `args`; returns its [`protocol`] metrics, or a short
/// reason it failed, e.g. "stack overflow".
pub fn run_child(program: &Path, args: &[&str]) -> Result<Vec<(String, f64)>, String> {
    let name = program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    if out.status.success() {
        return Ok(protocol::parse(&String::from_utf8_lossy(&out.stdout)));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(failure_reason(out.status.code(), &stderr))
}

/// Why a child failed, from its exit code (`None`: killed by a signal) and
/// its stderr.
fn failure_reason(code: Option<i32>, stderr: &str) -> String {
    if stderr.contains("overflowed its stack") {
        "stack overflow".to_string()
    } else if let Some(code) = code {
        format!("exit {code}")
    } else {
        "killed by a signal".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        let so = "\nthread 'gc-workload' has overflowed its stack\nfatal runtime error: stack overflow\n";
        assert_eq!(failure_reason(None, so), "stack overflow");
        assert_eq!(failure_reason(Some(2), "usage"), "exit 2");
        assert_eq!(failure_reason(None, ""), "killed by a signal");
    }
}
