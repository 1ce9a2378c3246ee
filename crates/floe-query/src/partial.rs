//! A partial answer: what one file's flows add up to per interval and
//! key, for one query shape; how partials are stored in the cache; and
//! how they merge into an [`Answer`].

use std::collections::HashMap;

use floe_report::{Report, Val};

use crate::answer::{Answer, Counts, Series};
use crate::error::QueryError;
use crate::query::Query;

/// Per (interval start in seconds, key) the counts of one file's flows.
/// The keys are laid end to end in one vector (`parts` values a row):
/// a file holds tens of thousands of rows, and a vector per key cost more
/// than the rest of the merge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    /// Values per key.
    parts: usize,
    /// The keys, row after row.
    keys: Vec<Val>,
    /// Per row: the interval's start (seconds) and the counts.
    rows: Vec<(u64, Counts)>,
}

impl Partial {
    /// The rows of a time-series report (its first key part is the
    /// interval), in no order.
    pub fn from_report(r: &Report) -> Partial {
        let mut p = Partial {
            parts: r.kind.parts.len().saturating_sub(1),
            ..Partial::default()
        };
        r.each_row(|key, counters| {
            let Some((Val::T(secs), rest)) = key.split_first() else {
                return;
            };
            if rest.len() != p.parts {
                return;
            }
            p.keys.extend_from_slice(rest);
            p.rows.push((
                *secs,
                Counts {
                    flows: counters.flows,
                    packets: counters.packets,
                    octets: counters.octets,
                },
            ));
        });
        p
    }

