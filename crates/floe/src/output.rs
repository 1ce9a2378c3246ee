//! The stream a tool writes (cat, filter): a floe stream on stdout, never
//! to a terminal, or a floe file with -o.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, WriteOptions, Zone, STREAM_LEVEL};

pub struct StreamOut {
    w: FileWriter<Box<dyn Write>>,
}

impl StreamOut {
    /// Opens the output: `path`, or stdout (refused when it is a terminal).
    pub fn open(
        tool: &str,
        path: Option<&PathBuf>,
        level: Option<i32>,
        zone: &Zone,
    ) -> Result<StreamOut, String> {
        let header = FileHeader {
            created_ms: crate::now_ms(),
            period: None,
            host: floe_store::host_name(),
            zone: zone.name(),
            writer: format!("floe {tool} {}", env!("CARGO_PKG_VERSION")),
        };
        let (out, name, level): (Box<dyn Write>, PathBuf, i32) = match path {
            Some(p) => (
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
                )),
                p.clone(),
                level.unwrap_or(floe_store::DEFAULT_LEVEL),
            ),
            None => {
                if std::io::stdout().is_terminal() {
                    return Err("stdout is a terminal: pipe into floe print, or use -o FILE".into());
                }
                (
                    Box::new(std::io::BufWriter::with_capacity(
                        1 << 17,
                        std::io::stdout().lock(),
                    )),
                    PathBuf::from("<stdout>"),
                    level.unwrap_or(STREAM_LEVEL),
                )
            }
        };
        // A pipe is read once, block by block: half-size blocks halve the
        // writer's buffer (a filter that keeps few flows holds a block's
        // worth for long) for about 1% more bytes in the pipe.
        let block_records = if path.is_some() {
            floe_store::DEFAULT_BLOCK_RECORDS
        } else {
            floe_store::DEFAULT_BLOCK_RECORDS / 2
        };
        let w = FileWriter::new(
            out,
            &name,
            &header,
            WriteOptions {
                level,
                block_records,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(StreamOut { w })
    }

    pub fn write(&mut self, flows: &[Flow]) -> Result<(), String> {
        self.w.extend_from_slice(flows).map_err(|e| e.to_string())
    }

    /// Writes the trailer; a reader that went away (`| head`) is not an error.
    pub fn finish(self) -> Result<(), String> {
        match self.w.finish(crate::now_ms()) {
            Ok((mut out, _)) => match out.flush() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
                _ => Ok(()),
            },
            Err(e) if crate::input::is_broken_pipe(&e.to_string()) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What cat and filter do: read the inputs in the window, keep the flows
/// `keep` matches (all without a filter), and write them as a stream.
/// Returns the exit status (1 when some input could not be read).
pub fn stream(
    tool: &str,
    input: &crate::input::InputArgs,
    path: Option<&PathBuf>,
    level: Option<i32>,
    keep: Option<&floe_filter::Filter>,
) -> Result<i32, String> {
    use crate::input::{self, Next};
    let window = input.window(crate::now_ms())?;
    let mut out = StreamOut::open(tool, path, level, &input.zone()?)?;
    let sources = input::sources(input, window)?;
    let errors = match input::read(tool, &sources, window, |flows| {
        if let Some(f) = keep {
            flows.retain(|x| f.matches(x));
        }
        out.write(flows)?;
        Ok(Next::Continue)
    }) {
        Ok(n) => n,
        Err(e) if input::is_broken_pipe(&e) => return Ok(0),
        Err(e) => return Err(e),
    };
    out.finish()?;
    Ok(i32::from(errors > 0))
}
