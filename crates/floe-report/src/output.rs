//! How one output of a report is shown: sort and records, and flow-tools'
//! `fields`, `options` and `tally`, shared by the config file and the
//! command line.

use crate::error::ReportError;
use crate::report::Sort;

/// A flow-tools `+NAME,-NAME` list (commas or spaces) as (on, name)
/// pairs, names in lower case; `what` names an item in errors.
fn toggles(spec: &str, what: &'static str) -> Result<Vec<(bool, String)>, ReportError> {
    spec.split([',', ' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(|w| match (w.strip_prefix('+'), w.strip_prefix('-')) {
            (Some(n), _) => Ok((true, n.to_ascii_lowercase())),
            (_, Some(n)) => Ok((false, n.to_ascii_lowercase())),
            _ => Err(ReportError::Unsigned {
                what,
                word: w.to_string(),
            }),
        })
        .collect()
}

/// Columns shown (flow-tools `fields +NAME,-NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields {
    /// The key column(s).
    pub key: bool,
    /// Flows.
    pub flows: bool,
    /// Octets.
    pub octets: bool,
    /// Packets.
    pub packets: bool,
    /// Summed duration.
    pub duration: bool,
    /// Average of the flows' bits per second.
    pub avg_bps: bool,
    /// Smallest flow's bits per second.
    pub min_bps: bool,
    /// Largest flow's bits per second.
    pub max_bps: bool,
    /// Average of the flows' packets per second.
    pub avg_pps: bool,
    /// Smallest flow's packets per second.
    pub min_pps: bool,
    /// Largest flow's packets per second.
    pub max_pps: bool,
    /// The distinct count of a count report.
    pub count: bool,
    /// Flows with a duration (the ones the rates are over).
    pub frecs: bool,
}

impl Default for Fields {
    /// flow-report's default: the key and the four counters.
    fn default() -> Fields {
        Fields {
            key: true,
            flows: true,
            octets: true,
            packets: true,
            duration: true,
            avg_bps: false,
            min_bps: false,
            max_bps: false,
            avg_pps: false,
            min_pps: false,
            max_pps: false,
            count: true,
            frecs: false,
        }
    }
}

impl Fields {
    /// Every column off (to turn on only those named, with [`Fields::set`]).
    pub fn none() -> Fields {
        Fields {
            key: false,
            flows: false,
            octets: false,
            packets: false,
            duration: false,
            avg_bps: false,
            min_bps: false,
            max_bps: false,
            avg_pps: false,
            min_pps: false,
            max_pps: false,
            count: false,
            frecs: false,
        }
    }

    /// Applies `+name,-name ...` (commas or spaces), flow-tools' `fields`.
    pub fn apply(&mut self, spec: &str) -> Result<(), ReportError> {
        for (on, name) in toggles(spec, "field")? {
            self.set(&name, on)?;
        }
        Ok(())
    }

    /// Turns one column on or off by its name (lower case); `bps` and
    /// `pps` are the three rates each, `key1`..`key4` stand for the key.
    pub fn set(&mut self, name: &str, on: bool) -> Result<(), ReportError> {
        {
            let flags: Vec<&mut bool> = match name {
                "key" | "key1" | "key2" | "key3" | "key4" => vec![&mut self.key],
                "flows" => vec![&mut self.flows],
                "octets" => vec![&mut self.octets],
                "packets" => vec![&mut self.packets],
                "duration" => vec![&mut self.duration],
                "avg-bps" => vec![&mut self.avg_bps],
                "min-bps" => vec![&mut self.min_bps],
                "max-bps" => vec![&mut self.max_bps],
                "avg-pps" => vec![&mut self.avg_pps],
                "min-pps" => vec![&mut self.min_pps],
                "max-pps" => vec![&mut self.max_pps],
                "bps" => vec![&mut self.avg_bps, &mut self.min_bps, &mut self.max_bps],
                "pps" => vec![&mut self.avg_pps, &mut self.min_pps, &mut self.max_pps],
                "count" => vec![&mut self.count],
                "frecs" => vec![&mut self.frecs],
                // flow-tools' index/first/last/other have nothing to show here.
                "other" | "index" | "first" | "last" => vec![],
                _ => return Err(ReportError::UnknownField(name.to_string())),
            };
            for f in flags {
                *f = on;
            }
        }
        Ok(())
    }