    /// A partial of `rows` (interval start in seconds, key, counts); every
    /// key has `parts` values (rows with another number are left out).
    pub fn from_rows(
        parts: usize,
        rows: impl IntoIterator<Item = (u64, Vec<Val>, Counts)>,
    ) -> Partial {
        let mut p = Partial {
            parts,
            ..Partial::default()
        };
        for (secs, key, c) in rows {
            if key.len() == parts {
                p.keys.extend(key);
                p.rows.push((secs, c));
            }
        }
        p
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the partial holds no row (no flow of the file counted).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`: interval start (seconds), key, counts.
    pub fn row(&self, i: usize) -> (u64, &[Val], &Counts) {
        let (secs, c) = &self.rows[i];
        (*secs, &self.keys[i * self.parts..(i + 1) * self.parts], c)
    }

    /// The bytes the cache keeps (zstd-compressed by the caller).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.rows.len() as u64).to_le_bytes());
        for i in 0..self.len() {
            let (secs, key, c) = self.row(i);
            out.extend_from_slice(&secs.to_le_bytes());
            out.push(key.len() as u8);
            for v in key {
                encode_val(v, out);
            }
            for x in [c.flows, c.packets, c.octets] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }

    /// Reads what [`Partial::encode`] wrote; `None` for anything else
    /// (a damaged entry is a cache miss, never trusted).
    pub fn decode(b: &[u8]) -> Option<Partial> {
        let mut c = Cursor { b, at: 0 };
        let n = c.u64()? as usize;
        // Each row takes at least 33 bytes: no count beyond what is here.
        if n > b.len() / 33 + 1 {
            return None;
        }
        let mut p = Partial {
            parts: 0,
            keys: Vec::new(),
            rows: Vec::with_capacity(n),
        };
        for i in 0..n {
            let secs = c.u64()?;
            let parts = usize::from(c.u8()?);
            if parts > floe_report::MAX_PARTS || (i > 0 && parts != p.parts) {
                return None;
            }
            p.parts = parts;
            for _ in 0..parts {
                p.keys.push(decode_val(&mut c)?);
            }
            let counts = Counts {
                flows: c.u64()?,
                packets: c.u64()?,
                octets: c.u64()?,
            };
            p.rows.push((secs, counts));
        }
        (c.at == b.len()).then_some(p)
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn u128(&mut self) -> Option<u128> {
        self.take(16)
            .map(|b| u128::from_le_bytes(b.try_into().unwrap_or([0; 16])))
    }
}

fn encode_val(v: &Val, out: &mut Vec<u8>) {
    match *v {
        Val::N(n) => {
            out.push(0);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Val::V4(a) => {
            out.push(1);
            out.extend_from_slice(&a.to_le_bytes());
        }
        Val::V6(a) => {
            out.push(2);
            out.extend_from_slice(&a.to_le_bytes());
        }
        Val::P4 { addr, len } => {
            out.push(3);
            out.extend_from_slice(&addr.to_le_bytes());
            out.push(len);
        }
        Val::P6 { addr, len } => {
            out.push(4);
            out.extend_from_slice(&addr.to_le_bytes());
            out.push(len);
        }
        Val::T(t) => {
            out.push(5);
            out.extend_from_slice(&t.to_le_bytes());
        }
    }
}

fn decode_val(c: &mut Cursor) -> Option<Val> {
    Some(match c.u8()? {
        0 => Val::N(c.u64()?),
        1 => Val::V4(u32::from_le_bytes(c.take(4)?.try_into().ok()?)),
        2 => Val::V6(c.u128()?),
        3 => Val::P4 {
            addr: u32::from_le_bytes(c.take(4)?.try_into().ok()?),
            len: c.u8()?,
        },
        4 => Val::P6 {
            addr: c.u128()?,
            len: c.u8()?,
        },
        5 => Val::T(c.u64()?),
        _ => return None,
    })
}

/// Sums partials into the answer to `q`: intervals outside the range
/// dropped, keys ranked by the measure's total, the first `top` (or the
/// keys `only` names) as series, the rest as "other". Two passes over the
/// partials' rows, borrowing their keys: the totals per key (to rank
/// them), then the chosen series' values interval by interval; no key is
/// copied and nothing is held per key but its total.
/// A key as people read it (`TCP`, `443 (https)`), when one of its parts
/// has a name: from the symbol tables floe ships, as reports show keys.
fn names(parts: &[floe_report::KeyPart], key: &[Val]) -> Option<String> {
    use floe_report::names::{label, Label};
    static SYMBOLS: std::sync::OnceLock<floe_report::sym::Symbols> = std::sync::OnceLock::new();
    let symbols = SYMBOLS.get_or_init(floe_report::sym::Symbols::builtin);
    let proto = parts
        .iter()
        .position(|p| *p == floe_report::KeyPart::Protocol)
        .and_then(|i| match key.get(i) {
            Some(Val::N(n)) => u8::try_from(*n).ok(),
            _ => None,
        });
    let labels: Vec<Label> = parts
        .iter()
        .zip(key)
        .map(|(p, v)| label(*p, v, proto, Some(symbols), &floe_report::words::Utc))
        .collect();
    let named = labels
        .iter()
        .any(|l| l.name.is_some() || l.value != l.text());
    named.then(|| labels.iter().map(Label::text).collect::<Vec<_>>().join(" "))
}

/// The answer to `q` from the partial answers of its files (or of a
/// backend's rows): the top series, other and the total per interval,
/// with their statistics; `columns` names the key's parts.
pub fn merge(q: &Query, columns: Vec<String>, partials: &[Partial]) -> Result<Answer, QueryError> {
    let starts = q.starts();
    let n = starts.len();
    let first = q.from_ms.div_euclid(q.interval_ms);
    let slot = |secs: u64| -> Option<usize> {
        let ms = i64::try_from(secs).ok()?.checked_mul(1000)?;
        let i = ms.div_euclid(q.interval_ms) - first;
        (0..n as i64).contains(&i).then_some(i as usize)
    };
    let m = q.measure;
    let rows = || {
        partials
            .iter()
            .flat_map(|p| (0..p.len()).map(move |i| p.row(i)))
            .filter_map(|(secs, key, c)| Some((slot(secs)?, key, c)))
    };
    // Pass one: each distinct key gets an id and its total; each row
    // remembers its key's id, so that pass two hashes nothing.
    let mut ids: HashMap<&[Val], (u32, Counts), foldhash::fast::RandomState> = HashMap::default();
    let mut row_ids: Vec<u32> = Vec::with_capacity(partials.iter().map(Partial::len).sum());
    let mut total = vec![Counts::default(); n];
    for (i, key, c) in rows() {
        total[i].add(c);
        let next = ids.len() as u32;
        let e = ids.entry(key).or_insert((next, Counts::default()));
        e.1.add(c);
        row_ids.push(e.0);
    }
    let mut keys: Vec<(&[Val], Counts)> = vec![(&[], Counts::default()); ids.len()];
    for (k, (id, c)) in ids {
        keys[id as usize] = (k, c);
    }
    let label = |k: &[Val]| k.iter().map(Val::to_string).collect::<Vec<_>>();
    let mut ranked: Vec<u32> = (0..keys.len() as u32)
        .filter(|&id| q.only.is_empty() || q.only.contains(&label(keys[id as usize].0).join(" ")))
        .collect();
    // Largest first; ties by key, so answers are deterministic.
    let order = |a: &u32, b: &u32| {
        let (x, y) = (&keys[*a as usize], &keys[*b as usize]);
        y.1.get(m).cmp(&x.1.get(m)).then_with(|| x.0.cmp(y.0))
    };
    let keep = if q.top == 0 {
        ranked.len()
    } else {
        q.top.min(ranked.len())
    };
    if keep > 0 && keep < ranked.len() {
        ranked.select_nth_unstable_by(keep - 1, order);
    }
    ranked.truncate(keep);
    ranked.sort_unstable_by(order);
    let ids_by_label: HashMap<String, u32> = ranked
        .iter()
        .map(|id| (label(keys[*id as usize].0).join(" "), *id))
        .collect();
    let series: Vec<Series> = if q.values {
        const NONE: u32 = u32::MAX;
        let mut series_of = vec![NONE; keys.len()];
        for (s, id) in ranked.iter().enumerate() {
            series_of[*id as usize] = s as u32;
        }
        let mut values = vec![vec![Counts::default(); n]; ranked.len()];
        for ((i, _, c), id) in rows().zip(&row_ids) {
            let s = series_of[*id as usize];
            if s != NONE {
                values[s as usize][i].add(c);
            }
        }
        ranked
            .iter()
            .zip(values)
            .map(|(id, v)| {
                let parts = label(keys[*id as usize].0);
                Series::new(parts.join(" "), parts, v, m)
            })
            .collect()
    } else {
        ranked
            .iter()
            .map(|id| {
                let (k, sum) = &keys[*id as usize];
                let parts = label(k);
                Series::totals_only(parts.join(" "), parts, *sum, m)
            })
            .collect()
    };
    let mut series = series;
    if let Ok(c) = q.compile() {
        let parts = c.kind.parts.get(1..).unwrap_or_default();
        for s in &mut series {
            if let Some(id) = ids_by_label.get(s.label.as_str()) {
                s.name = names(parts, keys[*id as usize].0);
            }
        }
    }
    let total = Series::new("total".into(), Vec::new(), total, m);
    let mut shown = Counts::default();
    for s in &series {
        shown.add(&s.totals);
    }
    let rest = total.totals.get(m) > shown.get(m) || total.totals.flows > shown.flows;
    let other = rest.then(|| {
        if q.values {
            total.minus("other", &series.iter().collect::<Vec<_>>(), m)
        } else {
            Series::totals_only("other".into(), Vec::new(), total.totals.minus(&shown), m)
        }
    });
    Ok(Answer {
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        interval_ms: q.interval_ms,
        measure: m,
        starts,
        columns,
        series,
        other,
        total,
        stats: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn val() -> impl Strategy<Value = Val> {
        prop_oneof![
            any::<u64>().prop_map(Val::N),
            any::<u32>().prop_map(Val::V4),
            any::<u128>().prop_map(Val::V6),
            (any::<u32>(), 0u8..=32).prop_map(|(addr, len)| Val::P4 { addr, len }),
            (any::<u128>(), 0u8..=128).prop_map(|(addr, len)| Val::P6 { addr, len }),
        ]
    }

    proptest! {
        #[test]
        fn partials_round_trip_and_garbage_is_refused(
            rows in prop::collection::vec((any::<u64>(), prop::collection::vec(val(), 1..4), any::<(u64, u64, u64)>()), 0..50),
            cut in any::<usize>(),
        ) {
            let parts = rows.first().map_or(0, |r| r.1.len());
            let p = Partial::from_rows(
                parts,
                rows.into_iter()
                    .map(|(s, k, (f, pk, o))| (s, k, Counts { flows: f, packets: pk, octets: o })),
            );
            let mut b = Vec::new();
            p.encode(&mut b);
            prop_assert_eq!(Partial::decode(&b), Some(p));
            if !b.is_empty() {
                let c = cut % b.len();
                prop_assert!(Partial::decode(&b[..c]).is_none() || c == b.len());
            }
        }
    }
}
