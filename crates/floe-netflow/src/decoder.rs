//! Datagrams in, flows, counters and events out: the [`Decoder`].
//!
//! It dispatches on the version, frames v9/IPFIX datagrams set by set
//! ([`crate::framing`]), gives each set to what reads it (template sets to
//! [`crate::template_sets`], data sets to [`crate::data_sets`], data that
//! came before its template to [`crate::pending`]; v1, v5 and v7 to
//! [`crate::fixed`]), and accounts for the datagram: which exporter stream
//! it belongs to (kept within the limits, [`crate::streams`]), its
//! sequence numbers ([`crate::sequence`]), and whether it was bad or only
//! some part of it.

use crate::out::FlowOut;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use floe_flow::{Counter, ExporterCounters, ExporterKey};

use crate::data_sets::{data_set, DataResult};
use crate::events::{DecodeEvent, Problem, Sink};
use crate::explain::{DatagramReport, ReportItem};
use crate::framing::{self, Item, MessageHeader};
use crate::pending::{Dropped, HeldSet, HoldLimits, MessageTimes};
use crate::streams::{Scope, Slot, StreamMap, Streams};
use crate::template_sets::{self, TemplateLimits, TemplateSet};
use crate::template_store::FileTemplateStore;
use crate::templates::{self, Layout};
use crate::walker::Plan;

/// Limits and options of a [`Decoder`].
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// Exporter streams (address, version, source id) kept at once; a new
    /// one beyond this makes the decoder forget the stream heard from least
    /// recently (its templates and sequence state).
    pub max_exporters: usize,
    /// Templates kept over all exporter streams; beyond this, the streams
    /// heard from least recently are forgotten. With the per-stream and
    /// per-template limits this bounds the decoder's memory whatever a
    /// flood of made-up template and source ids does.
    pub max_templates_total: usize,
    /// Templates kept per exporter stream (least recently used go first,
    /// counted as `templates_forgotten`).
    pub max_templates_per_exporter: usize,
    /// Fields a template may have.
    pub max_template_fields: usize,
    /// Template ids per exporter stream for which data that arrived before
    /// its template is held.
    pub pending_templates: usize,
    /// Bytes of such early data held per exporter stream.
    pub pending_bytes: usize,
    /// Bytes of early data held over all streams: beyond it, the stream
    /// holding the most gives up its oldest (a flood of made-up source ids
    /// would otherwise hold `pending_bytes` for each of `max_exporters`).
    pub pending_bytes_total: usize,
    /// How long early data waits for its template before it is dropped
    /// (and counted as `early_data_expired`).
    pub pending_ttl: Duration,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_exporters: 2048,
            max_templates_total: 16_384,
            max_templates_per_exporter: 1024,
            max_template_fields: 256,
            pending_templates: 64,
            pending_bytes: 256 << 10,
            pending_bytes_total: 32 << 20,
            pending_ttl: Duration::from_secs(600),
        }
    }
}

