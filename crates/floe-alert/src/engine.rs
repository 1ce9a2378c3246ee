//! Evaluation: closed files in, events out.
//!
//! Each window table has an open window. A file goes to every table whose
//! open window it belongs to (or a later one: the open window is closed
//! first) and that has not counted it yet; the file is read once for all
//! of them. After the file, checks whose condition is an absolute `above`
//! look at the running totals (a total only grows, so crossing is final
//! and the alert need not wait for the window's end); when a file reaches
//! the end of a table's window, the window closes and every check of the
//! table decides, streaks and holds move on, averages learn the window.
//!
//! A file for a window already closed (copied in late) is not counted:
//! see [`Outcome::late`].

use std::collections::{HashSet, VecDeque};

use floe_store::{FlowFile, TreeFile, Zone};

use crate::agg::{feed_file, Map, Sums, Table};
use crate::error::AlertError;
use crate::event::{Event, EventState, TopRow};
use crate::rules::{AggSpec, Check, Metric, Repeat, RuleSet, Source};
use crate::state::{AggState, Bucket, CheckState, KeyState, Open, State};
use crate::value::Key;

/// Most keys a check remembers per bucket of its averages' history (the
/// largest values are kept).
pub const MAX_HISTORY_KEYS: usize = 10_000;

/// A window table being evaluated.
struct AggRun {
    /// Files that start before this are not counted: their window was
    /// closed (or came before the table began).
    from: Option<i64>,
    window: Option<(i64, i64)>,
    last_end: Option<i64>,
    closed: u64,
    seen: HashSet<String>,
    table: Table,
}

/// A check being evaluated.
#[derive(Default)]
struct CheckRun {
    signature: String,
    keys: Map<Key, KeyState>,
    history: VecDeque<MemBucket>,
    known: Map<Key, u64>,
}

/// A bucket of a check's history, in memory.
struct MemBucket {
    start: i64,
    windows: u32,
    values: Map<Key, f64>,
}

/// What one file gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The events the file gave, firing and resolved.
    pub events: Vec<Event>,
    /// The file was read (false: no table wanted it).
    pub read: bool,
    /// Tables the file came too late for (their window had closed), by
    /// rule name.
    pub late: Vec<String>,
    /// Damaged blocks skipped, tables that overflowed...
    pub warnings: Vec<String>,
}

/// The evaluator of a rule set.
pub struct Engine {
    /// The rule set it evaluates.
    pub rules: RuleSet,
    zone: Zone,
    aggs: Vec<AggRun>,
    /// Per rule, per check.
    checks: Vec<Vec<CheckRun>>,
    /// Threads reading a file's blocks.
    pub threads: usize,
    events: VecDeque<Event>,
    /// Every file the state has dealt with (counted, or there before the
    /// state began): a file not among them that no table takes is late.
    files: HashSet<String>,
}

/// A key that fires: its value, the threshold it passed, its average,
/// its windows in a row.
type Fired = (Key, f64, Option<f64>, Option<f64>, u32);

/// How a window is being looked at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Point {
    /// After a file, the window still open.
    Running,
    /// The window ends.
    Close,
}

fn check_id(rule: &str, label: &str) -> String {
    format!("{rule}[{label}]")
}

fn check_signature(rs: &RuleSet, c: &Check) -> String {
    format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?}|{}",
        rs.aggs[c.agg].signature,
        c.metric,
        c.above,
        c.below,
        c.above_average,
        c.consecutive,
        c.hold,
        c.repeat,
        c.remember
    )
}

