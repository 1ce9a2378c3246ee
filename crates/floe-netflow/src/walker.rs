//! The step walker: any data template, including variable-length and
//! value-dependent ones, read a field at a time into a [`Record`] that
//! applies floe's record rules (see [`crate::record`]); and [`Plan`], a
//! template compiled for reading, which takes the compiled path
//! ([`crate::direct`]) when the template allows it and this one otherwise.
//!
//! Options records are read here too: their elements (sampling interval,
//! sampler id, system init time) land in the same [`Record`].
//!
//! Variable-length fields (RFC 7011 section 7) are read the IPFIX way in v9
//! templates as well, where some exporters declare string fields with
//! length 65535.

use crate::out::FlowOut;
use std::collections::HashMap;

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

const VARLEN: u16 = crate::elements::VARIABLE;

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

/// A template compiled for reading its records.
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
    /// Options templates are read by the step walker only.
    pub fn compile(fields: &[(u16, u16, bool)], options: bool) -> Option<Plan> {
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
            direct: if options {
                None
            } else {
                Direct::compile(fields)
            },
        })
    }

    /// Appends the flows of a data set body to `out`. `samplers`: the
    /// sampling intervals the exporter announced per sampler id.
    pub fn flows<O: FlowOut>(
        &self,
        body: &[u8],
        ctx: &Context,
        samplers: &HashMap<u64, u32>,
        out: &mut O,
    ) -> Records {
        if let Some(d) = &self.direct {
            let (n, unanchored) = d.flows(body, ctx, out);
            return Records {
                records: n,
                unanchored,
                cut_short: false,
                compiled: true,
            };
        }
        let mut unanchored = 0u64;
        let (n, cut_short) = self.records(body, ctx.export_ms, |r| {
            if !r.is_flow() {
                return;
            }
            let mut cx = *ctx;
            if let Some(v) = r.sampler_id.and_then(|id| samplers.get(&id)) {
                cx.sampling = Some(*v);
            }
            let (flow, u) = r.finish(&cx);
            unanchored += u64::from(u);
            out.push_flow(flow);
        });
        Records {
            records: n,
            unanchored,
            cut_short,
            compiled: false,
        }
    }

    /// Reads the records of an options data set, calling `each` with each;
    /// returns the number of records and whether one ran past the set.
    pub fn options(&self, body: &[u8], export_ms: i64, each: impl FnMut(Record)) -> (u32, bool) {
        self.records(body, export_ms, each)
    }

    /// The step walker alone, for tests comparing it with the direct path.
    #[cfg(test)]
    pub fn without_direct(mut self) -> Plan {
        self.direct = None;
        self
    }

    /// Reads the records of a data set body, calling `each` with each one.
    /// Returns the number of whole records and whether a record ran past
    /// the set (the records before it were read).
    fn records(&self, body: &[u8], export_ms: i64, mut each: impl FnMut(Record)) -> (u32, bool) {
        let mut at = 0;
        let mut n = 0;
        // What is left when fewer bytes than a record remain is padding.
        while body.len() - at >= self.min_len {
            let Some((r, next)) = self.record(body, at, export_ms) else {
                return (n, true);
            };
            at = next;
            n += 1;
            each(r);
        }
        (n, false)
    }

    /// The record at `at`, and where the next one starts; `None` when it
    /// runs past the set.
    fn record(&self, body: &[u8], mut at: usize, export_ms: i64) -> Option<(Record, usize)> {
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
        Some((r, at))
    }
}

/// What reading a data set gave.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Records {
    /// Whole records read (flows and options-like records alike).
    pub records: u32,
    /// Flows whose uptimes were anchored at the export time.
    pub unanchored: u64,
    /// A record ran past the end of the set.
    pub cut_short: bool,
    /// Read by the compiled path.
    pub compiled: bool,
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
