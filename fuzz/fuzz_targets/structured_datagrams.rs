//! v9 and IPFIX datagrams built from the input rather than taken as it:
//! the input is a list of choices (which sets, which template ids, which
//! elements with which lengths, how many records, where padding or a
//! broken set goes), so nearly every run reaches template checks and data
//! records instead of failing at the first header. The harness encodes
//! records itself (variable-length fields with 1- and 3-byte length
//! prefixes included) under the templates the decoder says it learned,
//! and checks that each such data set gives exactly the records written.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use floe_netflow::{Decoder, DecoderConfig, ReportItem};
use libfuzzer_sys::fuzz_target;

/// Elements with the lengths exporters use for them (and some they
/// should not: a decoder must refuse those templates, not misread them).
const ELEMENTS: &[(u16, &[u16])] = &[
    (1, &[4, 8, 3]),
    (2, &[4, 8]),
    (4, &[1, 9]),
    (5, &[1]),
    (6, &[1, 2]),
    (7, &[2]),
    (8, &[4, 16]),
    (10, &[2, 4]),
    (11, &[2]),
    (12, &[4]),
    (15, &[4]),
    (16, &[2, 4]),
    (21, &[4]),
    (22, &[4]),
    (27, &[16]),
    (28, &[16]),
    (32, &[2]),
    (34, &[4]),
    (48, &[1, 2]),
    (60, &[1]),
    (82, &[65535, 8]),
    (85, &[8]),
    (94, &[65535]),
    (150, &[4]),
    (152, &[8]),
    (154, &[8]),
    (158, &[4]),
    (160, &[8]),
    (161, &[4]),
    (231, &[8]),
    (302, &[1]),
    (305, &[4]),
    (306, &[4]),
    (310, &[4]),
    (999, &[0, 5, 65535]),
];

/// Choices drawn from the input; zeros once it runs out.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// One field of a template: element, length, enterprise number.
type Field = (u16, u16, Option<u32>);

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

fn template_record(id: u16, fields: &[Field], ipfix: bool, scope: Option<u16>) -> Vec<u8> {
    let mut t = id.to_be_bytes().to_vec();
    match (scope, ipfix) {
        (None, _) => t.extend_from_slice(&(fields.len() as u16).to_be_bytes()),
        (Some(s), true) => {
            t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            t.extend_from_slice(&s.to_be_bytes());
        }
        (Some(s), false) => {
            let s = usize::from(s).min(fields.len());
            t.extend_from_slice(&((s * 4) as u16).to_be_bytes());
            t.extend_from_slice(&(((fields.len() - s) * 4) as u16).to_be_bytes());
        }
    }
    for &(ie, len, pen) in fields {
        match pen.filter(|_| ipfix) {
            Some(p) => {
                t.extend_from_slice(&(ie | 0x8000).to_be_bytes());
                t.extend_from_slice(&len.to_be_bytes());
                t.extend_from_slice(&p.to_be_bytes());
            }
            None => {
                t.extend_from_slice(&ie.to_be_bytes());
                t.extend_from_slice(&len.to_be_bytes());
            }
        }
    }
    t
}

