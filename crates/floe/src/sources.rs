//! Which inputs a reading subcommand reads, in what order: directories
//! walked and their files sorted by period and selected by name for the
//! window, files as given (floe or flow-tools, told apart by their first
//! bytes), `-` for a stream on stdin. A path that is not there, and a
//! directory with no file to read, are said so here, before anything is
//! read or written.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::args::InputArgs;
use crate::error::{warn, CliError, Result};
use crate::time::{now_ms, parse_time, Window};

/// One input to read, its kind told once when the inputs are listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A floe file.
    File(PathBuf),
    /// A flow-tools file (`ft-v05...`), read whole.
    FlowTools(PathBuf),
    /// A floe stream on stdin.
    Stdin,
}

/// The inputs in reading order.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Each input.
    pub list: Vec<Source>,
}

impl Sources {
    /// True when every input is a file (no stream): an empty window is
    /// then worth saying.
    pub fn files_only(&self) -> bool {
        !self.list.contains(&Source::Stdin)
    }

    /// The floe files.
    pub fn floe_files(&self) -> impl Iterator<Item = &Path> {
        self.list.iter().filter_map(|s| match s {
            Source::File(p) => Some(p.as_path()),
            _ => None,
        })
    }
}

/// What a path that is not there may have been meant as.
fn hint(path: &Path) -> String {
    let text = path.to_string_lossy();
    if parse_time(&text, &floe_store::Zone::Utc, now_ms()).is_ok() {
        format!(
            " (a time or day is given with --day, --start or --end, not as a path: --day {text})"
        )
    } else {
        String::new()
    }
}

/// A path given on the command line that is not there.
pub fn no_such_path(path: &Path) -> CliError {
    CliError::NoSuchPath {
        path: path.to_path_buf(),
        hint: hint(path),
    }
}

/// Lists the inputs of `a` for `window`. `tmp` also takes `tmp-` files
/// (the flag, or a subcommand that needs the latest period).
pub fn list(a: &InputArgs, window: Window, tmp: bool) -> Result<Sources> {
    let paths = if a.paths.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "no input: give files or directories, or pipe a stream in (-)".into(),
            ));
        }
        vec![PathBuf::from("-")]
    } else {
        a.paths.clone()
    };
    let mut given = Vec::new();
    let mut tree = Vec::new();
    let mut empty = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            given.push(Source::Stdin);
        } else if p.is_dir() {
            let files = floe_store::walk_readable(&p)?;
            let readable: Vec<_> = files.iter().filter(|f| tmp || !f.tmp).cloned().collect();
            if readable.is_empty() {
                if files.is_empty() {
                    empty.push(p);
                } else {
                    warn(format!(
                        "{}: only tmp- files (still being written); --tmp reads them",
                        p.display()
                    ));
                    empty.push(p);
                }
            }
            tree.extend(readable);
        } else if p.exists() {
            if is_flow_tools_file(&p) {
                given.push(Source::FlowTools(p));
            } else {
                given.push(Source::File(p));
            }
        } else {
            return Err(no_such_path(&p));
        }
    }
    if tree.is_empty() && given.is_empty() {
        return Err(CliError::NoFiles {
            what: "floe",
            under: empty,
        });
    }
    for dir in &empty {
        warn(format!("no floe files under {}", dir.display()));
    }
    floe_store::tree::sort_files(&mut tree);
    let mut list: Vec<Source> = floe_store::select(&tree, window.from, window.to, a.slack)
        .into_iter()
        .map(|f| {
            if f.flow_tools {
                Source::FlowTools(f.path.clone())
            } else {
                Source::File(f.path.clone())
            }
        })
        .collect();
    list.extend(given);
    Ok(Sources { list })
}

/// True for a file that starts with flow-tools' magic (0xCF 0x10); such
/// files are read whole, everything else as a floe file.
fn is_flow_tools_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && floe_netflow::flowtools::is_flow_tools(&magic)
}

/// Opens a floe file; a `tmp-` file renamed since it was listed (its
/// period closed meanwhile) is opened under its closed name.
pub fn open_floe(path: &Path) -> Result<floe_store::FlowFile, floe_store::StoreError> {
    match floe_store::FlowFile::open(path) {
        Err(floe_store::StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            let closed = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(floe_store::layout::TMP_PREFIX))
                .map(|n| path.with_file_name(n));
            match closed {
                Some(c) => floe_store::FlowFile::open(c),
                None => floe_store::FlowFile::open(path),
            }
        }
        other => other,
    }
}

/// Reads a whole flow-tools file; a cut file is still `Ok` (see
/// [`cut_short`]).
pub fn read_flow_tools(path: &Path) -> Result<floe_netflow::flowtools::FtFile> {
    let bytes = std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    floe_netflow::flowtools::read(&bytes).map_err(|source| CliError::FlowTools {
        path: path.to_path_buf(),
        source,
    })
}

/// The warning for a flow-tools file that was cut short, if it was.
pub fn cut_short(path: &Path, ft: &floe_netflow::flowtools::FtFile) -> Option<String> {
    ft.truncated.as_ref().map(|t| {
        format!(
            "{}: flow-tools file cut short ({t}); its {} whole records are used",
            path.display(),
            ft.flows.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tmp- file listed, then closed (renamed) before it is opened, is
    /// read under its closed name.
    #[test]
    fn a_tmp_file_closed_since_it_was_listed_is_opened_by_its_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let closed = dir.path().join("floe.2026-11-23.000000+0000");
        let header = floe_store::FileHeader {
            created_ms: 0,
            period: None,
            host: "h".into(),
            zone: "UTC".into(),
            writer: "test".into(),
        };
        let out = std::fs::File::create(&closed).unwrap();
        let w =
            floe_store::FileWriter::new(out, &closed, &header, floe_store::WriteOptions::default())
                .unwrap();
        w.finish(0).unwrap();
        let listed = dir.path().join("tmp-floe.2026-11-23.000000+0000");
        assert!(open_floe(&listed).is_ok());
        assert!(open_floe(&dir.path().join("tmp-floe.2026-11-24.000000+0000")).is_err());
    }
}
