//! The progress bar of a long read, on stderr when it is a terminal.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::sources::Source;

/// The progress bar on stderr for reads of files, drawn only when stderr is
/// a terminal (never in pipes, logs or cron mail): bytes of the selected
/// files done, flows so far, rate and time left. Shared by reading threads.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    flows: std::sync::atomic::AtomicU64,
    pending: std::sync::atomic::AtomicU64,
}

impl Progress {
    /// The bar for reading `sources` (drawn only on a terminal).
    pub fn new(sources: &[Source]) -> Progress {
        let files: Vec<&PathBuf> = sources
            .iter()
            .filter_map(|s| match s {
                Source::File(p) | Source::FlowTools(p) => Some(p),
                Source::Stdin => None,
            })
            .collect();
        let total: u64 = files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let bar = (!files.is_empty() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {msg} {elapsed} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            flows: Default::default(),
            pending: Default::default(),
        }
    }

    /// A file starts: the previous one is done.
    pub fn file(&self, path: &std::path::Path) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(bar) = &self.bar {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            bar.inc(self.pending.swap(size, Relaxed));
        }
    }

    /// One of `blocks` blocks in all is done (parallel reads).
    pub fn fraction(&self, blocks: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(self.total / blocks.max(1) as u64);
        }
    }

    /// `n` more flows read.
    pub fn flows(&self, n: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(bar) = &self.bar {
            let all = self.flows.fetch_add(n as u64, Relaxed) + n as u64;
            bar.set_message(format!("{all} flows"));
        }
    }
}

/// However reading ends (all read, `--records` reached, an error), the bar
/// leaves no trace on the terminal.
impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