    /// Any rate shown.
    pub fn rates(&self) -> bool {
        self.avg_bps || self.min_bps || self.max_bps || self.avg_pps || self.min_pps || self.max_pps
    }
}

/// Output options (flow-tools `options +NAME,-NAME`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The report information block at the top.
    pub header: bool,
    /// More of it: the input's time span.
    pub xheader: bool,
    /// The `# rec1:` totals line.
    pub totals: bool,
    /// Counters as percentages of the totals.
    pub percent_total: bool,
    /// Port, protocol and AS names instead of numbers.
    pub names: bool,
}

impl Options {
    /// Applies `+name,-name ...` (commas or spaces), flow-tools' `options`.
    pub fn apply(&mut self, spec: &str) -> Result<(), ReportError> {
        for (on, name) in toggles(spec, "option")? {
            let flag = match name.as_str() {
                "header" => &mut self.header,
                "xheader" => &mut self.xheader,
                "totals" => &mut self.totals,
                "percent-total" => &mut self.percent_total,
                "names" => &mut self.names,
                _ => return Err(ReportError::UnknownOption(name)),
            };
            *flag = on;
        }
        Ok(())
    }

    /// As flow-report lists them in its header (`+header,+totals`).
    pub fn names(&self) -> String {
        let mut v = Vec::new();
        for (on, n) in [
            (self.percent_total, "+percent-total"),
            (self.names, "+names"),
            (self.header, "+header"),
            (self.xheader, "+xheader"),
            (self.totals, "+totals"),
        ] {
            if on {
                v.push(n);
            }
        }
        v.join(",")
    }
}

/// One output of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// How rows are sorted.
    pub sort: Sort,
    /// At most this many rows (all when none).
    pub records: Option<usize>,
    /// The columns shown.
    pub fields: Fields,
    /// Header, totals, percentages and names.
    pub options: Options,
    /// A `#TALLY` line of running percentages every N rows.
    pub tally: Option<u64>,
    /// Where the output goes (strftime fields; `|command` pipes to it).
    pub path: Option<String>,
    /// Which time the path's strftime fields are.
    pub time: PathTime,
}

/// flow-tools' output `time`: the instant a `path`'s strftime fields
/// show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathTime {
    /// When the report is written.
    Now,
    /// The first flow's start.
    Start,
    /// The last flow's end.
    End,
    /// Halfway (flow-report's default).
    #[default]
    Mid,
}

impl PathTime {
    /// `now`, `start`, `end` or `mid`, as flow-tools writes them.
    pub fn parse(s: &str) -> Result<PathTime, ReportError> {
        match s {
            "now" => Ok(PathTime::Now),
            "start" => Ok(PathTime::Start),
            "end" => Ok(PathTime::End),
            "mid" => Ok(PathTime::Mid),
            _ => Err(ReportError::BadPathTime(s.to_string())),
        }
    }

    /// The instant (ms), given the report's first and last flow times.
    pub fn at(&self, now_ms: i64, first_ms: i64, last_ms: i64) -> i64 {
        if first_ms > last_ms {
            return now_ms;
        }
        match self {
            PathTime::Now => now_ms,
            PathTime::Start => first_ms,
            PathTime::End => last_ms,
            PathTime::Mid => first_ms + (last_ms - first_ms) / 2,
        }
    }
}

impl Output {
    /// An output sorted by `sort` (`+octets`, `-key`...), with the default fields
    /// and options.
    pub fn new(sort: &str) -> Result<Output, ReportError> {
        Ok(Output {
            sort: Sort::parse(sort)?,
            records: None,
            fields: Fields::default(),
            options: Options::default(),
            tally: None,
            path: None,
            time: PathTime::Mid,
        })
    }

    /// Whether the report must keep rates for this output.
    pub fn needs_rates(&self) -> bool {
        self.fields.rates() || self.sort.needs_rates()
    }
}
