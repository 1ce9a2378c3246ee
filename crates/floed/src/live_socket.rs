//! The live socket: a Unix socket where `floe top` and scripts ask the
//! live view (one JSON line each way, see `floe_live::protocol`).
//!
//! What a client can cost is bounded: at most [`MAX_CLIENTS`] connections
//! at once (more are told so and closed), a request line of at most
//! `floe_live::protocol::MAX_REQUEST` bytes that must arrive whole within
//! 10 s of its first byte, an idle connection closed after a minute, a
//! client that does not read an answer within two seconds dropped (one
//! that leaves before its answer is no fault), and one that keeps sending
//! garbage closed after a few lines. An answer's sums are taken under the
//! view's lock, its sketches merged and it is written after the lock is
//! released; nothing here touches the disk or the receive path.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use floe_live::protocol::{parse_request, Response, MAX_REQUEST};
use floe_live::LiveView;

use crate::receive::now_ms;

/// Connections served at once.
pub const MAX_CLIENTS: usize = 16;
/// Bad lines a connection may send before it is closed.
const MAX_BAD_LINES: u32 = 5;

/// Binds the socket at `path`: a socket left by a floed that died is
/// replaced, anything else there is an error. The socket gets mode 0660
/// and, when given, the group `group`.
pub fn bind(path: &Path, group: Option<&str>) -> Result<UnixListener, String> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(format!(
                "{}: exists and is not a socket; not replacing it",
                path.display()
            ));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{}: another floed answers on this socket",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = bind_private(path, group)?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(listener)
}

/// Binds at `path` with mode 0660 (and `group`) from the start: the socket
/// is made in a directory of its own that only floed can enter, given its
/// mode and group there, then linked into place, so that it is never
/// reachable with the mode the umask gave it.
fn bind_private(path: &Path, group: Option<&str>) -> Result<UnixListener, String> {
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // A short name, so that the path bound is no longer than the default
    // socket's (a Unix socket's path is limited to 107 bytes).
    let dir = parent.join(format!(".floed.{}", std::process::id()));
    let tmp = dir.join("s");
    if tmp.as_os_str().len() > 107 && path.as_os_str().len() <= 107 {
        // Too long to go by way of a directory: mode set after bind.
        let listener = UnixListener::bind(path).map_err(at)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(at)?;
        if let Some(g) = group {
            set_group(path, path, g)?;
        }
        return Ok(listener);
    }
    // Left by a floed that died with the same process id.
    let _ = std::fs::remove_dir_all(&dir);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let made = (|| {
        let listener = UnixListener::bind(&tmp).map_err(at)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660)).map_err(at)?;
        if let Some(g) = group {
            set_group(&tmp, path, g)?;
        }
        // A link, not a rename: whatever took the place meanwhile stays,
        // and binding fails as it would have.
        std::fs::hard_link(&tmp, path).map_err(at)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    made
}

/// Gives `path` the group `group`; errors name `shown`.
fn set_group(path: &Path, shown: &Path, group: &str) -> Result<(), String> {
    let name = std::ffi::CString::new(group).map_err(|_| format!("group {group:?}"))?;
    // SAFETY: getgrnam takes a NUL-terminated string and returns a pointer
    // into static storage or null; gr_gid is read before any other call.
    let gid = unsafe {
        let g = libc::getgrnam(name.as_ptr());
        if g.is_null() {
            return Err(format!("live socket group {group:?}: no such group"));
        }
        (*g).gr_gid
    };
    std::os::unix::fs::chown(path, None, Some(gid))
        .map_err(|e| format!("{}: group {group}: {e}", shown.display()))
}

