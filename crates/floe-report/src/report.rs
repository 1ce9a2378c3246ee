//! A report being computed: the aggregation of flows by key, and its
//! sorted rows.

use std::cmp::Ordering;

use floe_flow::Flow;
use rustc_hash::FxHashMap;

use crate::counters::{Counters, Rates, Sample, Scale};
use crate::error::ReportError;
use crate::key::{compact_key, Duo, Key, KeyRef, Single, Val, MAX_PARTS};
use crate::kind::{KeyPart, ReportType};
use crate::summary::Summary;
use crate::table::Table;

/// How an address part of a key is aggregated and shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddrStyle {
    /// The address itself.
    #[default]
    Address,
    /// flow-tools' prefix-len: the address with the flow's mask length,
    /// `10.1.2.3/16` (host bits kept: one key per address and length).
    PrefixLen,
    /// flow-tools' prefix-mask: the network, `10.1.0.0/16` (host bits
    /// cleared: one key per prefix).
    PrefixMask,
}

/// flow-tools' `ip-source-address-format` / `ip-destination-address-format`:
/// `address`, `prefix-len` or `prefix-mask`, by the flow's own mask (the
/// exporter's source/destination mask field), as flow-report does; or with
/// `/N` (floe) the network of a fixed length, for exporters that send no
/// masks: `prefix-mask/24` (IPv6 then /64), `prefix-mask/24,48`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrFormat {
    /// Address, prefix length or network.
    pub style: AddrStyle,
    /// (IPv4, IPv6) prefix lengths instead of the flow's mask; the
    /// address is then always cut to the network.
    pub fixed: Option<(u8, u8)>,
}

impl AddrFormat {
    /// `address`, `prefix-len` or `prefix-mask`, optionally with `/V4[,V6]` fixed
    /// lengths.
    pub fn parse(s: &str) -> Result<AddrFormat, ReportError> {
        let bad = || ReportError::BadAddrFormat(s.to_string());
        let (style, fixed) = match s.trim().split_once('/') {
            Some((st, n)) => (st, Some(n)),
            None => (s.trim(), None),
        };
        let style = match style {
            "address" if fixed.is_none() => AddrStyle::Address,
            "prefix-len" => AddrStyle::PrefixLen,
            "prefix-mask" => AddrStyle::PrefixMask,
            _ => return Err(bad()),
        };
        let fixed = match fixed {
            None => None,
            Some(n) => {
                let (v4, v6) = match n.split_once(',') {
                    Some((a, b)) => (a, Some(b)),
                    None => (n, None),
                };
                let v4: u8 = v4.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
                let v6: u8 = match v6 {
                    Some(b) => b.parse().ok().filter(|l| *l <= 128).ok_or_else(bad)?,
                    None => 64,
                };
                Some((v4, v6))
            }
        };
        Ok(AddrFormat { style, fixed })
    }

    /// The address as this format keys it; `mask` is the flow's.
    pub(crate) fn apply(&self, v: Val, mask: u8) -> Val {
        if self.style == AddrStyle::Address {
            return v;
        }
        let cut = self.style == AddrStyle::PrefixMask || self.fixed.is_some();
        match v {
            Val::V4(a) => {
                let len = self.fixed.map_or(mask, |x| x.0).min(32);
                let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                Val::P4 {
                    addr: if cut { a & m } else { a },
                    len,
                }
            }
            Val::V6(a) => {
                let len = self.fixed.map_or(mask, |x| x.1).min(128);
                let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                Val::P6 {
                    addr: if cut { a & m } else { a },
                    len,
                }
            }
            other => other,
        }
    }
}

/// How a report counts, besides its type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// How source addresses become keys.
    pub src_format: AddrFormat,
    /// How destination addresses become keys.
    pub dst_format: AddrFormat,
    /// Octets and packets as exported or scaled.
    pub scale: Scale,
    /// Interval of a time series, seconds (0: the default, 300).
    pub interval_secs: u64,
    /// Keep per-key bits and packets per second (avg, min, max).
    pub rates: bool,
}

impl ReportOptions {
    /// The time-series interval in ms: 300 s when unset, at most a year.
    pub fn interval_ms(&self) -> i64 {
        match self.interval_secs {
            0 => 300_000,
            s => s.min(366 * 86_400) as i64 * 1000,
        }
    }
}

/// A flow spanning more time-series intervals than this is counted in
/// its first interval rather than spread (a flow with a broken clock must
/// not cost millions of table updates).
const MAX_PIECES: i64 = 4096;