impl DecoderConfig {
    fn hold_limits(&self) -> HoldLimits {
        HoldLimits {
            templates: self.pending_templates,
            bytes: self.pending_bytes,
            ttl_ms: i64::try_from(self.pending_ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// The result of decoding one datagram.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The exporter stream the datagram belongs to (its sender with source
    /// id 0 when the datagram is too short to tell).
    pub key: Option<ExporterKey>,
    /// What to add to that exporter's counters.
    pub counters: ExporterCounters,
    /// Options data records decoded (they are not flows).
    pub options_records: u64,
    /// Data records read by compiled templates (`direct.rs`) rather
    /// than the step walker: how well the compiled path is used.
    pub compiled_records: u32,
}

/// The state of one message while its sets are read.
struct Message {
    scope: Scope,
    header: MessageHeader,
    counters: ExporterCounters,
    /// Data records (flows and options) read, for IPFIX sequence numbers.
    records: u32,
    /// A data set was held or not decoded: the record count is unknown.
    units_unknown: bool,
    flows_at_start: usize,
}

/// What the sets of a datagram gave, to tell a bad datagram from one
/// with some undecodable part.
#[derive(Default)]
struct Findings {
    /// Something was read (a template set, a data set, held data).
    useful: bool,
    problems: Vec<(ExporterKey, Problem)>,
    padded: bool,
    /// Data was held for a template to come.
    held: bool,
}

/// Decodes NetFlow v1, v5, v7, v9 and IPFIX datagrams, keeping template,
/// sampling and sequence state per exporter stream.
pub struct Decoder {
    cfg: DecoderConfig,
    store: Option<Arc<FileTemplateStore>>,
    streams: Streams,
    /// Templates over all streams (kept as they change).
    templates_total: usize,
    events: Vec<DecodeEvent>,
    /// Counters for streams other than the one an [`Outcome`] reports.
    side: StreamMap<ExporterKey, ExporterCounters>,
    /// Framing items of the datagram being decoded (kept to reuse).
    items: Vec<Item>,
    last_sweep_ms: i64,
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(cfg: DecoderConfig) -> Self {
        Decoder {
            cfg,
            store: None,
            streams: Streams::default(),
            templates_total: 0,
            events: Vec::new(),
            side: StreamMap::default(),
            items: Vec::new(),
            last_sweep_ms: i64::MIN,
        }
    }

    /// Persists templates through `store`, so that a restarted collector
    /// decodes data before the exporters announce their templates again.
    pub fn with_template_store(mut self, store: Arc<FileTemplateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Events since the last call (new exporters, templates, sequence
    /// resets, what could not be decoded...), for the caller to log.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, DecodeEvent> {
        self.events.drain(..)
    }

    /// Counters of streams that no [`Outcome`] carried (early data expired
    /// by time, templates of forgotten streams, other messages of a
    /// datagram), since the last call.
    pub fn drain_counters(&mut self) -> Vec<(ExporterKey, ExporterCounters)> {
        self.side.drain().collect()
    }

    /// Number of exporter streams with state.
    pub fn exporters(&self) -> usize {
        self.streams.len()
    }

    /// Templates known per exporter stream.
    pub fn templates_known(&self) -> Vec<(ExporterKey, usize)> {
        let mut per: StreamMap<ExporterKey, usize> = StreamMap::default();
        for s in self.streams.iter() {
            *per.entry(s.key()).or_default() += s.templates.len();
        }
        per.into_iter().collect()
    }

    /// Bytes of early data held over all streams.
    pub fn held_bytes(&self) -> usize {
        self.streams.iter().map(|s| s.held.bytes()).sum()
    }

    /// Drops early data that has waited too long at `now_ms` (the decoder
    /// also does this by itself at most once a second of datagram time).
    pub fn tick(&mut self, now_ms: i64) {
        self.last_sweep_ms = now_ms;
        let ttl = self.cfg.hold_limits().ttl_ms;
        let mut sink = Sink {
            events: &mut self.events,
        };
        for s in self.streams.iter_mut() {
            if s.held.is_empty() {
                continue;
            }
            let mut dropped = Dropped::new();
            s.held.expire(now_ms, ttl, &mut dropped);
            if !dropped.is_empty() {
                let c = self.side.entry(s.key()).or_default();
                expired(&mut sink, c, s.key(), dropped);
            }
        }
    }

    /// Decodes one datagram received from `from` at `now_ms` (receive
    /// time, used to age held data), appending its flows to `out`. Flow
    /// times come from the datagram's own headers.
    ///
    /// A NetFlow v5 datagram of one flow, built by hand:
    ///
    /// ```
    /// use floe_netflow::{Decoder, DecoderConfig, Flow};
    ///
    /// let export_secs: u32 = 1_764_000_000; // 2025-11-24 16:00 UTC
    /// let mut d = Vec::new();
    /// // Header: version, count, uptime (ms), export time (s, ns), flow
    /// // sequence, engine type and id, sampling.
    /// d.extend(5u16.to_be_bytes());
    /// d.extend(1u16.to_be_bytes());
    /// d.extend(10_000u32.to_be_bytes());
    /// d.extend(export_secs.to_be_bytes());
    /// d.extend(0u32.to_be_bytes());
    /// d.extend(42u32.to_be_bytes());
    /// d.extend([0, 0, 0, 0]);
    /// // Record: addresses, interfaces, packets, octets, first and last
    /// // (uptime ms), ports, pad, TCP flags, protocol, ToS, ASes, masks, pad.
    /// d.extend([10, 0, 0, 1, 192, 0, 2, 7, 0, 0, 0, 0]);
    /// d.extend(3u16.to_be_bytes());
    /// d.extend(4u16.to_be_bytes());
    /// d.extend(5u32.to_be_bytes());
    /// d.extend(1_500u32.to_be_bytes());
    /// d.extend(8_000u32.to_be_bytes());
    /// d.extend(9_000u32.to_be_bytes());
    /// d.extend(51_000u16.to_be_bytes());
    /// d.extend(443u16.to_be_bytes());
    /// d.extend([0, 0x1b, 6, 0]);
    /// d.extend(64_500u16.to_be_bytes());
    /// d.extend(15_169u16.to_be_bytes());
    /// d.extend([24, 24, 0, 0]);
    /// assert_eq!(d.len(), 24 + 48);
    ///
    /// let mut decoder = Decoder::new(DecoderConfig::default());
    /// let mut flows: Vec<Flow> = Vec::new();
    /// let now_ms = i64::from(export_secs) * 1000;
    /// let outcome = decoder.decode("198.51.100.1".parse()?, &d, now_ms, &mut flows);
    ///
    /// assert_eq!(flows.len(), 1);
    /// let f = &flows[0];
    /// assert_eq!(f.src_addr.to_string(), "10.0.0.1");
    /// assert_eq!((f.src_port, f.dst_port, f.protocol), (51_000, 443, 6));
    /// assert_eq!((f.packets, f.octets), (5, 1_500));
    /// // Uptimes become absolute: the flow ended a second before export.
    /// assert_eq!(f.end_ms, now_ms - 1_000);
    /// assert_eq!(f.start_ms, now_ms - 2_000);
    /// assert_eq!(f.exporter.to_string(), "198.51.100.1");
    /// assert!(outcome.key.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode<O: FlowOut>(
        &mut self,
        from: IpAddr,
        data: &[u8],
        now_ms: i64,
        out: &mut O,
    ) -> Outcome {
        self.decode_with(from, data, now_ms, out, None)
    }

    /// [`Decoder::decode`], also saying what was done with each part of
    /// the datagram.
    pub fn decode_explained<O: FlowOut>(
        &mut self,
        from: IpAddr,
        data: &[u8],
        now_ms: i64,
        out: &mut O,
    ) -> (Outcome, DatagramReport) {
        let mut report = DatagramReport {
            bytes: data.len(),
            ..DatagramReport::default()
        };
        let before = out.flows_len();
        let o = self.decode_with(from, data, now_ms, out, Some(&mut report));
        report.flows = (out.flows_len() - before) as u64;
        (o, report)
    }

    fn decode_with<O: FlowOut>(
        &mut self,
        from: IpAddr,
        data: &[u8],
        now_ms: i64,
        out: &mut O,
        mut report: Option<&mut DatagramReport>,
    ) -> Outcome {
        if now_ms.saturating_sub(self.last_sweep_ms) >= 1000 || now_ms < self.last_sweep_ms {
            self.tick(now_ms);
        }
        let Some(version) = data.get(0..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            return self.bad(
                from,
                None,
                Problem::ShortDatagram { len: data.len() },
                report,
            );
        };
        if let Some(r) = report.as_deref_mut() {
            r.version = version;
        }
        match version {
            1 | 5 | 7 => self.fixed(from, version, data, out, report),
            9 | 10 => self.flexible(from, version, data, now_ms, out, report),
            v => self.bad(from, None, Problem::UnknownVersion { version: v }, report),
        }
    }

    /// Counts a datagram nothing could be taken from.
    fn bad(
        &mut self,
        from: IpAddr,
        key: Option<ExporterKey>,
        problem: Problem,
        report: Option<&mut DatagramReport>,
    ) -> Outcome {
        let mut o = Outcome {
            key: Some(key.unwrap_or(ExporterKey {
                address: from,
                source_id: 0,
            })),
            ..Outcome::default()
        };
        o.counters.datagrams = 1;
        o.counters.bad_datagrams = 1;
        if let Some(r) = report {
            r.bad = Some(problem.to_string());
        }
        self.events.push(DecodeEvent::BadDatagram { from, problem });
        o
    }

    /// Makes room for and marks as heard the stream of `scope`; a new one
    /// gets the templates kept for it in the template file.
    fn enter(&mut self, scope: Scope) {
        if !self.streams.contains(&scope) {
            while self.streams.len() >= self.cfg.max_exporters.max(1) {
                if !self.forget_oldest(|s| *s == scope) {
                    break;
                }
            }
        }
        if !self.streams.touch(scope) {
            return;
        }
        let key = scope.key();
        self.events.push(DecodeEvent::NewExporter {
            key,
            version: scope.version,
        });
        let restored = self
            .store
            .as_ref()
            .map(|s| s.scope(&scope.name()))
            .unwrap_or_default();
        if restored.is_empty() {
            return;
        }
        let max = self.cfg.max_templates_per_exporter;
        let Some(stream) = self.streams.get_mut(&scope) else {
            return;
        };
        let layout = if scope.version == 9 {
            Layout::V9
        } else {
            Layout::Ipfix
        };
        let mut n = 0;
        for def in restored.into_iter().take(max) {
            // Checked as an announced template is: the file may be an
            // older floe's (netflow_parser's, which accepted templates
            // floe refuses), damaged or edited.
            let total = def.fields.len();
            if templates::fault(&def, total, layout, self.cfg.max_template_fields).is_some() {
                if let Some(store) = &self.store {
                    store.remove(&stream.store_name, def.id);
                }
                continue;
            }
            let plan = Plan::compile(&def.specs(), def.options);
            let id = def.id;
            stream.put_template(
                id,
                Slot::Usable {
                    def,
                    plan,
                    last_used: 0,
                },
                max,
            );
            n += 1;
        }
        self.templates_total += n;
        self.events
            .push(DecodeEvent::TemplatesRestored { key, templates: n });
    }

    /// Forgets the stream heard from least recently among those `keep`
    /// does not hold on to; false when there is none.
    fn forget_oldest(&mut self, keep: impl Fn(&Scope) -> bool) -> bool {
        let Some(mut gone) = self.streams.forget_oldest(keep) else {
            return false;
        };
        let key = gone.key();
        let templates = gone.templates.len();
        self.templates_total = self.templates_total.saturating_sub(templates);
        let mut dropped = Dropped::new();
        gone.held.clear(&mut dropped);
        let c = self.side.entry(key).or_default();
        c.extra[Counter::TemplatesForgotten] += templates as u64;
        let mut sink = Sink {
            events: &mut self.events,
        };
        expired(&mut sink, c, key, dropped);
        self.events
            .push(DecodeEvent::ExporterForgotten { key, templates });
        true
    }

    /// v1, v5 and v7.
    fn fixed<O: FlowOut>(
        &mut self,
        from: IpAddr,
        version: u16,
        data: &[u8],
        out: &mut O,
        report: Option<&mut DatagramReport>,
    ) -> Outcome {
        let decoded = match crate::fixed::decode(from, version, data, out) {
            Ok(d) => d,
            Err(p) => return self.bad(from, None, p, report),
        };
        let scope = Scope {
            address: from,
            version,
            domain: decoded.source_id,
        };
        self.enter(scope);
        let key = scope.key();
        let mut o = Outcome {
            key: Some(key),
            ..Outcome::default()
        };
        o.counters.datagrams = 1;
        o.counters.flows = decoded.records;
        if let Some(stream) = self.streams.get_mut(&scope) {
            stream.datagrams += 1;
            stream.flows += decoded.records;
            if let Some(seq) = decoded.sequence {
                let mut sink = Sink {
                    events: &mut self.events,
                };
                crate::sequence::account(
                    &mut sink,
                    stream,
                    &mut o.counters,
                    seq,
                    Some(decoded.records as u32),
                    None,
                );
            }
        }
        if let Some(r) = report {
            r.items.push(ReportItem::Records {
                version,
                records: decoded.records,
                sequence: decoded.sequence,
            });
        }
        o
    }

    /// v9 and IPFIX: message by message, set by set.
    fn flexible<O: FlowOut>(
        &mut self,
        from: IpAddr,
        version: u16,
        data: &[u8],
        now_ms: i64,
        out: &mut O,
        mut report: Option<&mut DatagramReport>,
    ) -> Outcome {
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        framing::frame(data, version, |i| items.push(i));
        let mut outcome = Outcome::default();
        let mut findings = Findings::default();
        let mut msg: Option<Message> = None;
        for item in items.drain(..) {
            match item {
                Item::Message(header) => {
                    if let Some(m) = msg.take() {
                        self.end_message(m, &mut outcome, out.flows_len());
                    }
                    let scope = Scope {
                        address: from,
                        version,
                        domain: header.domain,
                    };
                    self.enter(scope);
                    if outcome.key.is_none() {
                        outcome.key = Some(scope.key());
                    }
                    if let Some(r) = report.as_deref_mut() {
                        r.items.push(ReportItem::Message {
                            offset: header.offset,
                            version,
                            export_secs: header.export_secs,
                            sequence: header.sequence,
                            domain: header.domain,
                            sys_uptime_ms: header.sys_uptime_ms,
                        });
                    }
                    msg = Some(Message {
                        scope,
                        header,
                        counters: ExporterCounters::default(),
                        records: 0,
                        units_unknown: false,
                        flows_at_start: out.flows_len(),
                    });
                }
                Item::Set { id, offset, body } => {
                    let Some(m) = msg.as_mut() else { continue };
                    self.set(
                        m,
                        id,
                        offset,
                        &data[body],
                        now_ms,
                        out,
                        &mut findings,
                        &mut outcome,
                        report.as_deref_mut(),
                    );
                }
                Item::Padding { offset, len } => {
                    findings.padded = true;
                    if let Some(r) = report.as_deref_mut() {
                        r.items.push(ReportItem::Padding {
                            offset,
                            length: len,
                        });
                    }
                }
                Item::Problem(p) => {
                    let costs_nothing = matches!(
                        p,
                        Problem::MessageTruncated { .. } | Problem::SetPastMessage { .. }
                    );
                    if let Some(r) = report.as_deref_mut() {
                        let (reason_kind, reason) = (p.kind().to_string(), p.to_string());
                        r.items.push(if costs_nothing {
                            ReportItem::Note {
                                reason_kind,
                                reason,
                            }
                        } else {
                            ReportItem::Undecoded {
                                reason_kind,
                                reason,
                            }
                        });
                    }
                    if let Some(m) = msg.as_mut() {
                        m.units_unknown = true;
                    }
                    // A cut-short message is said by the problems of its
                    // last set, if any was lost.
                    if !costs_nothing {
                        let key = msg.as_ref().map(|m| m.scope.key());
                        findings.problems.push((
                            key.unwrap_or(ExporterKey {
                                address: from,
                                source_id: 0,
                            }),
                            p,
                        ));
                    }
                }
            }
        }
        self.items = items;
        if let Some(m) = msg.take() {
            self.end_message(m, &mut outcome, out.flows_len());
        }
        if findings.held {
            self.enforce_held_total();
        }
        // Nothing could be read at all: the datagram is bad, for the first
        // reason found; otherwise each problem costs only its part.
        if !findings.useful && !findings.problems.is_empty() {
            let (key, problem) = findings.problems.swap_remove(0);
            if let Some(r) = report {
                r.bad = Some(problem.to_string());
            }
            outcome.counters.bad_datagrams += 1;
            outcome.counters.datagrams = 1;
            outcome.key.get_or_insert(key);
            self.events.push(DecodeEvent::BadDatagram { from, problem });
            self.enforce_template_total(outcome.key);
            return outcome;
        }
        for (key, problem) in findings.problems {
            let c = if Some(key) == outcome.key {
                &mut outcome.counters
            } else {
                self.side.entry(key).or_default()
            };
            Sink {
                events: &mut self.events,
            }
            .emit(c, DecodeEvent::Undecoded { key, problem });
        }
        if findings.padded {
            outcome.counters.extra[Counter::PaddedDatagrams] += 1;
        }
        outcome.counters.datagrams = 1;
        self.enforce_template_total(outcome.key);
        outcome
    }

    /// Sequence accounting and counters at the end of a message.
    fn end_message(&mut self, m: Message, outcome: &mut Outcome, flows_now: usize) {
        let Message {
            scope,
            header,
            mut counters,
            records,
            units_unknown,
            flows_at_start,
        } = m;
        let flows = (flows_now - flows_at_start) as u64;
        counters.flows += flows;
        let key = scope.key();
        if let Some(stream) = self.streams.get_mut(&scope) {
            let mut sink = Sink {
                events: &mut self.events,
            };
            if scope.version == 9 {
                crate::sequence::account(
                    &mut sink,
                    stream,
                    &mut counters,
                    header.sequence,
                    Some(1),
                    Some(flows),
                );
            } else {
                let units = (!units_unknown).then_some(records);
                crate::sequence::account(
                    &mut sink,
                    stream,
                    &mut counters,
                    header.sequence,
                    units,
                    None,
                );
            }
            stream.datagrams += 1;
            stream.flows += flows;
        }
        if Some(key) == outcome.key {
            outcome.counters.add(&counters);
        } else {
            self.side.entry(key).or_default().add(&counters);
        }
    }

    /// Makes the streams holding the most early data give up their oldest
    /// while more than allowed is held over all streams.
    fn enforce_held_total(&mut self) {
        let mut total = self.held_bytes();
        while total > self.cfg.pending_bytes_total {
            let Some(s) = self.streams.iter_mut().max_by_key(|s| s.held.bytes()) else {
                break;
            };
            let before = s.held.bytes();
            let mut dropped = Dropped::new();
            s.held.drop_oldest(&mut dropped);
            if dropped.is_empty() {
                break;
            }
            total -= before - s.held.bytes();
            let key = s.key();
            let c = self.side.entry(key).or_default();
            let mut sink = Sink {
                events: &mut self.events,
            };
            expired(&mut sink, c, key, dropped);
        }
    }

    /// Forgets the least recently heard streams while more templates than
    /// allowed are kept (every stream of the current exporter key stays).
    fn enforce_template_total(&mut self, current: Option<ExporterKey>) {
        while self.templates_total > self.cfg.max_templates_total {
            if !self.forget_oldest(|s| Some(s.key()) == current) {
                break;
            }
        }
    }

    /// One set of a message.
    #[allow(clippy::too_many_arguments)]
    fn set<O: FlowOut>(
        &mut self,
        m: &mut Message,
        id: u16,
        offset: usize,
        body: &[u8],
        now_ms: i64,
        out: &mut O,
        findings: &mut Findings,
        outcome: &mut Outcome,
        mut report: Option<&mut DatagramReport>,
    ) {
        let ipfix = m.scope.version == 10;
        let template_set = match (ipfix, id) {
            (false, 0) => Some((Layout::V9, false)),
            (false, 1) => Some((Layout::V9, true)),
            (true, 2) => Some((Layout::Ipfix, false)),
            (true, 3) => Some((Layout::Ipfix, true)),
            // v9-style template sets in IPFIX messages, as some exporters
            // send them (netflow_parser reads them too).
            (true, 0) => Some((Layout::V9, false)),
            (true, 1) => Some((Layout::V9, true)),
            _ => None,
        };
        if let Some((layout, options)) = template_set {
            findings.useful = true;
            let limits = TemplateLimits {
                per_stream: self.cfg.max_templates_per_exporter,
                fields: self.cfg.max_template_fields,
            };
            let Some(stream) = self.streams.get_mut(&m.scope) else {
                return;
            };
            let set = TemplateSet {
                set_id: id,
                layout,
                options,
                offset,
                body,
            };
            let mut sink = Sink {
                events: &mut self.events,
            };
            let delta = template_sets::apply(
                stream,
                &mut sink,
                &mut m.counters,
                self.store.as_deref(),
                limits,
                set,
                out,
                report,
            );
            self.templates_total = self.templates_total.saturating_add_signed(delta);
            return;
        }
        if id < 256 {
            m.units_unknown = true;
            findings
                .problems
                .push((m.scope.key(), Problem::ReservedSetId { offset, set_id: id }));
            if let Some(r) = report {
                r.items.push(ReportItem::Undecoded {
                    reason_kind: "reserved_set_id".into(),
                    reason: Problem::ReservedSetId { offset, set_id: id }.to_string(),
                });
            }
            return;
        }
        let times = MessageTimes {
            export_secs: m.header.export_secs,
            sys_uptime_ms: m.header.sys_uptime_ms,
        };
        let limits = self.cfg.hold_limits();
        let Some(stream) = self.streams.get_mut(&m.scope) else {
            return;
        };
        let mut sink = Sink {
            events: &mut self.events,
        };
        let length = body.len() + 4;
        match data_set(
            stream,
            &mut sink,
            &mut m.counters,
            id,
            times,
            offset,
            body,
            out,
        ) {
            DataResult::Flows(r) => {
                findings.useful = true;
                m.records += r.records;
                if r.compiled {
                    outcome.compiled_records += r.records;
                }
                if let Some(rep) = report.as_deref_mut() {
                    rep.items.push(ReportItem::Data {
                        offset,
                        set_id: id,
                        length,
                        records: r.records,
                        flows: r.flows,
                    });
                }
                if let Some(p) = r.problem {
                    m.units_unknown = true;
                    if let Some(rep) = report.as_deref_mut() {
                        rep.items.push(ReportItem::Undecoded {
                            reason_kind: p.kind().to_string(),
                            reason: p.to_string(),
                        });
                    }
                    findings.problems.push((m.scope.key(), p));
                }
            }
            DataResult::Options(n, problem) => {
                findings.useful = true;
                m.records += n;
                outcome.options_records += u64::from(n);
                if let Some(rep) = report {
                    rep.items.push(ReportItem::OptionsData {
                        offset,
                        set_id: id,
                        length,
                        records: n,
                    });
                }
                if let Some(p) = problem {
                    m.units_unknown = true;
                    findings.problems.push((m.scope.key(), p));
                }
            }
            DataResult::Unknown => {
                findings.useful = true;
                findings.held = true;
                m.units_unknown = true;
                let mut dropped = Dropped::new();
                stream.held.hold(
                    HeldSet {
                        template_id: id,
                        since_ms: now_ms,
                        times,
                        body: body.to_vec(),
                    },
                    limits,
                    &mut dropped,
                );
                let key = stream.key();
                expired(&mut sink, &mut m.counters, key, dropped);
                if let Some(rep) = report {
                    rep.items.push(ReportItem::Held {
                        offset,
                        set_id: id,
                        length,
                    });
                }
            }
            DataResult::Refused(p) => {
                m.units_unknown = true;
                if let Some(rep) = report {
                    rep.items.push(ReportItem::Undecoded {
                        reason_kind: p.kind().to_string(),
                        reason: p.to_string(),
                    });
                }
                findings.problems.push((m.scope.key(), p));
            }
        }
    }
}

/// Counts held data dropped without its template.
fn expired(sink: &mut Sink, counters: &mut ExporterCounters, key: ExporterKey, dropped: Dropped) {
    for (template_id, sets, why) in dropped {
        sink.emit(
            counters,
            DecodeEvent::EarlyDataExpired {
                key,
                template_id,
                sets,
                why,
            },
        );
    }
}