impl Engine {
    /// An evaluator of `rules` with windows in `zone`, carrying on from
    /// `state` (tables and checks whose definition changed start afresh).
    pub fn new(rules: RuleSet, zone: Zone, state: Option<&State>) -> Engine {
        let aggs = rules
            .aggs
            .iter()
            .map(|a| {
                let st = state.and_then(|s| s.aggs.get(&a.signature));
                match st {
                    Some(s) => AggRun {
                        from: s.from,
                        window: s.window,
                        last_end: s.last_end,
                        closed: s.closed,
                        seen: s.seen.iter().cloned().collect(),
                        table: {
                            let mut t = Table::default();
                            t.total = s.total;
                            t.overflow = s.overflow;
                            for (k, v) in &s.sums {
                                t.add(k, v, usize::MAX);
                            }
                            for (k, vs) in &s.pairs {
                                for v in vs {
                                    t.add_pair(k, *v, usize::MAX);
                                }
                            }
                            t
                        },
                    },
                    None => AggRun {
                        from: None,
                        window: None,
                        last_end: None,
                        closed: 0,
                        seen: HashSet::new(),
                        table: Table::default(),
                    },
                }
            })
            .collect();
        let checks = rules
            .rules
            .iter()
            .map(|r| {
                r.checks
                    .iter()
                    .map(|c| {
                        let sig = check_signature(&rules, c);
                        let st = state
                            .and_then(|s| s.checks.get(&check_id(&r.name, &c.label)))
                            .filter(|s| s.signature == sig);
                        match st {
                            Some(s) => CheckRun {
                                signature: sig,
                                keys: s.keys.iter().cloned().collect(),
                                history: s
                                    .history
                                    .iter()
                                    .map(|b| MemBucket {
                                        start: b.start,
                                        windows: b.windows,
                                        values: b.values.iter().copied().collect(),
                                    })
                                    .collect(),
                                known: s.known.iter().copied().collect(),
                            },
                            None => CheckRun {
                                signature: sig,
                                ..CheckRun::default()
                            },
                        }
                    })
                    .collect()
            })
            .collect();
        Engine {
            rules,
            zone,
            aggs,
            checks,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            events: state.map(|s| s.events.clone()).unwrap_or_default(),
            files: state
                .map(|s| s.files.iter().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// Starts a run over the store's files `all` (oldest first): tables
    /// without a window start with `from`'s (see [`Engine::start_at`]);
    /// a state that knows no file yet takes every file there is as dealt
    /// with (the windows started say what is counted), and files no
    /// longer in the store (expired) are forgotten.
    pub fn begin(&mut self, all: &[TreeFile], from: &TreeFile) {
        self.start_at(from);
        let names: HashSet<String> = all.iter().map(file_id).collect();
        if self.files.is_empty() {
            self.files = names;
        } else {
            self.files.retain(|n| names.contains(n));
        }
    }

    /// The zone its windows align in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Tables that have no window yet (new rules, a first run) start with
    /// the window holding this file: a new hourly rule counts the hour so
    /// far, a new monthly quota the month so far, and nothing before.
    pub fn start_at(&mut self, f: &TreeFile) {
        for (a, run) in self.rules.aggs.iter().zip(self.aggs.iter_mut()) {
            if run.window.is_none() && run.from.is_none() {
                // Only the start: a file's own window needs its end,
                // which the file's header gives when it is read.
                run.from = Some(a.window.of(&self.zone, f.start_ms, f.start_ms + 1).0);
            }
        }
    }

    /// Whether table `run` counts a file starting at `start` named `name`.
    fn takes(run: &AggRun, start: i64, name: &str) -> bool {
        start >= run.from.unwrap_or(i64::MIN)
            && run.window.is_none_or(|(s, _)| start >= s)
            && !run.seen.contains(name)
    }

    /// Whether the file is new to the state, or some table would count it.
    pub fn wants(&self, f: &TreeFile) -> bool {
        let name = file_id(f);
        !self.files.contains(&name)
            || self
                .aggs
                .iter()
                .any(|run| Self::takes(run, f.start_ms, &name))
    }

    /// Counts one closed file in every table that wants it, and evaluates.
    pub fn process(&mut self, f: &TreeFile) -> Result<Outcome, AlertError> {
        let mut out = Outcome::default();
        let name = file_id(f);
        let new = self.files.insert(name.clone());
        let mut wanting = Vec::new();
        for (i, run) in self.aggs.iter().enumerate() {
            if Self::takes(run, f.start_ms, &name) {
                wanting.push(i);
            } else if new && !run.seen.contains(&name) {
                out.late.push(self.rules.aggs[i].rule.clone());
            }
        }
        out.late.sort();
        out.late.dedup();
        if wanting.is_empty() {
            return Ok(out);
        }
        let file = FlowFile::open(&f.path)?;
        let file_end = file
            .header()
            .period
            .map(|p| p.end_ms)
            .unwrap_or_else(|| f.end_estimate_ms());
        let file_end = file_end.max(f.start_ms + 1);
        // Close windows the file is past, open the file's.
        for &i in &wanting {
            let (ws, we) = self.rules.aggs[i]
                .window
                .of(&self.zone, f.start_ms, file_end);
            match self.aggs[i].window {
                Some((s, e)) if s == ws && e == we => {}
                Some((s, _)) if s > ws => {}
                Some(_) => {
                    let evs = self.close(i, file_end, &name);
                    out.events.extend(evs);
                    self.open(i, ws, we);
                }
                None => self.open(i, ws, we),
            }
        }
        let max = self.rules.max_keys;
        let before: Vec<u64> = wanting
            .iter()
            .map(|&i| self.aggs[i].table.overflow)
            .collect();
        let specs: Vec<&AggSpec> = wanting.iter().map(|&i| &self.rules.aggs[i]).collect();
        let mut slots: Vec<Option<&mut AggRun>> = self.aggs.iter_mut().map(Some).collect();
        let tables: Vec<&mut Table> = wanting
            .iter()
            .filter_map(|&i| slots[i].take().map(|r| &mut r.table))
            .collect();
        let damage = feed_file(&file, &specs, tables, max, self.threads)?;
        out.read = true;
        for d in damage {
            out.warnings.push(d.to_string());
        }
        for (&i, before) in wanting.iter().zip(before) {
            let run = &mut self.aggs[i];
            run.seen.insert(name.clone());
            if run.table.overflow > before {
                out.warnings.push(format!(
                    "rule {:?}: its window holds more than {max} keys; {} flows or keys were not counted (raise max_keys or narrow the filter)",
                    self.rules.aggs[i].rule,
                    run.table.overflow - before
                ));
            }
        }
        for &i in &wanting {
            let evs = self.evaluate(i, Point::Running, file_end, &name);
            out.events.extend(evs);
            if self.aggs[i].window.is_some_and(|(_, e)| file_end >= e) {
                let evs = self.close(i, file_end, &name);
                out.events.extend(evs);
            }
        }
        self.events.extend(out.events.iter().cloned());
        while self.events.len() > crate::state::HISTORY {
            self.events.pop_front();
        }
        Ok(out)
    }

    fn open(&mut self, i: usize, start: i64, end: i64) {
        let run = &mut self.aggs[i];
        run.window = Some((start, end));
        run.table = Table::default();
        run.seen.clear();
    }

    /// Closes table `i`'s window: every check decides.
    fn close(&mut self, i: usize, at_ms: i64, file: &str) -> Vec<Event> {
        let evs = self.evaluate(i, Point::Close, at_ms, file);
        let run = &mut self.aggs[i];
        if let Some((_, e)) = run.window {
            run.last_end = Some(e);
            run.from = Some(e);
        }
        run.closed = run.closed.saturating_add(1);
        run.window = None;
        run.table = Table::default();
        run.seen.clear();
        evs
    }

    /// Evaluates every check of table `i` at `point`.
    fn evaluate(&mut self, i: usize, point: Point, at_ms: i64, file: &str) -> Vec<Event> {
        let Some((ws, we)) = self.aggs[i].window else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let spec = &self.rules.aggs[i];
        let table = &self.aggs[i].table;
        let closed = self.aggs[i].closed;
        let distinct = match spec.source {
            Source::Distinct(_) => Some(table.distinct_counts()),
            _ => None,
        };
        let secs = ((we - ws) as f64 / 1000.0).max(1.0);
        let max_keys = self.rules.max_keys;
        for (ri, rule) in self.rules.rules.iter().enumerate() {
            let mut rule_events: Vec<(usize, Event)> = Vec::new();
            for (ci, c) in rule.checks.iter().enumerate() {
                if c.agg != i || (point == Point::Running && !c.early()) {
                    continue;
                }
                let run = &mut self.checks[ri][ci];
                let value = |k: &Key| -> f64 {
                    metric_value(c.metric, k, c.grouped, table, distinct.as_ref(), secs)
                };
                // Every key the check looks at, with its value (a rule
                // without a key: the empty key, the whole window).
                let mut values: Vec<(Key, f64)> = Vec::new();
                let mut truth: Map<Key, (f64, Option<f64>, Option<f64>)> = Map::default();
                let plain_above = c.grouped && c.early();
                if plain_above && distinct.is_none() {
                    // Only the keys past the value matter, and only they
                    // are unpacked: a day's table holds every host.
                    let th = c.above.unwrap_or(f64::MAX);
                    for (k, s) in table.sums_where(|s| sums_value(c.metric, s, secs) > th) {
                        truth.insert(k, (sums_value(c.metric, &s, secs), Some(th), None));
                    }
                } else {
                    if c.grouped {
                        match &distinct {
                            Some(d) => values.extend(d.iter().map(|(k, n)| (*k, *n as f64))),
                            None => values.extend(table.sums().map(|(k, _)| (k, value(&k)))),
                        }
                        if c.below.is_some() {
                            // Keys remembered from past windows that have
                            // no traffic now.
                            let present: Map<Key, ()> =
                                values.iter().map(|(k, _)| (*k, ())).collect();
                            values.extend(
                                run.known
                                    .keys()
                                    .filter(|k| !present.contains_key(*k))
                                    .map(|k| (*k, 0.0)),
                            );
                        }
                    } else {
                        values.push((Key::EMPTY, value(&Key::EMPTY)));
                    }
                    for (k, v) in &values {
                        let avg = c
                            .above_average
                            .and_then(|(_, p)| average(&run.history, k, ws, p.ms()));
                        let (holds, threshold) = condition(c, *v, avg);
                        if holds {
                            truth.insert(*k, (*v, threshold, avg));
                        }
                    }
                }
                let mut fired: Vec<Fired> = Vec::new();
                for (k, (v, threshold, avg)) in &truth {
                    let st = run.keys.entry(*k).or_default();
                    if st.fired_window == Some(ws) {
                        continue;
                    }
                    let streak = if st.streak_end == ws { st.streak } else { 0 }.saturating_add(1);
                    if streak < c.consecutive || st.hold > 0 {
                        continue;
                    }
                    if c.repeat == Repeat::Once && st.open.is_some() {
                        continue;
                    }
                    st.fired_window = Some(ws);
                    st.hold = if c.hold > 0 { c.hold + 1 } else { 0 };
                    st.open = Some(Open {
                        since_ms: at_ms,
                        value: *v,
                        window_start: ws,
                    });
                    fired.push((*k, *v, *threshold, *avg, streak));
                }
                let mut resolved: Vec<(Key, f64)> = Vec::new();
                if point == Point::Close {
                    for (k, st) in run.keys.iter_mut() {
                        if truth.contains_key(k) {
                            st.streak =
                                if st.streak_end == ws { st.streak } else { 0 }.saturating_add(1);
                            st.streak_end = we;
                        } else {
                            st.streak = 0;
                            if st.open.take().is_some() {
                                let v = if c.grouped {
                                    value(k)
                                } else {
                                    values.first().map_or(0.0, |x| x.1)
                                };
                                resolved.push((*k, v));
                            }
                        }
                        st.hold = st.hold.saturating_sub(1);
                    }
                    run.keys
                        .retain(|_, s| s.streak > 0 || s.open.is_some() || s.hold > 0);
                    if let Some((_, p)) = c.above_average {
                        learn(
                            &mut run.history,
                            &values,
                            ws,
                            p.ms(),
                            spec.window.nominal_ms(),
                        );
                    }
                    if c.below.is_some() && c.grouped {
                        for (k, v) in &values {
                            if *v > 0.0 {
                                run.known.insert(*k, closed);
                            }
                        }
                        let keep = u64::from(c.remember);
                        run.known.retain(|_, at| closed.saturating_sub(*at) < keep);
                        if run.known.len() > max_keys {
                            let mut v: Vec<(Key, u64)> = run.known.drain().collect();
                            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                            v.truncate(max_keys);
                            run.known.extend(v);
                        }
                    }
                }
                if fired.is_empty() && (resolved.is_empty() || !rule.resolved) {
                    continue;
                }
                let top = top_rows(c, table, distinct.as_ref(), secs, rule.top);
                let columns = spec
                    .key
                    .as_ref()
                    .map(|k| k.columns.clone())
                    .unwrap_or_default();
                let event = |state, k: Key, v: f64, threshold, avg, streak| Event {
                    state,
                    rule: rule.name.clone(),
                    check: c.label.clone(),
                    preset: rule.preset.clone(),
                    key: k,
                    key_columns: if c.grouped {
                        columns.clone()
                    } else {
                        Vec::new()
                    },
                    metric: c.metric.name().to_string(),
                    value: v,
                    condition: c.describe(),
                    threshold,
                    average: avg,
                    window: spec.window.name(),
                    window_start: ws,
                    window_end: we,
                    window_complete: point == Point::Close,
                    at_ms,
                    file: file.to_string(),
                    consecutive: streak,
                    top: top.clone(),
                    top_columns: columns.clone(),
                };
                fired.sort_by_key(|a| a.0);
                for (k, v, th, avg, streak) in fired {
                    rule_events.push((ci, event(EventState::Firing, k, v, th, avg, streak)));
                }
                if rule.resolved {
                    resolved.sort_by_key(|a| a.0);
                    for (k, v) in resolved {
                        rule_events.push((ci, event(EventState::Resolved, k, v, None, None, 0)));
                    }
                }
            }
            if rule.levels {
                // Levels of one quantity: of those that fire together for
                // a key, the highest speaks.
                let mut highest: Map<(Key, EventState), usize> = Map::default();
                for (ci, e) in &rule_events {
                    let h = highest.entry((e.key, e.state)).or_insert(*ci);
                    *h = (*h).max(*ci);
                }
                rule_events.retain(|(ci, e)| highest.get(&(e.key, e.state)) == Some(ci));
            }
            out.extend(rule_events.into_iter().map(|(_, e)| e));
        }
        out
    }

    /// The state to save.
    pub fn state(&self, rules_path: &std::path::Path, now_ms: i64) -> State {
        let mut s = State::new(rules_path);
        s.updated_ms = now_ms;
        for (a, run) in self.rules.aggs.iter().zip(&self.aggs) {
            let mut sums: Vec<(Key, Sums)> = run.table.sums().collect();
            sums.sort_by_key(|a| a.0);
            let mut by_key: Map<Key, Vec<crate::value::KVal>> = Map::default();
            for (k, v) in run.table.pairs() {
                by_key.entry(k).or_default().push(v);
            }
            let mut pairs: Vec<_> = by_key.into_iter().collect();
            pairs.sort_by_key(|a| a.0);
            for p in &mut pairs {
                p.1.sort();
            }
            let mut seen: Vec<String> = run.seen.iter().cloned().collect();
            seen.sort();
            s.aggs.insert(
                a.signature.clone(),
                AggState {
                    from: run.from,
                    window: run.window,
                    last_end: run.last_end,
                    closed: run.closed,
                    seen,
                    total: run.table.total,
                    sums,
                    pairs,
                    overflow: run.table.overflow,
                },
            );
        }
        for (r, runs) in self.rules.rules.iter().zip(&self.checks) {
            for (c, run) in r.checks.iter().zip(runs) {
                let mut keys: Vec<(Key, KeyState)> =
                    run.keys.iter().map(|(k, v)| (*k, v.clone())).collect();
                keys.sort_by_key(|a| a.0);
                let mut known: Vec<(Key, u64)> = run.known.iter().map(|(k, v)| (*k, *v)).collect();
                known.sort();
                s.checks.insert(
                    check_id(&r.name, &c.label),
                    CheckState {
                        signature: run.signature.clone(),
                        keys,
                        history: run
                            .history
                            .iter()
                            .map(|b| {
                                let mut values: Vec<(Key, f64)> =
                                    b.values.iter().map(|(k, v)| (*k, *v)).collect();
                                values.sort_by_key(|a| a.0);
                                Bucket {
                                    start: b.start,
                                    windows: b.windows,
                                    values,
                                }
                            })
                            .collect(),
                        known,
                    },
                );
            }
        }
        s.events = self.events.clone();
        let mut files: Vec<String> = self.files.iter().cloned().collect();
        files.sort();
        s.files = files;
        s
    }

    /// The alerts open now: (rule, check, key, since).
    pub fn open_alerts(&self) -> Vec<(String, String, Key, i64)> {
        let mut out = Vec::new();
        for (r, runs) in self.rules.rules.iter().zip(&self.checks) {
            for (c, run) in r.checks.iter().zip(runs) {
                for (k, st) in &run.keys {
                    if let Some(o) = &st.open {
                        out.push((r.name.clone(), c.label.clone(), *k, o.since_ms));
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// How a file is known in the state: its name (names carry the period
/// start and the zone offset, so they are unique in a store).
pub fn file_id(f: &TreeFile) -> String {
    f.path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn metric_value(
    m: Metric,
    k: &Key,
    keyed: bool,
    t: &Table,
    distinct: Option<&Map<Key, u64>>,
    secs: f64,
) -> f64 {
    if let Some(d) = distinct {
        return d.get(k).copied().unwrap_or(0) as f64;
    }
    let s = if keyed {
        t.get(k).unwrap_or_default()
    } else {
        t.total
    };
    sums_value(m, &s, secs)
}

/// A sums metric's value.
fn sums_value(m: Metric, s: &Sums, secs: f64) -> f64 {
    match m {
        Metric::Octets => s.octets as f64,
        Metric::Packets => s.packets as f64,
        Metric::Flows => s.flows as f64,
        Metric::BitsPerSecond => s.octets as f64 * 8.0 / secs,
        Metric::PacketsPerSecond => s.packets as f64 / secs,
        Metric::LostFlows => s.flows as f64,
        Metric::DstHosts | Metric::DstPorts | Metric::Sources => 0.0,
    }
}

/// Whether the check's condition holds for `v`, and the value it had to
/// pass.
fn condition(c: &Check, v: f64, avg: Option<f64>) -> (bool, Option<f64>) {
    if let Some(b) = c.below {
        return (v < b, Some(b));
    }
    let mut threshold = c.above;
    if let Some((k, _)) = c.above_average {
        // No past windows yet: no average to be above.
        let Some(a) = avg else {
            return (false, threshold);
        };
        threshold = Some(threshold.unwrap_or(f64::MIN).max(k * a));
    }
    match threshold {
        Some(t) => (v > t, Some(t)),
        None => (false, None),
    }
}

/// A key's average value per window over the `period_ms` before `now`
/// (windows with no traffic for it count as zero).
fn average(history: &VecDeque<MemBucket>, k: &Key, now: i64, period_ms: i64) -> Option<f64> {
    let from = now - period_ms;
    let (mut windows, mut sum) = (0u64, 0.0);
    for b in history.iter().filter(|b| b.start >= from && b.start < now) {
        windows += u64::from(b.windows);
        sum += b.values.get(k).copied().unwrap_or(0.0);
    }
    (windows > 0).then(|| sum / windows as f64)
}

/// Adds a closed window's values to a check's history.
fn learn(
    history: &mut VecDeque<MemBucket>,
    values: &[(Key, f64)],
    ws: i64,
    period_ms: i64,
    window_ms: i64,
) {
    // At most a week of hours: longer histories are kept by the hour.
    let bucket_ms = if period_ms / window_ms.max(1) > 168 {
        3_600_000
    } else {
        window_ms
    };
    let start = ws.div_euclid(bucket_ms) * bucket_ms;
    if history.back().is_none_or(|b| b.start != start) {
        history.push_back(MemBucket {
            start,
            windows: 0,
            values: Map::default(),
        });
    }
    if let Some(b) = history.back_mut() {
        b.windows = b.windows.saturating_add(1);
        for (k, v) in values {
            if *v > 0.0 {
                *b.values.entry(*k).or_default() += v;
            }
        }
        if b.values.len() > MAX_HISTORY_KEYS {
            let mut v: Vec<(Key, f64)> = b.values.drain().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(MAX_HISTORY_KEYS);
            b.values.extend(v);
        }
    }
    while history.front().is_some_and(|b| b.start < ws - period_ms) {
        history.pop_front();
    }
}

/// The top keys of a table for an alert: a rule's keys by its metric, or
/// for a rule without a key what each listed key contributes.
fn top_rows(
    c: &Check,
    t: &Table,
    distinct: Option<&Map<Key, u64>>,
    secs: f64,
    n: usize,
) -> Vec<TopRow> {
    if n == 0 {
        return Vec::new();
    }
    let m = c.metric;
    let mut rows: Vec<TopRow> = match (c.grouped, distinct) {
        // A distinct count by key keeps no sums by key: its counts.
        (true, Some(d)) => d
            .iter()
            .map(|(k, n)| TopRow {
                key: *k,
                value: *n as f64,
                sums: None,
            })
            .collect(),
        _ => t
            .sums()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, s)| {
                let value = if c.grouped {
                    metric_value(m, &k, true, t, distinct, secs)
                } else {
                    match m {
                        Metric::Packets | Metric::PacketsPerSecond => s.packets as f64,
                        Metric::Flows | Metric::DstHosts | Metric::DstPorts | Metric::Sources => {
                            s.flows as f64
                        }
                        Metric::LostFlows => s.flows as f64,
                        _ => s.octets as f64,
                    }
                };
                TopRow {
                    key: k,
                    value,
                    // A lost-flows table's flows are lost flows.
                    sums: (m != Metric::LostFlows).then_some(s),
                }
            })
            .collect(),
    };
    let by = |a: &TopRow, b: &TopRow| b.value.total_cmp(&a.value).then(a.key.cmp(&b.key));
    if rows.len() > n {
        rows.select_nth_unstable_by(n - 1, by);
        rows.truncate(n);
    }
    rows.sort_by(by);
    rows
}
