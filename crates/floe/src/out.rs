//! The one output path of the `floe` tools: whatever a subcommand writes
//! (a floe stream, a table, a report, a man page) goes through one
//! buffered [`Out`], to stdout or to the file of `-o`. A file is written
//! under a temporary name beside it and renamed into place when the
//! subcommand finishes, so it appears whole or not at all: a report that
//! fails half-way leaves no plausible half page behind. (A path that is
//! not a regular file, `/dev/stdout` or a named pipe, is written directly.)

use std::fs::File;
use std::io::{BufWriter, IsTerminal, StdoutLock, Write};
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

/// Where the output goes.
pub struct Out {
    dest: Dest,
}

enum Dest {
    Stdout(BufWriter<StdoutLock<'static>>),
    File {
        w: BufWriter<File>,
        /// The name it is written under until it is whole (none for a
        /// device or a pipe).
        partial: Option<PathBuf>,
        path: PathBuf,
    },
    /// Finished (the file renamed into place).
    Done,
}

/// The buffer between a subcommand and the kernel.
const BUFFER: usize = 1 << 17;

impl Out {
    /// The output of `-o path`, or stdout without it.
    pub fn open(path: Option<&Path>) -> Result<Out> {
        let dest = match path {
            None => Dest::Stdout(BufWriter::with_capacity(BUFFER, std::io::stdout().lock())),
            Some(path) if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| CliError::Output(named(&path.display().to_string(), e)))?;
                Dest::File {
                    w: BufWriter::with_capacity(BUFFER, f),
                    partial: None,
                    path: path.to_path_buf(),
                }
            }
            Some(path) => {
                let name = path.file_name().ok_or_else(|| {
                    CliError::Usage(format!("-o {}: not a file name", path.display()))
                })?;
                let mut hidden = std::ffi::OsString::from(".");
                hidden.push(name);
                hidden.push(".partial");
                let partial = path.with_file_name(hidden);
                let f = File::create(&partial)
                    .map_err(|e| CliError::Output(named(&partial.display().to_string(), e)))?;
                let partial = Some(partial);
                Dest::File {
                    w: BufWriter::with_capacity(BUFFER, f),
                    partial,
                    path: path.to_path_buf(),
                }
            }
        };
        Ok(Out { dest })
    }

    /// True when the output is a file (not a pipe or a terminal).
    pub fn is_file(&self) -> bool {
        matches!(self.dest, Dest::File { .. })
    }

    /// True when the output is a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(self.dest, Dest::Stdout(_)) && std::io::stdout().is_terminal()
    }

    /// What the output is, for messages.
    pub fn name(&self) -> String {
        match &self.dest {
            Dest::File { path, .. } => path.display().to_string(),
            _ => "<stdout>".into(),
        }
    }

    /// Writes `text`.
    pub fn text(&mut self, text: &str) -> Result<()> {
        self.write_all(text.as_bytes()).map_err(CliError::Output)
    }

    /// Flushes the output; a file is renamed into place.
    pub fn finish(mut self) -> Result<()> {
        match std::mem::replace(&mut self.dest, Dest::Done) {
            Dest::Stdout(mut w) => w
                .flush()
                .map_err(|e| CliError::Output(named("<stdout>", e))),
            Dest::File { w, partial, path } => {
                let fail =
                    |e: std::io::Error| CliError::Output(named(&path.display().to_string(), e));
                let f = w.into_inner().map_err(|e| fail(e.into_error()))?;
                match partial {
                    Some(partial) => {
                        f.sync_all().map_err(fail)?;
                        std::fs::rename(&partial, &path).map_err(fail)
                    }
                    None => Ok(()),
                }
            }
            Dest::Done => Ok(()),
        }
    }
}

/// `e`, its message naming `what`, its kind kept (a broken pipe stays one).
fn named(what: &str, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("writing {what}: {e}"))
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.dest {
            Dest::Stdout(w) => w.write(buf).map_err(|e| named("<stdout>", e)),
            Dest::File { w, path, .. } => w
                .write(buf)
                .map_err(|e| named(&path.display().to_string(), e)),
            Dest::Done => Ok(0),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.dest {
            Dest::Stdout(w) => w.flush().map_err(|e| named("<stdout>", e)),
            Dest::File { w, path, .. } => {
                w.flush().map_err(|e| named(&path.display().to_string(), e))
            }
            Dest::Done => Ok(()),
        }
    }
}

/// An output not finished (an error on the way) leaves no file behind.
impl Drop for Out {
    fn drop(&mut self) {
        if let Dest::File {
            partial: Some(partial),
            ..
        } = &self.dest
        {
            let _ = std::fs::remove_file(partial);
        }
    }
}
