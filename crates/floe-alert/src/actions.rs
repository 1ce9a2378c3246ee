//! The actions that need no mail server: a command given the alert as
//! JSON on its standard input, and a JSON line appended to a log file.
//! (Mail goes through the `floe` binary's mailer.)
//!
//! The command is a program and its arguments as the rules file lists
//! them, run directly, never through a shell, and nothing of the alert is
//! put on its command line or in its environment: addresses, keys and
//! rule names reach it only as JSON data on stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a command may run before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `argv` with `input` on its stdin; its stdout and stderr are the
/// caller's. An error says what failed.
pub fn run_command(argv: &[String], input: &[u8], timeout: Duration) -> Result<(), String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "an empty command".to_string())?;
    let what = || format!("command {program:?}");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", what()))?;
    // Written from a thread: a command that does not read its input must
    // not block the run before the timeout can act.
    let mut stdin = child.stdin.take();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            // A command that exits without reading is its own business.
            let _ = s.write_all(&data);
        }
        drop(stdin);
    });
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = writer.join();
                return Err(format!(
                    "{} did not finish within {} s; killed",
                    what(),
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{}: {e}", what())),
        }
    };
    let _ = writer.join();
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", what()))
    }
}

/// Appends one line (a newline is added) to `path`, created if needed, in
/// one write so that concurrent writers' lines do not interleave.
pub fn append_line(path: &Path, line: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("log {}: {e}", path.display()))?;
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    f.write_all(&buf)
        .map_err(|e| format!("log {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_arrives_as_data_and_failures_are_told() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let argv: Vec<String> = vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat > \"$1\"".into(),
            "sh".into(),
            out.display().to_string(),
        ];
        let input = b"{\"key\": \"$(touch x) `id` \\\"q\\\"\"}\n";
        run_command(&argv, input, COMMAND_TIMEOUT).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), input);
        let e = run_command(&["/bin/false".to_string()], b"", COMMAND_TIMEOUT).unwrap_err();
        assert!(e.contains("failed"), "{e}");
        let e = run_command(&["/nonexistent/x".to_string()], b"", COMMAND_TIMEOUT).unwrap_err();
        assert!(e.contains("/nonexistent/x"), "{e}");
        let e = run_command(
            &["/bin/sleep".to_string(), "5".to_string()],
            b"",
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(e.contains("killed"), "{e}");
        let log = dir.path().join("a.log");
        append_line(&log, "one").unwrap();
        append_line(&log, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");
    }
}
