//! A partial answer: what one file's flows add up to per interval and
//! key, for one query shape; how partials are stored in the cache; and
//! how they merge into an [`Answer`].

use std::collections::HashMap;

use floe_report::{Report, Row, Sort, SortField, Val};

use crate::answer::{Answer, Counts, Series};
use crate::error::QueryError;
use crate::query::Query;

/// Per (interval start in seconds, key) the counts of one file's flows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial {
    pub rows: Vec<(u64, Vec<Val>, Counts)>,
}

impl Partial {
    /// The rows of a time-series report (its first key part is the
    /// interval).
    pub fn from_report(r: &Report) -> Partial {
        let rows = r
            .rows(
                Sort {
                    field: SortField::Key(0),
                    largest_first: false,
                },
                None,
            )
            .into_iter()
            .filter_map(|Row { key, counters, .. }| {
                let (first, rest) = key.split_first()?;
                let Val::T(secs) = first else { return None };
                Some((
                    *secs,
                    rest.to_vec(),
                    Counts {
                        flows: counters.flows,
                        packets: counters.packets,
                        octets: counters.octets,
                    },
                ))
            })
            .collect();
        Partial { rows }
    }

    /// The bytes the cache keeps (zstd-compressed by the caller).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.rows.len() as u64).to_le_bytes());
        for (secs, key, c) in &self.rows {
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
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let secs = c.u64()?;
            let parts = usize::from(c.u8()?);
            if parts > floe_report::MAX_PARTS {
                return None;
            }
            let mut key = Vec::with_capacity(parts);
            for _ in 0..parts {
                key.push(decode_val(&mut c)?);
            }
            let counts = Counts {
                flows: c.u64()?,
                packets: c.u64()?,
                octets: c.u64()?,
            };
            rows.push((secs, key, counts));
        }
        (c.at == b.len()).then_some(Partial { rows })
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

/// A key's total over the range, and its counts per interval it has
/// traffic in.
type Sparse = (Counts, Vec<(u32, Counts)>);

/// Sums partials into the answer to `q`: intervals outside the range
/// dropped, keys ranked by the measure's total, the first `top` (or the
/// keys `only` names) as series, the rest as "other". Keys are summed
/// sparsely (a key costs the intervals it has traffic in); only the
/// series' values are laid out interval by interval.
pub fn merge<'a>(
    q: &Query,
    columns: Vec<String>,
    partials: impl IntoIterator<Item = &'a Partial>,
) -> Result<Answer, QueryError> {
    let starts = q.starts();
    let n = starts.len();
    let first = q.from_ms.div_euclid(q.interval_ms);
    let slot = |secs: u64| -> Option<u32> {
        let ms = i64::try_from(secs).ok()?.checked_mul(1000)?;
        let i = ms.div_euclid(q.interval_ms) - first;
        (0..n as i64).contains(&i).then_some(i as u32)
    };
    let m = q.measure;
    // Per key: its total over the range, and its (interval, counts).
    let mut per_key: HashMap<Vec<Val>, Sparse, foldhash::fast::RandomState> = HashMap::default();
    let mut total = vec![Counts::default(); n];
    for p in partials {
        for (secs, key, c) in &p.rows {
            let Some(i) = slot(*secs) else { continue };
            total[i as usize].add(c);
            let e = match per_key.get_mut(key) {
                Some(e) => e,
                None => per_key.entry(key.clone()).or_default(),
            };
            e.0.add(c);
            e.1.push((i, *c));
        }
    }
    let label = |k: &[Val]| k.iter().map(Val::to_string).collect::<Vec<_>>();
    let mut ranked: Vec<(Vec<Val>, Sparse)> = if q.only.is_empty() {
        per_key.into_iter().collect()
    } else {
        per_key
            .into_iter()
            .filter(|(k, _)| q.only.contains(&label(k).join(" ")))
            .collect()
    };
    // Largest first; ties by key, so answers are deterministic.
    ranked.sort_by(|a, b| {
        b.1 .0
            .get(m)
            .cmp(&a.1 .0.get(m))
            .then_with(|| a.0.cmp(&b.0))
    });
    let keep = if q.top == 0 {
        ranked.len()
    } else {
        q.top.min(ranked.len())
    };
    ranked.truncate(keep);
    let series: Vec<Series> = ranked
        .into_iter()
        .map(|(k, (sum, cells))| {
            let parts = label(&k);
            let name = parts.join(" ");
            if q.values {
                let mut values = vec![Counts::default(); n];
                for (i, c) in cells {
                    values[i as usize].add(&c);
                }
                Series::new(name, parts, values, m)
            } else {
                Series::totals_only(name, parts, sum, m)
            }
        })
        .collect();
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
            let p = Partial {
                rows: rows
                    .into_iter()
                    .map(|(s, k, (f, pk, o))| (s, k, Counts { flows: f, packets: pk, octets: o }))
                    .collect(),
            };
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
