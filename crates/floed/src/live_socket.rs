//! The live socket: a Unix socket where `floe top` and scripts ask the
//! live view (one JSON line each way, see `floe_live::protocol`).
//!
//! What a client can cost is bounded: at most [`MAX_CLIENTS`] connections
//! at once (more are told so and closed), a request line of at most
//! `floe_live::protocol::MAX_REQUEST` bytes, an idle connection closed
//! after a minute, a client that does not read its answers within two
//! seconds dropped, and one that keeps sending garbage closed after a few
//! lines. Answers are computed under the view's lock and written after
//! it is released; nothing here touches the disk or the receive path.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(g) = group {
        set_group(path, g)?;
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(listener)
}

fn set_group(path: &Path, group: &str) -> Result<(), String> {
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
        .map_err(|e| format!("{}: group {group}: {e}", path.display()))
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
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
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

/// Serves one connection; returns why it was dropped, if it misbehaved.
fn client(stream: UnixStream, view: &Mutex<LiveView>, stop: &AtomicBool) -> Option<String> {
    let Ok(mut out) = stream.try_clone() else {
        return None;
    };
    let mut reader = BufReader::new(stream);
    let mut bad = 0u32;
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        line.clear();
        let n = match (&mut reader)
            .take(MAX_REQUEST as u64 + 1)
            .read_line(&mut line)
        {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // Not UTF-8.
                bad += 1;
                0
            }
            Err(_) => return None,
        };
        let now = now_ms();
        let response = if n > MAX_REQUEST || !line.ends_with('\n') && n > 0 {
            // Too long (or cut by the limit): the rest of the line would be
            // read as another request.
            let window = view.lock().map(|v| v.window_secs()).unwrap_or(0);
            let r = Response::error(
                now,
                window,
                format!("request longer than {MAX_REQUEST} bytes"),
            );
            let _ = writeln!(out, "{}", serde_json::to_string(&r).unwrap_or_default());
            return Some("a request line too long".into());
        } else if n == 0 {
            let window = view.lock().map(|v| v.window_secs()).unwrap_or(0);
            Response::error(now, window, "a request is a line of UTF-8 JSON")
        } else {
            match parse_request(line.trim_end()) {
                Ok(req) => match view.lock() {
                    Ok(mut v) => v.answer(&req, now),
                    Err(_) => return None,
                },
                Err(why) => {
                    bad += 1;
                    let window = view.lock().map(|v| v.window_secs()).unwrap_or(0);
                    Response::error(now, window, why)
                }
            }
        };
        let mut text = serde_json::to_string(&response).unwrap_or_default();
        text.push('\n');
        if let Err(e) = out.write_all(text.as_bytes()) {
            return Some(format!("it does not read its answers ({e})"));
        }
        if bad >= MAX_BAD_LINES {
            return Some(format!("{bad} lines that are not requests"));
        }
    }
    None
}
