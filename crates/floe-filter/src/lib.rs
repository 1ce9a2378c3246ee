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
//!
//! Hostile text is refused, never a crash: parentheses and `not`s nest at
//! most [`MAX_NESTING`] deep (evaluating, printing and dropping a filter
//! recurse only that deep: `and`/`or` chains are flat lists), and a number
//! outside its field's range (`tos 300`, `as 4294967296`) is an error that
//! gives the range.
//!
//! The same filter runs on columns ([`Filter::select`] over a
//! [`floe_flow::FlowBatch`], vectorised loops into a row mask) and on a
//! block's statistics before it is decompressed ([`Filter::on_stats`]:
//! never, always or maybe); the row predicate stays the oracle.
//!
//! Times written without a UTC offset (`first > 2026-11-22 10:00`) are
//! read in the zone of the [`Options`] a filter is compiled with: UTC
//! unless the caller sets one (`floe filter --zone`).
#![forbid(unsafe_code)]

mod columns;
mod expr;
mod lex;
pub mod nfilter;
pub mod parse;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use columns::{selected, Scratch, Verdict};
pub use expr::{AddrField, Cmp, Expr, Net, NumField};
use floe_flow::Flow;
pub use nfilter::FilterFile;
pub use parse::MAX_NESTING;

/// A time zone for the wall-clock times written in a filter: turns a date
/// and time as written into the instant it names. Implemented by the
/// caller's zone type (the CLI's `--zone`); [`Utc`] is the default.
pub trait WallClock: fmt::Debug + Send + Sync {
    /// The instant (UTC ms) that the wall-clock time `local` names in
    /// this zone (in a DST gap or repeated hour, the zone's choice).
    fn instant(&self, local: chrono::NaiveDateTime) -> i64;
}

/// Wall-clock times are UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Utc;

impl WallClock for Utc {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        local.and_utc().timestamp_millis()
    }
}

/// How filter text compiles. The default reads times in UTC.
#[derive(Clone, Debug)]
pub struct Options {
    zone: Arc<dyn WallClock>,
    includes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            zone: Arc::new(Utc),
            includes: true,
        }
    }
}

impl Options {
    /// Refuses `@include`: for text from someone who may not read this
    /// machine's files (a browser, a socket client).
    pub fn without_includes(mut self) -> Self {
        self.includes = false;
        self
    }

    /// Whether `@include` may read files.
    pub fn includes(&self) -> bool {
        self.includes
    }

    /// Reads the times written without a UTC offset in `zone`.
    pub fn with_zone(mut self, zone: impl WallClock + 'static) -> Self {
        self.zone = Arc::new(zone);
        self
    }

    /// The zone times are read in.
    pub fn zone(&self) -> &dyn WallClock {
        &*self.zone
    }
}

/// A syntax or meaning error in a filter, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// The file, when the text came from one.
    pub file: Option<String>,
    /// Line of the error, from 1.
    pub line: usize,
    /// Column of the error, from 1.
    pub col: usize,
    /// What is wrong.
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
    /// Compiles an expression (empty text matches everything), times in UTC.
    ///
    /// ```
    /// use floe_filter::Filter;
    /// use floe_flow::Flow;
    ///
    /// let filter = Filter::parse("proto tcp and dst port 443 and src net 10.0.0.0/8")?;
    /// let mut flow = Flow {
    ///     src_addr: "10.1.2.3".parse()?,
    ///     dst_addr: "192.0.2.7".parse()?,
    ///     protocol: 6,
    ///     dst_port: 443,
    ///     ..Flow::default()
    /// };
    /// assert!(filter.matches(&flow));
    /// flow.dst_port = 80;
    /// assert!(!filter.matches(&flow));
    ///
    /// // Errors say where.
    /// let err = Filter::parse("proto tcp and dst port 70000").unwrap_err();
    /// assert_eq!((err.line, err.col), (1, 24));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Self::parse_with(text, &Options::default())
    }

    /// Compiles an expression with these options.
    pub fn parse_with(text: &str, options: &Options) -> Result<Filter, FilterError> {
        parse::parse(text, None, options).map(|expr| Filter { expr })
    }

    /// Compiles the expression in a file, times in UTC.
    pub fn from_file(path: &Path) -> Result<Filter, FilterError> {
        Self::from_file_with(path, &Options::default())
    }

    /// Compiles the expression in a file with these options.
    pub fn from_file_with(path: &Path, options: &Options) -> Result<Filter, FilterError> {
        let text = std::fs::read_to_string(path).map_err(|e| FilterError {
            file: Some(path.display().to_string()),
            line: 0,
            col: 0,
            message: e.to_string(),
        })?;
        parse::parse(&text, Some(path), options).map(|expr| Filter { expr })
    }

    /// True when the flow matches.
    #[inline]
    pub fn matches(&self, f: &Flow) -> bool {
        self.expr.matches(f)
    }

    /// The compiled expression, for callers that inspect or explain it.
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