/// What to sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    /// Flows.
    Flows,
    /// Octets.
    Octets,
    /// Packets.
    Packets,
    /// Summed duration.
    Duration,
    /// The key, from this part on (`key` and `key1` are part 0).
    Key(usize),
    /// Average bits per second.
    AvgBps,
    /// Smallest bits per second.
    MinBps,
    /// Largest bits per second.
    MaxBps,
    /// Average packets per second.
    AvgPps,
    /// Smallest packets per second.
    MinPps,
    /// Largest packets per second.
    MaxPps,
    /// The distinct count of a count report.
    Count,
}

/// `+FIELD` largest first, `-FIELD` smallest first (flow-report's actual
/// behaviour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// What is compared.
    pub field: SortField,
    /// True for `+FIELD`.
    pub largest_first: bool,
}

impl Sort {
    /// `+FIELD` or `-FIELD` (a bare name sorts largest first).
    pub fn parse(s: &str) -> Result<Sort, ReportError> {
        let t = s.trim();
        let (largest_first, name) = match t.strip_prefix('-') {
            Some(n) => (false, n),
            None => (true, t.trim_start_matches('+')),
        };
        let field = match name.to_ascii_lowercase().as_str() {
            "flows" => SortField::Flows,
            "octets" | "bytes" => SortField::Octets,
            "packets" => SortField::Packets,
            "duration" => SortField::Duration,
            "key" | "key1" | "" => SortField::Key(0),
            "key2" => SortField::Key(1),
            "key3" => SortField::Key(2),
            "key4" => SortField::Key(3),
            "avg-bps" => SortField::AvgBps,
            "min-bps" => SortField::MinBps,
            "max-bps" => SortField::MaxBps,
            "avg-pps" => SortField::AvgPps,
            "min-pps" => SortField::MinPps,
            "max-pps" => SortField::MaxPps,
            "count" => SortField::Count,
            _ => return Err(ReportError::UnknownSort(s.to_string())),
        };
        Ok(Sort {
            field,
            largest_first,
        })
    }

    /// The name as written (`+octets`).
    pub fn name(&self) -> String {
        let f = match self.field {
            SortField::Flows => "flows".to_string(),
            SortField::Octets => "octets".into(),
            SortField::Packets => "packets".into(),
            SortField::Duration => "duration".into(),
            SortField::Key(0) => "key".into(),
            SortField::Key(i) => format!("key{}", i + 1),
            SortField::AvgBps => "avg-bps".into(),
            SortField::MinBps => "min-bps".into(),
            SortField::MaxBps => "max-bps".into(),
            SortField::AvgPps => "avg-pps".into(),
            SortField::MinPps => "min-pps".into(),
            SortField::MaxPps => "max-pps".into(),
            SortField::Count => "count".into(),
        };
        format!("{}{f}", if self.largest_first { "+" } else { "-" })
    }

    /// Sorting by a rate needs the report to keep rates.
    pub fn needs_rates(&self) -> bool {
        matches!(
            self.field,
            SortField::AvgBps
                | SortField::MinBps
                | SortField::MaxBps
                | SortField::AvgPps
                | SortField::MinPps
                | SortField::MaxPps
        )
    }

    /// The sort key of a row's counters: an integer, or a rate.
    fn metric(&self, c: &Counters, r: Option<&Rates>, count: u64) -> (u64, f64) {
        let rate = |f: fn(&Rates) -> f64| (0, r.map_or(0.0, f));
        match self.field {
            SortField::Flows => (c.flows, 0.0),
            SortField::Octets => (c.octets, 0.0),
            SortField::Packets => (c.packets, 0.0),
            SortField::Duration => (c.duration_ms, 0.0),
            SortField::Key(_) => (0, 0.0),
            SortField::Count => (count, 0.0),
            SortField::AvgBps => rate(Rates::avg_bps),
            SortField::MinBps => rate(|r| r.min_bps),
            SortField::MaxBps => rate(|r| r.max_bps),
            SortField::AvgPps => rate(Rates::avg_pps),
            SortField::MinPps => rate(|r| r.min_pps),
            SortField::MaxPps => rate(|r| r.max_pps),
        }
    }

    fn by_metric(&self, a: (u64, f64), b: (u64, f64)) -> Ordering {
        let o = a.0.cmp(&b.0).then(a.1.total_cmp(&b.1));
        if self.largest_first {
            o.reverse()
        } else {
            o
        }
    }

    fn first_part(&self) -> usize {
        match self.field {
            SortField::Key(i) => i,
            _ => 0,
        }
    }

    /// Keys break ties smallest first, except when the key is the sort.
    fn key_reversed(&self) -> bool {
        matches!(self.field, SortField::Key(_)) && self.largest_first
    }
}

/// One row of a finished report.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The key's values, one per part.
    pub key: Vec<Val>,
    /// Its counters.
    pub counters: Counters,
    /// When the report keeps rates.
    pub rates: Option<Rates>,
    /// The distinct count of a count report.
    pub count: Option<u64>,
}

