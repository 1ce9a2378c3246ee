//! Reading the selected inputs in order, block by block (a quarter block
//! at a time from floe files), the flows that overlap the window handed
//! to the subcommand. A damaged file or block is named on stderr with its
//! offset and skipped; the rest is read, and the [`Summary`] says how much
//! was read and how much could not be.

use std::io::BufRead;

use floe_flow::Flow;
use floe_store::{Projection, StreamReader, Zone};

use crate::error::{warn, CliError, Result};
use crate::progress::Progress;
use crate::sources::{cut_short, open_floe, read_flow_tools, Source, Sources};
use crate::time::Window;

/// Flows decoded at a time from a file's block: a quarter block keeps the
/// reading tools' peak memory low at no measurable cost in speed.
pub const CHUNK: usize = 4096;

/// What to read: the inputs, the window, and the fields to decode.
#[derive(Clone, Copy)]
pub struct Selection<'a> {
    /// The inputs, in order.
    pub sources: &'a Sources,
    /// The flows that count.
    pub window: Window,
    /// The fields decoded from floe files (the others are zero).
    pub projection: Projection,
}

/// How a read went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Flows read in the window (before any filter).
    pub flows: u64,
    /// Inputs (files, blocks, streams) that could not be read whole, each
    /// already named on stderr.
    pub damaged: usize,
}

impl Summary {
    /// Adds another read's.
    pub fn add(&mut self, other: Summary) {
        self.flows += other.flows;
        self.damaged += other.damaged;
    }

    /// Before anything is written: an error when there is nothing to
    /// write, because every input was damaged or because the files hold no
    /// flow in the window (a stream that holds none is not worth a word).
    pub fn something_read(&self, sources: &Sources, window: Window, zone: &Zone) -> Result<()> {
        match self.flows {
            0 if self.damaged > 0 => Err(CliError::Damaged(self.damaged)),
            0 if sources.files_only() => Err(CliError::NoFlows(window.describe(zone))),
            _ => Ok(()),
        }
    }

    /// After the output is written: an error (exit status 1) when some
    /// input could not be read whole.
    pub fn all_read(&self) -> Result<()> {
        match self.damaged {
            0 => Ok(()),
            n => Err(CliError::Damaged(n)),
        }
    }
}

/// What a reader's callback says: go on, or stop reading (`--records`).
pub enum Next {
    /// Read on.
    Continue,
    /// Enough.
    Stop,
}

/// Drops, in place, the flows that do not overlap the window (nothing to
/// do for an unbounded one).
pub fn keep_window(flows: &mut Vec<Flow>, window: Window) {
    if !window.is_all() {
        flows.retain(|f| f.overlaps(window.from, window.to));
    }
}

/// Reads every selected flow in input order, calling `each` with the flows
/// of a block (or part of one) that overlap the window: theirs to reorder
/// or thin out in place; the buffer is reused for the next block.
pub fn read(
    sel: &Selection,
    mut each: impl FnMut(&mut Vec<Flow>) -> Result<Next>,
) -> Result<Summary> {
    let Selection {
        sources,
        window,
        projection,
    } = *sel;
    let progress = Progress::new(&sources.list);
    let mut summary = Summary::default();
    let mut buf = Vec::new();
    // In place: a second block-sized buffer would be a third of the peak
    // memory of a plain dump.
    let mut deliver = |buf: &mut Vec<Flow>, summary: &mut Summary| -> Result<bool> {
        keep_window(buf, window);
        progress.flows(buf.len());
        summary.flows += buf.len() as u64;
        if buf.is_empty() {
            return Ok(true);
        }
        Ok(matches!(each(buf)?, Next::Continue))
    };
    for s in &sources.list {
        match s {
            Source::FlowTools(path) => {
                progress.file(path);
                let ft = match read_flow_tools(path) {
                    Ok(ft) => ft,
                    Err(e) => {
                        warn(e);
                        summary.damaged += 1;
                        continue;
                    }
                };
                if let Some(w) = cut_short(path, &ft) {
                    warn(w);
                    summary.damaged += 1;
                }
                for chunk in ft.flows.chunks(CHUNK) {
                    buf.clear();
                    buf.extend_from_slice(chunk);
                    if !deliver(&mut buf, &mut summary)? {
                        return Ok(summary);
                    }
                }
            }
            Source::File(path) => {
                let file = match open_floe(path) {
                    Ok(f) => f,
                    Err(e) => {
                        warn(e);
                        summary.damaged += 1;
                        continue;
                    }
                };
                for d in file.damage() {
                    warn(d);
                    summary.damaged += 1;
                }
                progress.file(path);
                let mut dec = floe_store::BlockDecoder::new().map_err(CliError::Decompressor)?;
                dec.set_projection(projection);
                for i in file
                    .blocks_overlapping(window.from, window.to)
                    .collect::<Vec<_>>()
                {
                    let mut stop = false;
                    let mut failed = None;
                    let read = file.read_block_chunked(i, &mut dec, &mut buf, CHUNK, |b| {
                        match deliver(b, &mut summary) {
                            Ok(go_on) => stop = !go_on,
                            Err(e) => failed = Some(e),
                        }
                        !stop && failed.is_none()
                    });
                    if let Some(e) = failed {
                        return Err(e);
                    }
                    if let Err(e) = read {
                        warn(e);
                        summary.damaged += 1;
                        continue;
                    }
                    if stop {
                        return Ok(summary);
                    }
                }
            }
            Source::Stdin => {
                let mut stdin = std::io::BufReader::with_capacity(1 << 17, std::io::stdin().lock());
                // A tool before this one that wrote nothing (it said why,
                // and its exit status says so) leaves an empty pipe: no
                // flows, and nothing more to say.
                if stdin.fill_buf().map_or(true, |b| b.is_empty()) {
                    continue;
                }
                let mut r = match StreamReader::new(stdin, "<stdin>") {
                    Ok(r) => r,
                    Err(e) => {
                        warn(e);
                        summary.damaged += 1;
                        continue;
                    }
                };
                r.set_window(window.from, window.to);
                loop {
                    buf.clear();
                    match r.next_block(&mut buf) {
                        Ok(true) => {
                            if !deliver(&mut buf, &mut summary)? {
                                return Ok(summary);
                            }
                        }
                        Ok(false) => break,
                        Err(e) => {
                            warn(e);
                            summary.damaged += 1;
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(summary)
}