/// Accepts connections until `stop`, serving each on its own thread.
pub fn serve(
    listener: UnixListener,
    path: PathBuf,
    view: Arc<Mutex<LiveView>>,
    stop: Arc<AtomicBool>,
) {
    let clients = Arc::new(AtomicUsize::new(0));
    let complained = Arc::new(AtomicBool::new(false));
    while !stop.load(Ordering::Relaxed) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "live socket: accept failed");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_write_timeout(Some(ANSWER));
        if clients.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::AcqRel);
            let mut s = stream;
            let window = view.lock().map(|v| v.window_secs()).unwrap_or(0);
            let busy = Response::error(
                now_ms(),
                window,
                format!("{MAX_CLIENTS} clients are connected already; try again later"),
            );
            let _ = writeln!(s, "{}", serde_json::to_string(&busy).unwrap_or_default());
            continue;
        }
        let (v, n, said_once, st) = (
            view.clone(),
            clients.clone(),
            complained.clone(),
            stop.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("live client".into())
            .spawn(move || {
                if let Some(why) = client(stream, &v, &st) {
                    // Said once in the log, however many clients do it.
                    if !said_once.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "live socket: a client was dropped: {why} (further ones not logged)"
                        );
                    }
                }
                n.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            clients.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// How long a connection may wait before sending its next request.
const IDLE: Duration = Duration::from_secs(60);
/// How long a request may take to arrive whole, from its first byte: a
/// client that trickles bytes (slowloris) must not hold a place for ever.
const WHOLE: Duration = Duration::from_secs(10);
/// How long an answer may take to be read.
const ANSWER: Duration = Duration::from_secs(2);

/// What a connection sent next.
enum Line {
    Request(Vec<u8>),
    /// It closed (or went quiet for [`IDLE`]) between requests.
    Done,
    /// Longer than `MAX_REQUEST`.
    TooLong,
    /// Not whole within [`WHOLE`].
    Slow,
}

/// Request lines off a connection, each bounded in length and in time.
struct Lines {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Lines {
    fn next(&mut self) -> Line {
        let asked = Instant::now();
        // Bytes left from the previous read start a request now.
        let mut first_byte = (!self.buf.is_empty()).then(Instant::now);
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                if i > MAX_REQUEST {
                    return Line::TooLong;
                }
                let rest = self.buf.split_off(i + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Line::Request(line);
            }
            if self.buf.len() > MAX_REQUEST {
                return Line::TooLong;
            }
            let deadline = match first_byte {
                Some(t) => t + WHOLE,
                None => asked + IDLE,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return if first_byte.is_some() {
                    Line::Slow
                } else {
                    Line::Done
                };
            }
            if self.stream.set_read_timeout(Some(left)).is_err() {
                return Line::Done;
            }
            match self.stream.read(&mut chunk) {
                // The last request may end without its newline.
                Ok(0) if self.buf.is_empty() => return Line::Done,
                Ok(0) => return Line::Request(std::mem::take(&mut self.buf)),
                Ok(n) => {
                    first_byte.get_or_insert_with(Instant::now);
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Line::Done,
            }
        }
    }
}

/// Writes `bytes` within [`ANSWER`] however slowly the client reads.
fn write_within(out: &mut UnixStream, mut bytes: &[u8]) -> std::io::Result<()> {
    let deadline = Instant::now() + ANSWER;
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        out.set_write_timeout(Some(left))?;
        match out.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Serves one connection; returns why it was dropped, if it misbehaved.
fn client(stream: UnixStream, view: &Mutex<LiveView>, stop: &AtomicBool) -> Option<String> {
    let Ok(mut out) = stream.try_clone() else {
        return None;
    };
    let mut lines = Lines {
        stream,
        buf: Vec::new(),
    };
    let window = || view.lock().map(|v| v.window_secs()).unwrap_or(0);
    let mut bad = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let line = match lines.next() {
            Line::Request(l) => l,
            Line::Done => return None,
            Line::Slow => {
                return Some(format!(
                    "it sent a request too slowly (not whole within {} s)",
                    WHOLE.as_secs()
                ))
            }
            Line::TooLong => {
                // The rest of the line would be read as another request.
                let r = Response::error(
                    now_ms(),
                    window(),
                    format!("request longer than {MAX_REQUEST} bytes"),
                );
                let mut text = serde_json::to_string(&r).unwrap_or_default();
                text.push('\n');
                let _ = write_within(&mut out, text.as_bytes());
                return Some("a request line too long".into());
            }
        };
        let now = now_ms();
        let response = match std::str::from_utf8(&line) {
            Err(_) => {
                bad += 1;
                Response::error(now, window(), "a request is a line of UTF-8 JSON")
            }
            Ok(text) => match parse_request(text.trim_end()) {
                Ok(req) => {
                    // The view is held while the answer's sums are taken
                    // (the guard goes at the end of this statement), and
                    // let go before its sketches are merged.
                    let pending = match view.lock() {
                        Ok(mut v) => v.begin(&req, now),
                        Err(_) => return None,
                    };
                    pending.finish()
                }
                Err(why) => {
                    bad += 1;
                    Response::error(now, window(), why)
                }
            },
        };
        let mut text = serde_json::to_string(&response).unwrap_or_default();
        text.push('\n');
        if let Err(e) = write_within(&mut out, text.as_bytes()) {
            return match e.kind() {
                // It went away before its answer: nothing wrong with that.
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => None,
                _ => Some(format!("it does not read its answers ({e})")),
            };
        }
        if bad >= MAX_BAD_LINES {
            return Some(format!("{bad} lines that are not requests"));
        }
    }
    None
}