/// Per-key rates, in tables beside the counters' (only when asked for:
/// they would double the memory of every report).
pub(crate) struct RateTables {
    pub(crate) compact: Table<u128, Rates>,
    pub(crate) single: Table<Single, Rates>,
    pub(crate) wide: Table<Key, Rates>,
}

/// A report being computed.
pub struct Report {
    /// What the report counts by.
    pub kind: ReportType,
    /// How it counts.
    pub options: ReportOptions,
    /// Keys whose parts all fit 32 bits (every address part IPv4), four
    /// parts packed into a u128. FxHash rather than SipHash: keys are our
    /// own flows' values, not attacker-chosen hash flooding input worth
    /// SipHash's cost, and the tables are capped by max_keys anyway.
    /// Packing keeps a report's memory a fraction of what boxed keys took;
    /// benches/compare-query.sh measures both (figures in the README).
    pub(crate) compact: crate::packed::CompactTable,
    /// One-part keys that are not compact.
    pub(crate) single: crate::packed::PackedTable<Single>,
    /// Keys of several parts with an IPv6 part, a prefix, or a number over
    /// 32 bits, that fit a [`Duo`].
    pub(crate) duo: crate::packed::PackedTable<Duo>,
    /// The other keys of several parts.
    pub(crate) wide: crate::packed::PackedTable<Key>,
    pub(crate) rates: Option<Box<RateTables>>,
    /// Every flow counted.
    pub totals: Counters,
    /// Rates over all flows (when the report keeps rates).
    pub total_rates: Rates,
    /// Flows with zero packets (after scaling): not counted anywhere else,
    /// as flow-report does (flow-tools' "ignores").
    pub ignores: u64,
    /// Start of the earliest flow counted, UTC ms.
    pub first_ms: i64,
    /// End of the latest flow counted, UTC ms.
    pub last_ms: i64,
    /// The summary distributions, for the summary types.
    pub summary: Option<Box<Summary>>,
    pub(crate) max_keys: usize,
    /// Parts in a stored key.
    pub(crate) width: usize,
    /// Which part is a time-series interval.
    pub(crate) interval_at: Option<usize>,
    /// Buffers of [`Report::add_batch`].
    pub(crate) scratch: crate::columns::BatchScratch,
    /// Rows counted elsewhere (see [`Report::counted`]) and how many keys
    /// there were in all.
    counted: Option<(Vec<Row>, usize)>,
    /// Rows [`Report::add_batch`] has been given, and how many it is to
    /// be given in all (0: not known), for its tables' growth.
    pub(crate) rows_seen: u64,
    rows_expected: u64,
    /// Threads [`Report::rows`] may read a large report's tables on.
    threads: usize,
}

/// Keys from which [`Report::rows`] reads the tables on more than one
/// thread.
const PARALLEL_ROWS: usize = 1 << 18;