/// One record under `fields`, values drawn from the input.
fn data_record(c: &mut Choices, fields: &[Field], out: &mut Vec<u8>) {
    for &(_, len, _) in fields {
        let n = if len == 65535 {
            let n = match c.below(4) {
                0 => 0,
                1 => c.below(254),
                2 => 255 + c.below(64),
                _ => c.below(40),
            };
            if n < 255 && c.byte() % 8 != 0 {
                out.push(n as u8);
            } else {
                out.push(255);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n
        } else {
            usize::from(len)
        };
        for _ in 0..n {
            out.push(c.byte());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices(data);
    let mut dec = Decoder::new(DecoderConfig::default());
    // The templates the decoder said it learned: (version, domain, id).
    let mut known: HashMap<(u16, u32, u16), Vec<Field>> = HashMap::new();
    let from = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut seq = 0u32;
    let mut now = 1_795_000_000_000i64;
    while !c.done() {
        let ipfix = c.byte() % 2 == 1;
        let version = if ipfix { 10 } else { 9 };
        let domain = u32::from(c.byte() % 3);
        let mut sets = Vec::new();
        // (offset of the set in the datagram, records written) of each
        // data set under a template the decoder knows.
        let mut expect: Vec<(usize, u32)> = Vec::new();
        let header = if ipfix { 16 } else { 20 };
        for _ in 0..1 + c.below(4) {
            let at = header + sets.len();
            match c.below(8) {
                // Templates, data or options.
                0..=2 => {
                    let options = c.below(4) == 0;
                    let mut body = Vec::new();
                    for _ in 0..1 + c.below(3) {
                        let id = if c.below(16) == 0 {
                            c.byte().into()
                        } else {
                            256 + c.below(6) as u16
                        };
                        let fields: Vec<Field> = (0..1 + c.below(10))
                            .map(|_| {
                                let (ie, lens) = ELEMENTS[c.below(ELEMENTS.len())];
                                let len = lens[c.below(lens.len())];
                                let pen = (c.below(10) == 0).then_some(9);
                                (ie, len, pen)
                            })
                            .collect();
                        let scope = options.then(|| c.below(3) as u16);
                        body.extend(template_record(id, &fields, ipfix, scope));
                    }
                    let set_id = match (ipfix, options) {
                        (true, false) => 2,
                        (true, true) => 3,
                        (false, false) => 0,
                        (false, true) => 1,
                    };
                    sets.extend(set(set_id, &body));
                }
                // Data under a known template, or under any id.
                3..=5 => {
                    let id = 256 + c.below(6) as u16;
                    let mut body = Vec::new();
                    match known.get(&(version, domain, id)) {
                        Some(fields) => {
                            let records = c.below(6) as u32;
                            for _ in 0..records {
                                data_record(&mut c, fields, &mut body);
                            }
                            if records > 0 && body.len() + 4 <= 65_000 {
                                expect.push((at, records));
                            }
                        }
                        None => body.extend((0..c.below(64)).map(|_| c.byte())),
                    }
                    sets.extend(set(id, &body));
                }
                // IPFIX withdrawal of a template.
                6 if ipfix => {
                    let id = 256 + c.below(6) as u16;
                    sets.extend(set(2, &[(id >> 8) as u8, id as u8, 0, 0]));
                }
                // Something broken: a short set, a set past the end, bytes.
                _ => {
                    let n = c.below(12);
                    sets.extend((0..n).map(|_| c.byte()));
                }
            }
        }
        if c.below(4) == 0 {
            sets.extend(std::iter::repeat_n(0, c.below(40)));
        }
        let mut d = Vec::new();
        d.extend_from_slice(&version.to_be_bytes());
        if ipfix {
            d.extend_from_slice(&((16 + sets.len()).min(65_535) as u16).to_be_bytes());
            d.extend_from_slice(&1_795_000_000u32.to_be_bytes());
            d.extend_from_slice(&seq.to_be_bytes());
        } else {
            d.extend_from_slice(&1u16.to_be_bytes());
            d.extend_from_slice(&86_400_000u32.to_be_bytes());
            d.extend_from_slice(&1_795_000_000u32.to_be_bytes());
            d.extend_from_slice(&seq.to_be_bytes());
        }
        d.extend_from_slice(&domain.to_be_bytes());
        d.extend_from_slice(&sets);
        seq = seq.wrapping_add(1);
        now += 1000;
        let mut flows = Vec::new();
        let (o, report) = dec.decode_explained(from, &d, now, &mut flows);
        let side: u64 = dec.drain_counters().iter().map(|(_, c)| c.flows).sum();
        assert_eq!(o.counters.flows + side, flows.len() as u64);
        assert_eq!(report.flows, flows.len() as u64);
        let _ = dec.drain_events().count();
        // Each data set written under a known template gave its records,
        // whole (a set whose template a set before it in this datagram
        // changed is not checked).
        let mut changed = false;
        for item in &report.items {
            match item {
                ReportItem::Templates {
                    learned,
                    refused,
                    withdrawn,
                    ..
                } => {
                    changed |= !learned.is_empty() || !refused.is_empty() || !withdrawn.is_empty();
                    for t in learned {
                        known.insert((version, domain, t.id), t.layout.clone());
                    }
                    for (id, _) in refused {
                        known.remove(&(version, domain, *id));
                    }
                    for id in withdrawn {
                        known.remove(&(version, domain, *id));
                    }
                }
                ReportItem::Data {
                    offset, records, ..
                }
                | ReportItem::OptionsData {
                    offset, records, ..
                } if !changed => {
                    if let Some((_, want)) = expect.iter().find(|(at, _)| at == offset) {
                        assert_eq!(records, want, "data set at byte {offset}");
                    }
                }
                _ => {}
            }
        }
    }
});
