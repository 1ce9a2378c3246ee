//! The fast path for v9 and IPFIX data records: each template compiled once
//! into a list of (element, length) steps, and records read straight from
//! the datagram's bytes.
//!
//! Why: measured with `cargo bench -p floe-benches --bench decode` (30
//! realistic flows per datagram, one core), netflow_parser 1.0.6 decodes
//! v9 at 2.1 M flows/s, because it builds a vector of (field, value) pairs
//! per record; in the ingest benchmark (`benches/compare-nfcapd.sh`) that
//! held floed to 2.0 M v9 flows/s against nfcapd's 3.5 M. netflow_parser
//! still reads every template, options template and options record, and
//! every data set whose template this path has not compiled (data that came
//! before its template, templates restored from disk); the corpus test
//! decodes the whole shared corpus both ways and finds the same flows.
//!
//! It also reads variable-length fields (RFC 7011 section 7), which
//! netflow_parser 1.0.6 returns no records for.

use std::collections::HashMap;

use floe_flow::Flow;
use netflow_parser::variable_versions::field_value::{DataNumber, DurationValue, FieldValue};

use crate::direct::{self, Direct};
use crate::record::{be_bytes, Context, Record};

/// Whether [`Record`] maps an information element (others are stepped
/// over): the ones the direct path has a slot for, and the ones that make
/// a template value-dependent there.
fn mapped(ie: u16) -> bool {
    direct::slot(ie).is_some() || direct::VALUE_DEPENDENT.contains(&ie)
}

/// Elements that hold addresses.
const ADDRESSES: &[u16] = &[8, 12, 15, 18, 27, 28, 62, 63];

const VARLEN: u16 = 65_535;

/// How a step's bytes become a value, decided once per template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Not an element [`Record`] maps: stepped over.
    Skip,
    Address,
    Ntp,
    Number,
    /// IE 158/159: microseconds before the export time.
    DeltaMicros,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    ie: u16,
    len: u16,
    kind: Kind,
}

/// A data template compiled for the fast path.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    steps: Vec<Step>,
    /// Shortest possible record (variable-length fields count 1 byte).
    min_len: usize,
    /// The template compiled straight to flow fields, when its flows do
    /// not depend on values ([`crate::direct`]).
    direct: Option<Direct>,
}

impl Plan {
    /// Compiles a template's (element, length, enterprise) list; `None` for
    /// a template no record can be read with (no fields, or all empty).
    pub fn compile(fields: &[(u16, u16, bool)]) -> Option<Plan> {
        let steps: Vec<Step> = fields
            .iter()
            .map(|&(ie, len, enterprise)| Step {
                ie,
                len,
                kind: if enterprise || !mapped(ie) {
                    Kind::Skip
                } else if ADDRESSES.contains(&ie) {
                    Kind::Address
                } else if (154..=157).contains(&ie) {
                    Kind::Ntp
                } else if ie == 158 || ie == 159 {
                    Kind::DeltaMicros
                } else {
                    Kind::Number
                },
            })
            .collect();
        let min_len = steps
            .iter()
            .map(|s| {
                if s.len == VARLEN {
                    1
                } else {
                    usize::from(s.len)
                }
            })
            .sum();
        (min_len > 0).then(|| Plan {
            steps,
            min_len,
            direct: Direct::compile(fields),
        })
    }

    /// Appends the flows of a data set body to `out`. `samplers`: the
    /// sampling intervals the exporter announced per sampler id. Returns
    /// the number of records and how many flows had their uptimes anchored
    /// at the export time, or `None` when a record runs past the set (the
    /// caller then leaves the set to the general parser; nothing was
    /// appended).
    pub fn flows(
        &self,
        body: &[u8],
        ctx: &Context,
        samplers: &HashMap<u64, u32>,
        out: &mut Vec<Flow>,
    ) -> Option<(u32, u64)> {
        if let Some(d) = &self.direct {
            return Some(d.flows(body, ctx, out));
        }
        let first = out.len();
        let mut unanchored = 0u64;
        let n = self.records(body, ctx.export_ms, |r| {
            if !r.is_flow() {
                return;
            }
            let mut cx = *ctx;
            if let Some(v) = r.sampler_id.and_then(|id| samplers.get(&id)) {
                cx.sampling = Some(*v);
            }
            let (flow, u) = r.finish(&cx);
            unanchored += u64::from(u);
            out.push(flow);
        });
        match n {
            Some(n) => Some((n, unanchored)),
            None => {
                out.truncate(first);
                None
            }
        }
    }

    /// The step walker alone, for tests comparing it with the direct path.
    #[cfg(test)]
    pub fn without_direct(mut self) -> Plan {
        self.direct = None;
        self
    }

    /// Reads the records of a data set body, calling `each` with each one.
    /// Returns the number of records, or `None` when a record runs past
    /// the set (the caller then leaves the set to the general parser).
    fn records(&self, body: &[u8], export_ms: i64, mut each: impl FnMut(Record)) -> Option<u32> {
        let mut at = 0;
        let mut n = 0;
        // What is left when fewer bytes than a record remain is padding.
        while body.len() - at >= self.min_len {
            let mut r = Record::default();
            for s in &self.steps {
                let len = if s.len == VARLEN {
                    let first = *body.get(at)?;
                    at += 1;
                    if first < 255 {
                        usize::from(first)
                    } else {
                        let l = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
                        at += 2;
                        usize::from(l)
                    }
                } else {
                    usize::from(s.len)
                };
                let bytes = body.get(at..at + len)?;
                at += len;
                if s.kind != Kind::Skip {
                    if let Some(v) = raw_value(s.kind, bytes) {
                        if s.kind == Kind::DeltaMicros {
                            r.set_delta_micros(s.ie, &v, export_ms);
                        } else {
                            r.set(s.ie, &v);
                        }
                    }
                }
            }
            n += 1;
            each(r);
        }
        Some(n)
    }
}

/// A field's bytes as the value netflow_parser would have given, for the
/// elements [`Record`] maps (no allocation).
fn raw_value(kind: Kind, b: &[u8]) -> Option<FieldValue> {
    if kind == Kind::Address {
        return match b.len() {
            4 => Some(FieldValue::Ip4Addr(std::net::Ipv4Addr::new(
                b[0], b[1], b[2], b[3],
            ))),
            16 => {
                let o: [u8; 16] = b.try_into().ok()?;
                Some(FieldValue::Ip6Addr(o.into()))
            }
            _ => None,
        };
    }
    if kind == Kind::Ntp {
        if b.len() != 8 {
            return None;
        }
        return Some(FieldValue::Duration(DurationValue::MicrosNtp {
            seconds: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            fraction: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }));
    }
    Some(FieldValue::DataNumber(DataNumber::U64(be_bytes(b)?)))
}

/// The sets of one well-formed v9 or IPFIX message: (set id, body range).
/// `None` when the message is not exactly a header and whole sets (several
/// messages in one datagram, a length field that disagrees, a set running
/// past the end): such datagrams go to the general parser whole.
pub(crate) fn sets(data: &[u8], version: u16) -> Option<Vec<(u16, std::ops::Range<usize>)>> {
    let (header, end) = match version {
        9 => (20, data.len()),
        10 => {
            let len = usize::from(u16::from_be_bytes([*data.get(2)?, *data.get(3)?]));
            if len != data.len() {
                return None;
            }
            (16, len)
        }
        _ => return None,
    };
    let mut out = Vec::new();
    let mut at = header;
    while at < end {
        let id = u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]);
        let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
        if len < 4 || at + len > end {
            return None;
        }
        out.push((id, at + 4..at + len));
        at += len;
    }
    Some(out)
}