impl Report {
    /// An empty report of type `kind` keeping at most `max_keys` keys, default
    /// options.
    ///
    /// ```
    /// use floe_flow::Flow;
    /// use floe_report::{Report, ReportType, Sort};
    ///
    /// let flow = |src: &str, octets: u64| Flow {
    ///     src_addr: src.parse().unwrap(),
    ///     packets: 1,
    ///     octets,
    ///     ..Flow::default()
    /// };
    /// let mut report = Report::new(ReportType::parse("ip-source-address")?, 1_000_000);
    /// report.add(&[flow("10.0.0.1", 100), flow("10.0.0.2", 700), flow("10.0.0.1", 300)])?;
    ///
    /// // The top sources by octets, largest first.
    /// let rows = report.rows(Sort::parse("+octets")?, Some(10));
    /// let top: Vec<(String, u64, u64)> = rows
    ///     .iter()
    ///     .map(|r| (r.key[0].to_string(), r.counters.flows, r.counters.octets))
    ///     .collect();
    /// assert_eq!(
    ///     top,
    ///     [("10.0.0.2".to_string(), 1, 700), ("10.0.0.1".to_string(), 2, 400)]
    /// );
    /// assert_eq!(report.totals.octets, 1_100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(kind: ReportType, max_keys: usize) -> Report {
        Report::with_options(kind, max_keys, ReportOptions::default())
    }

    /// An empty report with these options.
    pub fn with_options(kind: ReportType, max_keys: usize, options: ReportOptions) -> Report {
        let width = kind.width();
        Report {
            width,
            interval_at: kind.parts.iter().position(|p| *p == KeyPart::Interval),
            counted: None,
            summary: kind.summary.map(|k| Box::new(Summary::new(k))),
            rates: options.rates.then(|| {
                Box::new(RateTables {
                    compact: Table::new(),
                    single: Table::new(),
                    wide: Table::new(),
                })
            }),
            kind,
            options,
            compact: crate::packed::CompactTable::new(width),
            single: crate::packed::PackedTable::new(),
            duo: crate::packed::PackedTable::new(),
            wide: crate::packed::PackedTable::new(),
            totals: Counters::default(),
            total_rates: Rates::default(),
            ignores: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            max_keys,
            scratch: Default::default(),
            rows_seen: 0,
            rows_expected: 0,
            threads: 1,
        }
    }

    /// Tells the report that about `rows` rows are to be added to it in
    /// all (a thread's share of the files it reads), counted as
    /// [`Report::add_batch`] counts them: a whole batch per call, before
    /// any filter. A table of mostly new keys then grows at once to the
    /// size the rest of the rows will need, instead of by half many times
    /// over. [`Report::clear`] forgets it.
    pub fn expect_rows(&mut self, rows: u64) {
        self.rows_expected = rows;
    }

    /// Lets [`Report::rows`] read a large report's tables on up to
    /// `threads` threads.
    pub fn use_threads(&mut self, threads: usize) {
        self.threads = threads;
    }

    /// Passes on to the tables how many rows are to come per row seen.
    pub(crate) fn look_ahead(&mut self) {
        if self.rows_expected == 0 || self.rows_seen == 0 {
            return;
        }
        let left = self.rows_expected.saturating_sub(self.rows_seen) as f64 / self.rows_seen as f64;
        self.compact.expect(left);
        self.single.expect(left);
        self.duo.expect(left);
        self.wide.expect(left);
    }

    /// Empties the report for other flows, keeping its tables' room: a
    /// report per file over many files of alike size reuses one instead of
    /// growing new tables (and faulting their pages in) for each.
    pub fn clear(&mut self) {
        self.compact.clear();
        self.single.clear();
        self.duo.clear();
        self.wide.clear();
        let fresh = Report::with_options(self.kind.clone(), self.max_keys, self.options);
        self.rates = fresh.rates;
        self.summary = fresh.summary;
        self.counted = None;
        self.totals = fresh.totals;
        self.total_rates = fresh.total_rates;
        self.ignores = 0;
        self.first_ms = fresh.first_ms;
        self.last_ms = fresh.last_ms;
        self.rows_seen = 0;
        self.rows_expected = 0;
    }

    /// The catalog fields the report reads: its type's, and the masks and
    /// sampling interval its options need. Only these columns are decoded.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = self.kind.fields();
        let by_mask = |f: &AddrFormat| f.style != AddrStyle::Address && f.fixed.is_none();
        if by_mask(&self.options.src_format) {
            out.push("source-mask");
        }
        if by_mask(&self.options.dst_format) {
            out.push("destination-mask");
        }
        if self.options.scale == Scale::Sampling {
            out.push("sampling-interval");
        }
        out
    }

    /// A key part's value for a flow, with the address formats applied.
    fn value(&self, p: KeyPart, f: &Flow, s: &Sample) -> Val {
        let v = p.value(f, s);
        match p {
            KeyPart::SrcAddr => self.options.src_format.apply(v, f.src_mask),
            KeyPart::DstAddr => self.options.dst_format.apply(v, f.dst_mask),
            _ => v,
        }
    }

    fn key_of(&self, f: &Flow, s: &Sample, end: Option<KeyPart>) -> [Val; MAX_PARTS] {
        let mut k = [Val::N(0); MAX_PARTS];
        match end {
            Some(e) => k[0] = self.value(e, f, s),
            None => {
                for (slot, p) in k.iter_mut().zip(&self.kind.parts) {
                    *slot = self.value(*p, f, s);
                }
            }
        }
        k
    }

    /// Adds flows to the report.
    pub fn add(&mut self, flows: &[Flow]) -> Result<(), ReportError> {
        for f in flows {
            let s = self.options.scale.sample(f);
            if s.packets == 0 {
                self.ignores += 1;
                continue;
            }
            self.totals.add(&s);
            if self.options.rates {
                self.total_rates.add(&s);
            }
            self.first_ms = self.first_ms.min(f.start_ms);
            self.last_ms = self.last_ms.max(f.end_ms);
            if let Some(sum) = &mut self.summary {
                sum.add(&s);
                continue;
            }
            if let Some(at) = self.interval_at {
                let mut k = self.key_of(f, &s, None);
                for (start, piece) in pieces(f.start_ms, &s, self.options.interval_ms()) {
                    k[at] = Val::T(start);
                    self.bump(&k, &piece)?;
                }
                continue;
            }
            if self.kind.both_ends {
                let ends = if self.kind.parts[0].is_address() {
                    [KeyPart::SrcAddr, KeyPart::DstAddr]
                } else {
                    [KeyPart::SrcPort, KeyPart::DstPort]
                };
                let a = self.key_of(f, &s, Some(ends[0]));
                let b = self.key_of(f, &s, Some(ends[1]));
                self.bump(&a, &s)?;
                // A flow whose two ends are equal counts once.
                if a != b {
                    self.bump(&b, &s)?;
                }
            } else {
                let k = self.key_of(f, &s, None);
                self.bump(&k, &s)?;
            }
        }
        Ok(())
    }

    pub(crate) fn bump(&mut self, k: &[Val; MAX_PARTS], s: &Sample) -> Result<(), ReportError> {
        let full = self.keys() >= self.max_keys;
        let vals = &k[..self.width];
        let added = match compact_key(vals) {
            Some(key) => {
                if let Some(r) = &mut self.rates {
                    r.compact.bump(key, false, |x| x.add(s));
                }
                self.compact.bump(key, full, s)
            }
            None if vals.len() == 1 => {
                let key = Single::pack(&vals[0]);
                if let Some(r) = &mut self.rates {
                    r.single.bump(key, false, |x| x.add(s));
                }
                self.single.bump(key, full, s)
            }
            None => {
                let key = Key::pack(vals);
                if let Some(r) = &mut self.rates {
                    r.wide.bump(key, false, |x| x.add(s));
                }
                match Duo::of(&key) {
                    Some(d) => self.duo.bump(d, full, s),
                    None => self.wide.bump(key, full, s),
                }
            }
        };
        if added {
            Ok(())
        } else {
            Err(ReportError::TooManyKeys(self.max_keys))
        }
    }

    fn rates_of(&self, k: KeyRef) -> Option<Rates> {
        let t = self.rates.as_ref()?;
        Some(
            match k {
                KeyRef::Compact(c) => t.compact.get(&c),
                KeyRef::Single(k) => t.single.get(k),
                KeyRef::Wide(w) => t.wide.get(w),
                KeyRef::Duo(d) => t.wide.get(&d.key()),
            }
            .copied()
            .unwrap_or_default(),
        )
    }

    /// The rows, sorted, at most `records` of them. Only the rows shown
    /// are fully sorted (a partial selection finds them first).
    pub fn rows(&self, sort: Sort, records: Option<usize>) -> Vec<Row> {
        if let Some((rows, _)) = &self.counted {
            let mut rows = rows.clone();
            sort_rows(&mut rows, sort);
            rows.truncate(records.unwrap_or(usize::MAX));
            return rows;
        }
        if self.kind.count {
            return self.count_rows(sort, records);
        }
        if self.summary.is_some() {
            return Vec::new();
        }
        let width = self.width;
        let lanes = self.kind.lanes();
        let parts = &lanes[..];
        let first = sort.first_part().min(width.saturating_sub(1));
        let with_rates = sort.needs_rates();
        let order = |a: &(KeyRef, &Counters, (u64, f64)), b: &(KeyRef, &Counters, (u64, f64))| {
            sort.by_metric(a.2, b.2).then_with(|| {
                let (x, y) = (a.0.key(parts, width), b.0.key(parts, width));
                if sort.key_reversed() {
                    y.cmp_parts(&x, width, first)
                } else {
                    x.cmp_parts(&y, width, first)
                }
            })
        };
        let n = records.unwrap_or(usize::MAX);
        if n == 0 {
            return Vec::new();
        }
        // Top N in O(keys) time and O(N) memory: keep a buffer of at most
        // 2N candidates, cut back to the best N whenever it fills; past
        // the first cut, a key behind the N-th kept is not a candidate
        // (most keys of a large table, each passed over with a compare).
        let best = |part: usize, parts: usize| {
            let cap = n.saturating_mul(2).max(4096);
            let mut rows = Vec::new();
            let mut bar = None;
            for (k, c) in self.entries_part(part, parts) {
                let r = if with_rates { self.rates_of(k) } else { None };
                let row = (k, c, sort.metric(c, r.as_ref(), 0));
                if bar
                    .as_ref()
                    .is_some_and(|b| order(&row, b) != Ordering::Less)
                {
                    continue;
                }
                rows.push(row);
                if rows.len() >= cap {
                    rows.select_nth_unstable_by(n - 1, order);
                    rows.truncate(n);
                    bar = Some(rows[n - 1]);
                }
            }
            rows
        };
        // A large table's slots are read on every thread the report may
        // use, a part each: reading them was memory's pace on one core.
        // (Every row asked for: one thread, the rows gathered once.)
        let pieces = if self.keys() >= PARALLEL_ROWS && records.is_some() {
            self.threads.clamp(1, crate::packed::SHARDS)
        } else {
            1
        };
        let mut rows = if pieces == 1 {
            best(0, 1)
        } else {
            std::thread::scope(|scope| {
                let best = &best;
                let found: Vec<_> = (0..pieces)
                    .map(|p| scope.spawn(move || best(p, pieces)))
                    .collect();
                found
                    .into_iter()
                    .flat_map(|f| f.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect::<Vec<_>>()
            })
        };
        if n < rows.len() {
            rows.select_nth_unstable_by(n - 1, order);
            rows.truncate(n);
        }
        rows.sort_unstable_by(order);
        rows.into_iter()
            .map(|(k, c, _)| Row {
                key: k.key(parts, width).unpack(width),
                counters: *c,
                rates: self.rates_of(k),
                count: None,
            })
            .collect()
    }

    /// Every key with its counters, in no order (for callers that merge
    /// reports' rows themselves: sorting is what [`Report::rows`] costs).
    /// `each` gets the key's parts as shown by a row. Count and summary
    /// reports have no plain rows: nothing is given.
    pub fn each_row(&self, mut each: impl FnMut(&[Val], &Counters)) {
        if self.kind.count || self.summary.is_some() {
            return;
        }
        let width = self.width;
        let lanes = self.kind.lanes();
        let mut key = Vec::with_capacity(width);
        for (k, c) in self.entries() {
            k.key(&lanes, width).unpack_into(width, &mut key);
            each(&key, c);
        }
    }

    /// A count report's rows: the (first, second) pairs collapsed to the
    /// first part, counting the distinct seconds.
    fn count_rows(&self, sort: Sort, records: Option<usize>) -> Vec<Row> {
        let (lanes, width) = (self.kind.lanes(), self.width);
        let mut by_first: FxHashMap<Val, Row> = FxHashMap::default();
        for (k, c) in self.entries() {
            let first = k.key(&lanes, width).unpack(1)[0];
            let row = by_first.entry(first).or_insert_with(|| Row {
                key: vec![first],
                counters: Counters::default(),
                rates: self.rates.as_ref().map(|_| Rates::default()),
                count: Some(0),
            });
            row.counters.merge(c);
            row.count = row.count.map(|n| n + 1);
            if let (Some(r), Some(x)) = (&mut row.rates, self.rates_of(k)) {
                r.merge(&x);
            }
        }
        let mut rows: Vec<Row> = by_first.into_values().collect();
        sort_rows(&mut rows, sort);
        rows.truncate(records.unwrap_or(usize::MAX));
        rows
    }

    /// Adds a report of the same type computed over other flows (another
    /// thread's share of the blocks). Merge the smaller into the larger:
    /// the larger's table is the one that grows.
    pub fn merge(&mut self, other: Report) -> Result<(), ReportError> {
        self.merge_on(other, 1)
    }

    /// As [`Report::merge`], on up to `threads` threads.
    pub fn merge_on(&mut self, other: Report, threads: usize) -> Result<(), ReportError> {
        self.totals.merge(&other.totals);
        self.total_rates.merge(&other.total_rates);
        self.ignores += other.ignores;
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
        if let (Some(a), Some(b)) = (&mut self.summary, &other.summary) {
            a.merge(b);
        }
        self.compact.merge(other.compact, threads);
        self.single.merge(other.single, threads);
        self.duo.merge(other.duo, threads);
        self.wide.merge(other.wide, threads);
        if let (Some(a), Some(b)) = (&mut self.rates, other.rates) {
            a.compact.merge(b.compact);
            a.single.merge(b.single);
            a.wide.merge(b.wide);
        }
        if self.keys() > self.max_keys {
            return Err(ReportError::TooManyKeys(self.max_keys));
        }
        Ok(())
    }

    /// Number of distinct keys.
    pub fn keys(&self) -> usize {
        if let Some((_, keys)) = &self.counted {
            return *keys;
        }
        self.compact.len() + self.single.len() + self.duo.len() + self.wide.len()
    }

    /// A report counted elsewhere (ClickHouse answered it): its rows (all
    /// of them, or at least the ones an output shows, in any order),
    /// `keys` distinct keys in all, the totals over every flow counted,
    /// the flows ignored (no packets), the time span, and the summary's
    /// distributions. [`Report::rows`] sorts and cuts these rows as it
    /// would its own; the renderers show it like any other.
    #[allow(clippy::too_many_arguments)]
    pub fn counted(
        kind: ReportType,
        options: ReportOptions,
        rows: Vec<Row>,
        keys: usize,
        totals: Counters,
        total_rates: Rates,
        ignores: u64,
        (first_ms, last_ms): (i64, i64),
        summary: Option<Summary>,
    ) -> Report {
        let mut r = Report::with_options(kind, usize::MAX, options);
        r.counted = Some((rows, keys));
        r.totals = totals;
        r.total_rates = total_rates;
        r.ignores = ignores;
        r.first_ms = first_ms;
        r.last_ms = last_ms;
        if let Some(s) = summary {
            r.summary = Some(Box::new(s));
        }
        r
    }

    /// The keys of the shards of part `part` of `parts` of the four
    /// tables, with their counters.
    fn entries_part(
        &self,
        part: usize,
        parts: usize,
    ) -> impl Iterator<Item = (KeyRef<'_>, &Counters)> {
        self.compact
            .iter_part(part, parts)
            .map(|(k, c)| (KeyRef::Compact(k), c))
            .chain(
                self.single
                    .iter_part(part, parts)
                    .map(|(k, c)| (KeyRef::Single(k), c)),
            )
            .chain(
                self.duo
                    .iter_part(part, parts)
                    .map(|(k, c)| (KeyRef::Duo(k), c)),
            )
            .chain(
                self.wide
                    .iter_part(part, parts)
                    .map(|(k, c)| (KeyRef::Wide(k), c)),
            )
    }

    /// Every key of the four tables with its counters; a packed key is
    /// widened only when compared.
    fn entries(&self) -> impl Iterator<Item = (KeyRef<'_>, &Counters)> {
        self.entries_part(0, 1)
    }
}

