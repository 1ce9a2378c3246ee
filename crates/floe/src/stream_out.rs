//! What `floe cat` and `floe filter` write: a floe stream on stdout (never
//! to a terminal), or a floe file with `-o`. The stream starts with the
//! first flows: a tool that stops before (nothing to read, an error)
//! writes nothing at all.

use floe_flow::Flow;
use floe_store::{FileHeader, FileWriter, WriteOptions, Zone, STREAM_LEVEL};

use crate::args::{InputArgs, LevelArg, OutputFileArg, WindowArgs};
use crate::error::{CliError, Result};
use crate::out::Out;
use crate::read::{read, Next, Selection};
use crate::sources;
use crate::time::now_ms;

/// A floe stream or file being written.
pub struct StreamOut {
    /// The output until the first flows come.
    out: Option<Out>,
    header: FileHeader,
    options: WriteOptions,
    w: Option<FileWriter<Out>>,
}

impl StreamOut {
    /// Prepares the output of `tool` (stdout is refused when it is a
    /// terminal); nothing is written yet.
    pub fn open(
        tool: &str,
        output: &OutputFileArg,
        level: LevelArg,
        zone: &Zone,
    ) -> Result<StreamOut> {
        let out = Out::open(output.output.as_deref())?;
        if out.is_terminal() {
            return Err(CliError::Usage(
                "stdout is a terminal: pipe into floe print, or use -o FILE".into(),
            ));
        }
        let header = FileHeader {
            created_ms: now_ms(),
            period: None,
            host: floe_store::host_name(),
            zone: zone.name(),
            writer: format!("floe {tool} {}", env!("CARGO_PKG_VERSION")),
        };
        // A pipe is read once, block by block: half-size blocks halve the
        // writer's buffer (a filter that keeps few flows holds a block's
        // worth for long) for about 1% more bytes in the pipe.
        let options = if out.is_file() {
            WriteOptions {
                level: level.level.unwrap_or(floe_store::DEFAULT_LEVEL),
                block_records: floe_store::DEFAULT_BLOCK_RECORDS,
            }
        } else {
            WriteOptions {
                level: level.level.unwrap_or(STREAM_LEVEL),
                block_records: floe_store::DEFAULT_BLOCK_RECORDS / 2,
            }
        };
        Ok(StreamOut {
            out: Some(out),
            header,
            options,
            w: None,
        })
    }

    /// The writer, its header written on first use.
    fn writer(&mut self) -> Result<&mut FileWriter<Out>> {
        // One of the two is there: the output, until the writer takes it.
        if let Some(out) = self.out.take() {
            let name = std::path::PathBuf::from(out.name());
            self.w = Some(FileWriter::new(
                out,
                &name,
                &self.header,
                self.options.clone(),
            )?);
        }
        Ok(self.w.as_mut().expect("the writer holds the output"))
    }

    /// Appends flows.
    pub fn write(&mut self, flows: &[Flow]) -> Result<()> {
        if flows.is_empty() {
            return Ok(());
        }
        self.writer()?.extend_from_slice(flows)?;
        Ok(())
    }

    /// Writes the trailer (a stream with no flows is still a whole,
    /// empty stream) and finishes the output.
    pub fn finish(mut self) -> Result<()> {
        self.writer()?;
        let w = self.w.take().expect("the writer holds the output");
        let (out, _) = w.finish(now_ms())?;
        out.finish()
    }
}

/// What cat and filter do: read the inputs in the window, keep the flows
/// `keep` matches (all without a filter), and write them as a stream.
pub fn stream(
    tool: &str,
    input: &InputArgs,
    window: &WindowArgs,
    output: &OutputFileArg,
    level: LevelArg,
    keep: Option<&floe_filter::Filter>,
) -> Result<()> {
    let zone = window.zone()?;
    let window = window.window_now()?;
    let sources = sources::list(input, window, input.tmp.tmp)?;
    let mut out = StreamOut::open(tool, output, level, &zone)?;
    let sel = Selection {
        sources: &sources,
        window,
        projection: floe_store::Projection::ALL,
    };
    let summary = read(&sel, |flows| {
        if let Some(f) = keep {
            flows.retain(|x| f.matches(x));
        }
        out.write(flows)?;
        Ok(Next::Continue)
    })?;
    summary.something_read(&sources, window, &zone)?;
    out.finish()?;
    summary.all_read()
}
