//! What floe's tests share; a dev-dependency of the crates whose tests use
//! it, never published.
//!
//! - [`skip`]: a check that cannot run on this machine (the shared corpus is
//!   not beside the checkout, no root to mount a tmpfs...) says so in a
//!   record that `scripts/test` reads back: its closing summary names every
//!   skipped check, so that a skipped check never looks like a passed one.
//! - [`run_ok`]: runs a command (a floe binary, usually), asserts that it
//!   succeeded and returns what it printed.
//! - [`python3`]: the Python the tests run, the one `scripts/test` set up
//!   with the packages the tests need (`tests/prerequisites.md`).
//! - [`datagram`]: v9 and IPFIX datagrams written out byte by byte.
//! - [`clickhouse::Server`]: a real ClickHouse server of the test's own on
//!   127.0.0.1 (Debian's `clickhouse-server` as a plain process).
//!
//! Records of skipped checks go to the directory named by
//! `$FLOE_TEST_SKIPS` (`scripts/test` sets it and empties it before a run),
//! else to `test-skips/` in cargo's target directory: one file per test
//! process, one line per skipped check.
#![forbid(unsafe_code)]

pub mod clickhouse;
pub mod datagram;

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming the directory where skipped checks are
/// recorded.
pub const SKIPS_ENV: &str = "FLOE_TEST_SKIPS";

/// Records that the calling test could not run (all or part of) its check
/// on this machine, and why: `return skip("../shared/netflow-corpus is
/// absent");`. The record names the test (libtest names each test's thread
/// after it) and the file that called; it is also printed, for
/// `--nocapture` runs.
///
/// Panics when the record cannot be written: an unrecorded skip would pass
/// for a passed check.
#[track_caller]
pub fn skip(reason: impl Display) {
    skip_in(&skips_dir(), reason)
}

#[track_caller]
fn skip_in(dir: &Path, reason: impl Display) {
    let file = std::panic::Location::caller().file();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("(unnamed thread)");
    let reason = reason.to_string().replace('\n', " ");
    let line = format!("{test} ({file}): {reason}");
    println!("skipped: {line}");
    if let Err(e) = record(dir, &line) {
        panic!(
            "cannot record the skipped check {line:?} in {}: {e}",
            dir.display()
        );
    }
}

fn record(dir: &Path, line: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let exe = std::env::current_exe()?;
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "test".into());
    let path = dir.join(format!("{name}.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write per line: threads of one process never interleave lines.
    f.write_all(format!("{line}\n").as_bytes())
}

/// Where skipped checks are recorded: `$FLOE_TEST_SKIPS`, else
/// `test-skips/` in the target directory.
pub fn skips_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(SKIPS_ENV).filter(|d| !d.is_empty()) {
        return d.into();
    }
    target_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("test-skips")
}

/// Cargo's target directory holding the running test binary: the nearest
/// folder above it with the `CACHEDIR.TAG` cargo writes there.
pub fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// The Python the tests run: the virtual environment `scripts/test` makes
/// in the target directory (`test-venv/`, with the pip packages of
/// `tests/prerequisites.md`) when it exists, else `python3` from `PATH`.
/// So a focused `cargo test -p ... --test ...` after one `scripts/test`
/// finds the same packages.
pub fn python3() -> PathBuf {
    target_dir()
        .map(|t| t.join("test-venv/bin/python3"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Runs `cmd`, asserts that it exited with success (the panic shows the
/// command, its exit status and its stderr) and returns its stdout.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{cmd:?} printed non-UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_is_one_line_naming_the_test_and_the_file() {
        let dir = std::env::temp_dir().join(format!("floe-test-skips-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        skip_in(&dir, "no corpus\nhere");
        skip_in(&dir, "second");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "one file per process");
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("tests::a_skip_is_one_line_naming_the_test_and_the_file (")
                && lines[0].contains("src/lib.rs): no corpus here"),
            "{text}"
        );
    }

    #[test]
    fn run_ok_returns_stdout_and_fails_loudly() {
        assert_eq!(run_ok(Command::new("echo").arg("hi")), "hi\n");
        let failed = std::panic::catch_unwind(|| run_ok(&mut Command::new("false")));
        let msg = failed.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("\"false\"") && msg.contains("exit status: 1"),
            "{msg}"
        );
    }
}