/// Rows in `sort` order, ties by key.
pub(crate) fn sort_rows(rows: &mut [Row], sort: Sort) {
    let first = sort.first_part();
    let key_order = |a: &Row, b: &Row| {
        let n = a.key.len();
        let from = first.min(n.saturating_sub(1));
        (from..n)
            .chain(0..from)
            .map(|i| a.key[i].cmp(&b.key[i]))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    };
    rows.sort_by(|a, b| {
        let m = |r: &Row| sort.metric(&r.counters, r.rates.as_ref(), r.count.unwrap_or(0));
        sort.by_metric(m(a), m(b)).then_with(|| {
            if sort.key_reversed() {
                key_order(b, a)
            } else {
                key_order(a, b)
            }
        })
    });
}

/// A flow cut at the interval boundaries it spans: (interval start in
/// seconds, its share). Octets and packets are shared in proportion to
/// the time in each interval (what a traffic graph wants; flow-tools'
/// linear-interpolated report does the same), rounded on the running
/// totals so that sums stay exact; packets are whole, and bytes go with
/// them: an interval whose share rounds to no packet gives its bytes and
/// time to the interval before it (or after it), so that no interval
/// shows bytes without packets. The flow counts in every interval it
/// has packets in (flows active in the interval).
pub(crate) fn pieces(start_ms: i64, s: &Sample, interval_ms: i64) -> Vec<(u64, Sample)> {
    let mut out = Vec::new();
    pieces_into(start_ms, s, interval_ms, &mut out);
    out
}

