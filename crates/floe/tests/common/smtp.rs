//! A local SMTP server for the mail tests: `smtp_sink.py` (aiosmtpd) on
//! 127.0.0.1, writing each message it receives, parsed, as `N.json` in a
//! spool directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The running sink; stopped when dropped.
pub struct Sink {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: PathBuf,
}

impl Sink {
    /// Starts the sink spooling into `dir`, with smtp_sink.py's `extra`
    /// arguments (`--tls CERT KEY`, `--auth USER PASS`...).
    pub fn start(dir: &Path, extra: &[&str]) -> Sink {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new(floe_test_support::python3())
            .arg(script)
            .arg("serve")
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd is a test prerequisite (scripts/test checks it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("smtp_sink.py did not start: {line:?}"));
        Sink {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for n in 1.. {
            match std::fs::read(self.dir.join(format!("{n}.json"))) {
                Ok(b) => out.push(serde_json::from_slice(&b).unwrap()),
                Err(_) => break,
            }
        }
        out
    }

    /// Waits (at most 10 s) for the n-th message; the messages so far.
    pub fn wait_for(&self, n: usize) -> Vec<Value> {
        let t0 = Instant::now();
        loop {
            let m = self.messages();
            if m.len() >= n || t0.elapsed() > Duration::from_secs(10) {
                return m;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a message's part of `content_type` (panics without one).
pub fn part<'a>(msg: &'a Value, content_type: &str) -> &'a str {
    msg["message"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {msg}"))["text"]
        .as_str()
        .unwrap()
}
