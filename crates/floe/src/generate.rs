//! `floe generate`: man pages and shell completions, made from the same
//! clap definitions as the command line itself, so they cannot drift.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::args::OutputFileArg;
use crate::error::{CliError, Result};
use crate::out::Out;

/// Write man pages or shell completions (for packagers).
///
/// Example: floe generate man --dir /usr/local/share/man/man1
#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// floe.1 on stdout, or with --dir every page (floe.1, floe-cat.1, ...).
    Man {
        /// Write into this directory (created if missing).
        ///
        /// Every page, one file each.
        #[arg(long, value_name = "DIR", alias = "out", conflicts_with = "output")]
        dir: Option<PathBuf>,
        #[command(flatten)]
        output: OutputFileArg,
    },
    /// A completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
        #[command(flatten)]
        output: OutputFileArg,
    },
}

/// Generates for `cmd`, the whole command line of `floe`.
pub fn run(a: GenerateArgs, mut cmd: clap::Command) -> Result<()> {
    // Both generators write as they go and give up on a write error (one
    // panics): they write to memory, and the output path takes it from
    // there.
    let mut text = Vec::new();
    let output = match a.what {
        What::Man { dir: Some(dir), .. } => {
            let fail = |e: std::io::Error| {
                CliError::Output(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", dir.display()),
                ))
            };
            std::fs::create_dir_all(&dir).map_err(fail)?;
            return clap_mangen::generate_to(cmd, &dir).map_err(fail);
        }
        What::Man { dir: None, output } => {
            clap_mangen::Man::new(cmd)
                .render(&mut text)
                .map_err(CliError::Output)?;
            output
        }
        What::Completions { shell, output } => {
            clap_complete::generate(shell, &mut cmd, "floe", &mut text);
            output
        }
    };
    let mut out = Out::open(output.output.as_deref())?;
    std::io::Write::write_all(&mut out, &text).map_err(CliError::Output)?;
    out.finish()
}
