//! `floe generate`: man pages and shell completions, made from the same
//! clap definitions as the command line itself, so they cannot drift.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Subcommand};

/// Write man pages or shell completions (for packagers).
///
/// Example: floe generate man --out /usr/local/share/man/man1
#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// floe.1 and one page per subcommand (floe-cat.1, ...).
    Man {
        /// Directory to write the pages in (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// A completion script on stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

pub fn run(a: GenerateArgs) -> Result<i32, String> {
    let cmd = crate::Cli::command();
    match a.what {
        What::Man { out } => {
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            clap_mangen::generate_to(cmd, &out).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        What::Completions { shell } => {
            let mut cmd = cmd;
            clap_complete::generate(shell, &mut cmd, "floe", &mut std::io::stdout());
        }
    }
    Ok(0)
}
