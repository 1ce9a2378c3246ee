//! What can go wrong: a rules file that does not make sense (with the
//! place), a state file that cannot be read or written, a store file that
//! cannot be read, an action that fails.

use std::fmt;
use std::path::PathBuf;

/// A mistake in a rules file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    /// The rules file, as shown in messages.
    pub file: String,
    /// 1-based; 0 when the mistake has no place (the file cannot be read).
    pub line: usize,
    /// 1-based column in that line; 0 with a `line` of 0.
    pub col: usize,
    /// The rule it is in, when it is in one.
    pub rule: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        if let Some(r) = &self.rule {
            write!(f, ": rule {r:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RulesError {}

/// What stops an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The rules file does not make sense.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// The state file cannot be read, parsed or written.
    #[error("state file {}: {message}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What went wrong with it.
        message: String,
    },
    /// A store file that cannot be read (the evaluation goes on with the
    /// others).
    #[error(transparent)]
    Store(#[from] floe_store::StoreError),
    /// A rule's window holds more distinct keys than it may.
    #[error("rule {rule:?}: more than {max} distinct keys in one window; raise max_keys or narrow its filter")]
    TooManyKeys {
        /// The rule whose window it is.
        rule: String,
        /// The most keys a window may hold (the rules file's `max_keys`).
        max: usize,
    },
    /// An action that could not run or failed.
    #[error("{0}")]
    Action(String),
}
