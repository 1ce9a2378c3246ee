//! What `floe cat` and `floe filter` write: a floe stream on stdout (never
//! to a terminal), or a floe file with `-o`. The stream starts with the
//! first flows: a tool that stops before (nothing to read, an error)
//! writes nothing at all.

use floe_flow::ColSet;
use floe_flow::Flow;
use floe_store::{BlockEncoder, FileHeader, FileWriter, WriteOptions, Zone, STREAM_LEVEL};

use crate::args::{InputArgs, LevelArg, OutputFileArg, WindowArgs};
use crate::error::{warn, CliError, Result};
use crate::out::Out;
use crate::read::{read, Next, Selection};
use crate::scan;
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

    /// The zstd level and flows per block this output writes.
    pub fn options(&self) -> &WriteOptions {
        &self.options
    }

    /// Appends a block encoded on another thread (see [`Encoded`]).
    pub fn write_encoded(
        &mut self,
        body: &[u8],
        head: &floe_store::format::BlockHeader,
    ) -> Result<()> {
        self.writer()?.write_encoded(body, head)?;
        Ok(())
    }

    /// Appends what a reading thread made of a block.
    pub fn write_part(&mut self, part: Encoded) -> Result<()> {
        match part {
            Encoded::Flows(f) => self.write(&f),
            Encoded::Block(body, head) => self.write_encoded(&body, &head),
        }
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

/// What a reading thread makes of a block's selected flows for the
/// writer: a block it encoded itself (most of a block kept: the encoding,
/// most of the work of `cat`, then runs on every core), or the flows, for
/// the writer to gather into blocks (few kept: no tiny blocks).
pub enum Encoded {
    Flows(Vec<Flow>),
    Block(Vec<u8>, floe_store::format::BlockHeader),
}

thread_local! {
    /// Each reading thread's block encoder (and its level).
    static ENCODER: std::cell::RefCell<Option<(i32, BlockEncoder)>> = const { std::cell::RefCell::new(None) };
}

/// The selected rows of a part, for the writer (see [`Encoded`]).
pub fn encode_part(p: &floe_scan::Part, options: &WriteOptions) -> Result<Encoded> {
    let mut flows = Vec::with_capacity(p.rows.len());
    p.batch.rows_into(p.rows, &mut flows);
    if flows.len() < options.block_records / 2 {
        return Ok(Encoded::Flows(flows));
    }
    ENCODER.with(|cell| {
        let mut e = cell.borrow_mut();
        if e.as_ref().is_none_or(|(l, _)| *l != options.level) {
            let enc = BlockEncoder::new(options.level).map_err(CliError::Decompressor)?;
            *e = Some((options.level, enc));
        }
        let (_, enc) = e.as_mut().expect("set above");
        let mut body = Vec::new();
        let head = enc
            .encode(&flows, &mut body)
            .map_err(CliError::Decompressor)?;
        Ok(Encoded::Block(body, head))
    })
}

/// What cat and filter do: read the inputs in the window, keep the flows
/// `keep` matches (all without a filter), and write them as a stream;
/// with `count`, write only how many there are. Floe files are read on
/// `threads` threads (decoding, filtering and encoding), written in order.
#[allow(clippy::too_many_arguments)]
pub fn stream(
    tool: &str,
    input: &InputArgs,
    window: &WindowArgs,
    output: &OutputFileArg,
    level: LevelArg,
    keep: Option<&floe_filter::Filter>,
    threads: Option<usize>,
    count: bool,
) -> Result<()> {
    let zone = window.zone()?;
    let window = window.window_now()?;
    let sources = sources::list(input, window, input.tmp.tmp)?;
    let sel = Selection {
        sources: &sources,
        window,
        projection: floe_store::Projection::ALL,
    };
    if count {
        let (n, summary) = match scan::open_files(&sel) {
            Some((files, mut summary)) => {
                let stats = scan::scan(&sel, keep, ColSet::NONE, scan::threads(threads))
                    .count(&files, warn);
                summary.add(scan::summary(&stats));
                (stats.matched, summary)
            }
            None => {
                let mut n = 0u64;
                let summary = read(&sel, |flows| {
                    n += flows
                        .iter()
                        .filter(|x| keep.is_none_or(|f| f.matches(x)))
                        .count() as u64;
                    Ok(Next::Continue)
                })?;
                (n, summary)
            }
        };
        summary.something_read(&sources, window, &zone)?;
        let mut out = Out::open(output.output.as_deref())?;
        out.text(&format!("{n}\n"))?;
        out.finish()?;
        return summary.all_read();
    }
    let mut out = StreamOut::open(tool, output, level, &zone)?;
    let summary = match scan::open_files(&sel) {
        Some((files, mut summary)) => {
            let options = out.options().clone();
            let progress = scan::progress(&sel);
            let s = scan::scan(&sel, keep, ColSet::ALL, scan::threads(threads));
            let stats = s.ordered(
                &files,
                |p| {
                    progress.flows(p.rows.len());
                    encode_part(&p, &options)
                },
                |part| {
                    out.write_part(part)?;
                    Ok(true)
                },
                warn,
            )?;
            summary.add(scan::summary(&stats));
            summary
        }
        None => read(&sel, |flows| {
            if let Some(f) = keep {
                flows.retain(|x| f.matches(x));
            }
            out.write(flows)?;
            Ok(Next::Continue)
        })?,
    };
    summary.something_read(&sources, window, &zone)?;
    out.finish()?;
    summary.all_read()
}
