//! A client of the live socket (what `floe top` and tests use).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::protocol::{Request, Response};

/// Why the live view could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket at the path.
    #[error("{path}: no live socket there: is floed running, with the live view on? ({source})")]
    Missing {
        /// The socket path.
        path: PathBuf,
        /// The error connecting.
        source: std::io::Error,
    },
    /// The socket is there but this user may not connect.
    #[error("{path}: permission denied: the socket is for floed's group (add yourself to it, or run as that user)")]
    Denied {
        /// The socket path.
        path: PathBuf,
    },
    /// The socket is there but nothing listens on it.
    #[error("{path}: nobody answers: floed is not running (a socket left behind?)")]
    Refused {
        /// The socket path.
        path: PathBuf,
    },
    /// Another error talking to the server.
    #[error("{path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The server answered something that is not a response.
    #[error("{path}: the answer is not a live response: {why}")]
    Garbled {
        /// The socket path.
        path: PathBuf,
        /// Why it does not parse.
        why: String,
    },
}

/// A connection to floed's live socket.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ClientError::Missing {
                path: path.to_path_buf(),
                source: e,
            },
            std::io::ErrorKind::PermissionDenied => ClientError::Denied {
                path: path.to_path_buf(),
            },
            std::io::ErrorKind::ConnectionRefused => ClientError::Refused {
                path: path.to_path_buf(),
            },
            _ => ClientError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
        let io = |e| ClientError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        Ok(Client {
            path: path.to_path_buf(),
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends a request and reads its response.
    pub fn ask(&mut self, req: &Request) -> Result<Response, ClientError> {
        let io = |e| ClientError::Io {
            path: self.path.clone(),
            source: e,
        };
        let mut line = serde_json::to_string(req).map_err(|e| ClientError::Garbled {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        line.push('\n');
        let mut answer = String::new();
        if let Err(e) = self.writer.write_all(line.as_bytes()) {
            // A server that refuses a client (all its places taken) says
            // why and closes at once: the request may then meet a closed
            // socket, and its answer is waiting all the same.
            let closed = matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
            if !closed || !matches!(self.reader.read_line(&mut answer), Ok(n) if n > 0) {
                return Err(io(e));
            }
        } else {
            self.reader.read_line(&mut answer).map_err(io)?;
        }
        serde_json::from_str(&answer).map_err(|e| ClientError::Garbled {
            path: self.path.clone(),
            why: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    /// A server that refuses a client says why and closes at once (floed
    /// with all its places taken): the client's request then meets a
    /// closed socket, and what it reports is the server's answer, not a
    /// broken pipe.
    #[test]
    fn a_refusal_is_read_when_the_request_meets_a_closed_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let busy = Response::error(1, 300, "16 clients are connected already");
            writeln!(s, "{}", serde_json::to_string(&busy).unwrap()).unwrap();
        });
        let mut c = Client::connect(&path).unwrap();
        server.join().unwrap();
        let r = c.ask(&Request::default()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.error.as_deref(), Some("16 clients are connected already"));
        // Nothing more to read: the error of the write.
        let e = c.ask(&Request::default()).unwrap_err();
        assert!(matches!(e, ClientError::Io { .. }), "{e:?}");
    }
}
