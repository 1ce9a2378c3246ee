//! The floe filter language.
//!
//! One-line expressions in the nfdump/tcpdump style
//! (`proto tcp and (dst port 443 or dst port 80) and src net 10.0.0.0/8 and
//! bytes > 1M`) compile to one predicate, [`Filter`], that `floe filter`,
//! reports and the daemon can run on every flow without allocating. The
//! grammar is in [`parse`](mod@parse). flow-tools filter files
//! (`filter-primitive` / `filter-definition`, [`FilterFile`]) compile to
//! the same predicate.
//!
//! A filter prints back as an expression that parses to the same filter
//! (`floe filter --explain`). Errors name the line and column (and the file
//! for `@include`d text), say what was expected, and list the valid tests.

mod expr;
mod lex;
pub mod nfilter;
pub mod parse;

use std::fmt;
use std::path::Path;

pub use expr::{AddrField, Cmp, Expr, Net, NumField};
use floe_flow::Flow;
pub use nfilter::FilterFile;

/// A syntax or meaning error in a filter, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// The file, when the text came from one.
    pub file: Option<String>,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) if self.line == 0 => write!(f, "{file}: {}", self.message),
            Some(file) => write!(f, "{file}:{}:{}: {}", self.line, self.col, self.message),
            None => write!(
                f,
                "filter line {}, column {}: {}",
                self.line, self.col, self.message
            ),
        }
    }
}

/// A compiled filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Compiles an expression (empty text matches everything).
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        parse::parse(text, None).map(|expr| Filter { expr })
    }

    /// Compiles the expression in a file.
    pub fn from_file(path: &Path) -> Result<Filter, FilterError> {
        let text = std::fs::read_to_string(path).map_err(|e| FilterError {
            file: Some(path.display().to_string()),
            line: 0,
            col: 0,
            message: e.to_string(),
        })?;
        parse::parse(&text, Some(path)).map(|expr| Filter { expr })
    }

    /// True when the flow matches.
    #[inline]
    pub fn matches(&self, f: &Flow) -> bool {
        self.expr.matches(f)
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The catalog names of the flow fields the filter reads.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        self.expr.fields(&mut v);
        v.sort_unstable();
        v.dedup();
        v
    }

    /// A filter from a compiled expression (a flow-tools definition, say).
    pub fn from_expr(expr: Expr) -> Filter {
        Filter { expr }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}
