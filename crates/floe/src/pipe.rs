//! Running a command with text on its standard input (`sendmail -t`, a
//! stat-report output's `path |command`), and saying plainly when it fails.

use std::io::Write;
use std::process::{Command, Stdio};

/// A command that could not run, or failed.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct PipeError {
    /// The command, as the user knows it.
    pub what: String,
    /// What happened.
    pub message: String,
}

/// Runs `cmd` with `input` on its standard input and waits for it; `what`
/// names it in errors. A command that exits non-zero is an error.
pub fn pipe_into(mut cmd: Command, what: &str, input: &[u8]) -> Result<(), PipeError> {
    let fail = |message: String| PipeError {
        what: what.to_string(),
        message,
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let written = child
        .stdin
        .take()
        .ok_or_else(|| fail("no stdin".into()))?
        .write_all(input);
    // Wait before judging the write: a command that exits early closes
    // the pipe, and its status says more than the broken pipe.
    let status = child.wait().map_err(|e| fail(e.to_string()))?;
    if !status.success() {
        return Err(fail(status.to_string()));
    }
    written.map_err(|e| fail(format!("writing its input: {e}")))
}