/// [`pieces`] into a buffer the caller reuses (emptied first).
pub(crate) fn pieces_into(
    start_ms: i64,
    s: &Sample,
    interval_ms: i64,
    out: &mut Vec<(u64, Sample)>,
) {
    out.clear();
    let secs = |i: i64| (i * interval_ms / 1000).max(0) as u64;
    let end_ms = start_ms.saturating_add(s.duration_ms as i64);
    let first = start_ms.div_euclid(interval_ms);
    let last = (end_ms - 1).max(start_ms).div_euclid(interval_ms);
    if last == first || last - first >= MAX_PIECES {
        out.push((secs(first), *s));
        return;
    }
    let dur = u128::from(s.duration_ms);
    // x's share of the first `t` ms, rounded half up.
    let upto = |x: u64, t: u64| ((u128::from(x) * u128::from(t) * 2 + dur) / (dur * 2)) as u64;
    let (mut t, mut octets, mut packets) = (0u64, 0u64, 0u64);
    let mut held = Sample::default();
    for i in first..=last {
        let lo = start_ms.max(i * interval_ms);
        let hi = end_ms.min((i + 1) * interval_ms);
        let d = (hi - lo).max(0) as u64;
        t += d;
        let (o, p) = if i == last {
            (s.octets, s.packets)
        } else {
            (upto(s.octets, t), upto(s.packets, t))
        };
        let mut piece = Sample {
            flows: 1,
            octets: o - octets,
            packets: p - packets,
            duration_ms: d,
        };
        (octets, packets) = (o, p);
        if piece.packets == 0 {
            // Its bytes and time go to the interval before, or (for the
            // first) are held for the next one with packets.
            let to = match out.last_mut() {
                Some(prev) => &mut prev.1,
                None => &mut held,
            };
            to.octets += piece.octets;
            to.duration_ms += piece.duration_ms;
            continue;
        }
        piece.octets += std::mem::take(&mut held.octets);
        piece.duration_ms += std::mem::take(&mut held.duration_ms);
        out.push((secs(i), piece));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_share_exactly_and_never_leave_bytes_without_packets() {
        let s = Sample {
            flows: 1,
            octets: 1001,
            packets: 7,
            duration_ms: 600_000,
        };
        // 09:58 to 10:08 in 5-minute intervals: 2 + 5 + 3 minutes.
        let start = 9 * 3_600_000 + 58 * 60_000;
        let p = pieces(start, &s, 300_000);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].0, 9 * 3600 + 55 * 60);
        assert_eq!(p.iter().map(|x| x.1.octets).sum::<u64>(), 1001);
        assert_eq!(p.iter().map(|x| x.1.packets).sum::<u64>(), 7);
        assert_eq!(p.iter().map(|x| x.1.duration_ms).sum::<u64>(), 600_000);
        // Active in each interval it has packets in.
        assert_eq!(p.iter().map(|x| x.1.flows).collect::<Vec<_>>(), [1, 1, 1]);
        assert_eq!(
            p.iter().map(|x| x.1.octets).collect::<Vec<_>>(),
            [200, 501, 300]
        );
        assert_eq!(p.iter().map(|x| x.1.packets).collect::<Vec<_>>(), [1, 4, 2]);
        assert_eq!(p[0].1.duration_ms, 120_000);
        // Inside one interval, and ending exactly on a boundary: one piece.
        assert_eq!(pieces(0, &s, 600_000).len(), 1);
        assert_eq!(pieces(300_000, &s, 600_000).len(), 2);
        // A clock gone wrong: not millions of pieces.
        let long = Sample {
            duration_ms: 400 * 86_400_000,
            ..s
        };
        assert_eq!(pieces(0, &long, 60_000).len(), 1);
        // Few packets over many intervals: bytes only where packets are.
        for (octets, packets, minutes) in [(1500, 1, 60), (90_000, 2, 7), (10, 3, 30), (5, 9, 13)] {
            let s = Sample {
                flows: 1,
                octets,
                packets,
                duration_ms: minutes * 60_000,
            };
            for start in [0, 59_999, 61_000, 299_000] {
                let p = pieces(start, &s, 60_000);
                assert!(
                    p.iter().all(|x| x.1.packets > 0 && x.1.flows == 1),
                    "{octets} {packets} {minutes} {start}: {p:?}"
                );
                assert_eq!(p.iter().map(|x| x.1.octets).sum::<u64>(), octets);
                assert_eq!(p.iter().map(|x| x.1.packets).sum::<u64>(), packets);
                assert_eq!(
                    p.iter().map(|x| x.1.duration_ms).sum::<u64>(),
                    minutes * 60_000
                );
                assert!(p.windows(2).all(|w| w[0].0 < w[1].0));
            }
        }
    }

    #[test]
    fn fields_read_follow_the_options() {
        let kind = ReportType::parse("ip-source/destination-address").unwrap();
        let plain = Report::new(kind.clone(), 10).fields();
        assert!(!plain.contains(&"source-mask") && !plain.contains(&"sampling-interval"));
        let opts = ReportOptions {
            src_format: AddrFormat::parse("prefix-len").unwrap(),
            dst_format: AddrFormat::parse("prefix-len/24").unwrap(),
            scale: Scale::Sampling,
            ..ReportOptions::default()
        };
        let f = Report::with_options(kind, 10, opts).fields();
        assert!(f.contains(&"source-mask") && f.contains(&"sampling-interval"));
        assert!(
            !f.contains(&"destination-mask"),
            "a fixed length needs no mask"
        );
    }

    #[test]
    fn address_formats() {
        let a = Val::V4(0x0a01_0203);
        // prefix-len keeps the host bits, prefix-mask cuts them (flow-report).
        let len = AddrFormat::parse("prefix-len").unwrap();
        assert_eq!(len.apply(a, 16).to_string(), "10.1.2.3/16");
        let mask = AddrFormat::parse("prefix-mask").unwrap();
        assert_eq!(mask.apply(a, 16).to_string(), "10.1.0.0/16");
        // A fixed length always cuts.
        let f = AddrFormat::parse("prefix-len/24").unwrap();
        assert_eq!(f.apply(a, 8).to_string(), "10.1.2.0/24");
        let v6 = Val::V6(0x2001_0db8_1234_5678_0000_0000_0000_0001);
        assert_eq!(f.apply(v6, 0).to_string(), "2001:db8:1234:5678::/64");
        let f = AddrFormat::parse("prefix-mask/24,32").unwrap();
        assert_eq!(f.apply(v6, 0).to_string(), "2001:db8::/32");
        assert_eq!(mask.apply(Val::V4(7), 0).to_string(), "0.0.0.0/0");
        for bad in [
            "prefix",
            "prefix-len/33",
            "address/24",
            "prefix-len/24,129",
            "",
        ] {
            assert!(AddrFormat::parse(bad).is_err(), "{bad}");
        }
    }
}
