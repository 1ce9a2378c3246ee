//! Running a command with text on its standard input (`sendmail -t`, a
//! stat-report output's `path |command`), and saying plainly when it fails.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `cmd` with `input` on its standard input and waits for it; `what`
/// names it in errors. A command that exits non-zero is an error.
pub fn pipe_into(mut cmd: Command, what: &str, input: &[u8]) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let written = child
        .stdin
        .take()
        .ok_or_else(|| format!("{what}: no stdin"))?
        .write_all(input);
    // Wait before judging the write: a command that exits early closes
    // the pipe, and its status says more than the broken pipe.
    let status = child.wait().map_err(|e| format!("{what}: {e}"))?;
    if !status.success() {
        return Err(format!("{what}: {status}"));
    }
    written.map_err(|e| format!("{what}: writing its input: {e}"))
}
