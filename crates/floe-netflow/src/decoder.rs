//! Datagrams in, flows and per-exporter counters out.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use floe_flow::{Counter, ExporterCounters, ExporterKey, Flow};
use netflow_parser::template_store::TemplateStore;
use netflow_parser::variable_versions::field_value::FieldValue;
use netflow_parser::variable_versions::ipfix::lookup::{IANAIPFixField, IPFixField};
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::v9::lookup::V9Field;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::variable_versions::PendingFlowsConfig;
use netflow_parser::{NetflowPacket, NetflowParser};

use crate::events::DecodeEvent;
use crate::fast::{self, Plan};
use crate::record::{uptime_to_ms, Context, Record};
use crate::sequence::{SequenceEvent, SequenceTracker};

/// The decoder's per-stream maps, looked up several times per datagram:
/// foldhash (randomly seeded, so exporters cannot aim at collisions)
/// instead of std's SipHash, which took 3% of floed's CPU at 5 M v9
/// flows/s (perf).
type StreamMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Limits and options of a [`Decoder`].
#[derive(Clone, Debug)]
pub struct DecoderConfig {
    /// Exporter streams (address, version, source id) with template state
    /// kept at once; a new one beyond this makes the decoder forget the
    /// stream heard from least recently (its templates and sequence state).
    pub max_exporters: usize,
    /// Templates kept over all exporter streams; beyond this, the streams
    /// heard from least recently are forgotten. With the per-stream and
    /// per-template limits this bounds the decoder's memory whatever a
    /// flood of made-up template and source ids does.
    pub max_templates_total: usize,
    /// Templates cached per exporter stream (least recently used go first).
    pub max_templates_per_exporter: usize,
    /// Fields a template may have.
    pub max_template_fields: usize,
    /// Template ids per exporter stream for which data that arrived before
    /// its template is held.
    pub pending_templates: usize,
    /// Bytes of such early data held per exporter stream.
    pub pending_bytes: usize,
    /// How long early data waits for its template before it is dropped
    /// (and counted).
    pub pending_ttl: Duration,
    /// Decode data records of known templates with floe's own compiled
    /// templates (see the `fast` module); off: netflow_parser does all.
    pub fast_path: bool,
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
            pending_ttl: Duration::from_secs(600),
            fast_path: true,
        }
    }
}

/// Identifies a template scope: RFC 3954/7011 scope templates to the
/// exporter and its source id / observation domain, never to the UDP port,
/// so an exporter that restarts on a new port keeps its templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Scope {
    address: IpAddr,
    version: u16,
    domain: u32,
}

impl Scope {
    fn name(&self) -> String {
        format!("{}/v{}/{}", self.address, self.version, self.domain)
    }
}

/// What the decoder remembers of one exporter stream.
#[derive(Debug)]
struct ExporterState {
    sequence: SequenceTracker,
    /// Sampling interval announced without a sampler id.
    sampling: Option<u32>,
    /// Sampling interval per sampler id.
    samplers: HashMap<u64, u32>,
    /// IPFIX systemInitTimeMilliseconds.
    sys_init_ms: Option<i64>,
    /// Template id -> hash of its field list, to tell redefinitions.
    templates: HashMap<u16, u64>,
    datagrams: u64,
    flows: u64,
    /// Early data dropped, as last read from the parser's metrics.
    pending_dropped_seen: u64,
}

impl ExporterState {
    fn new(sequence: SequenceTracker) -> Self {
        ExporterState {
            sequence,
            sampling: None,
            samplers: HashMap::new(),
            sys_init_ms: None,
            templates: HashMap::new(),
            datagrams: 0,
            flows: 0,
            pending_dropped_seen: 0,
        }
    }
}

/// A template field as the fast path and the redefinition check see it:
/// (element, length, enterprise-specific).
trait FieldSpec {
    fn spec(&self) -> (u16, u16, bool);
}

impl FieldSpec for netflow_parser::variable_versions::v9::TemplateField {
    fn spec(&self) -> (u16, u16, bool) {
        (self.field_type_number, self.field_length, false)
    }
}

impl FieldSpec for netflow_parser::variable_versions::ipfix::TemplateField {
    fn spec(&self) -> (u16, u16, bool) {
        (
            self.field_type_number,
            self.field_length,
            self.enterprise_number.is_some(),
        )
    }
}

fn template_fields<F: FieldSpec>(fields: &[F]) -> Vec<(u16, u16, bool)> {
    fields.iter().map(FieldSpec::spec).collect()
}

/// The flow of a fixed-format (v5, v7) record; v5 and v7 records are
/// different types with the same field names.
macro_rules! fixed_record {
    ($r:expr, $exporter:expr, $export_ms:expr, $sys_up:expr) => {{
        let r = $r;
        Flow {
            start_ms: uptime_to_ms($export_ms, $sys_up, r.first),
            end_ms: uptime_to_ms($export_ms, $sys_up, r.last),
            exporter: $exporter,
            src_addr: IpAddr::V4(r.src_addr),
            dst_addr: IpAddr::V4(r.dst_addr),
            next_hop: IpAddr::V4(r.next_hop),
            src_port: r.src_port,
            dst_port: r.dst_port,
            protocol: r.protocol_number,
            tcp_flags: u16::from(r.tcp_flags),
            tos: r.tos,
            packets: u64::from(r.d_pkts),
            octets: u64::from(r.d_octets),
            input_if: u32::from(r.input),
            output_if: u32::from(r.output),
            src_as: u32::from(r.src_as),
            dst_as: u32::from(r.dst_as),
            src_mask: r.src_mask,
            dst_mask: r.dst_mask,
            ..Flow::default()
        }
    }};
}

/// Data records of one message: how many each path decoded, and whether
/// some sets could not be decoded at all (their record count is unknown).
#[derive(Default)]
struct Records {
    fast: u32,
    slow: u32,
    undecoded: bool,
}

fn scope_of(key: ExporterKey, version: u16) -> Scope {
    Scope {
        address: key.address,
        version,
        domain: key.source_id,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0)
}

/// The result of decoding one datagram.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The exporter stream the datagram belongs to (None when the datagram
    /// is too short or of an unknown version to tell).
    pub key: Option<ExporterKey>,
    /// What to add to that exporter's counters.
    pub counters: ExporterCounters,
    /// Options data records decoded (they are not flows).
    pub options_records: u64,
    /// Data records read by floe's compiled plans rather than
    /// netflow_parser (v9/IPFIX; how well the fast path is used).
    pub fast_records: u32,
}

/// Decodes NetFlow v5, v9 and IPFIX datagrams, keeping template, sampling
/// and sequence state per exporter stream.
pub struct Decoder {
    cfg: DecoderConfig,
    store: Option<Arc<dyn TemplateStore>>,
    parsers: StreamMap<Scope, NetflowParser>,
    /// Compiled data templates, for the fast path.
    plans: StreamMap<Scope, StreamMap<u16, Plan>>,
    states: StreamMap<ExporterKey, ExporterState>,
    /// Template-bearing streams by their last datagram, oldest first.
    lru: std::collections::BTreeMap<u64, Scope>,
    last_heard: StreamMap<Scope, u64>,
    clock: u64,
    /// Templates tracked over all streams.
    templates_total: usize,
    stateless: NetflowParser,
    events: Vec<DecodeEvent>,
}

impl Decoder {
    pub fn new(cfg: DecoderConfig) -> Self {
        Decoder {
            cfg,
            store: None,
            parsers: StreamMap::default(),
            plans: StreamMap::default(),
            states: StreamMap::default(),
            lru: std::collections::BTreeMap::new(),
            last_heard: StreamMap::default(),
            clock: 0,
            templates_total: 0,
            stateless: NetflowParser::default(),
            events: Vec::new(),
        }
    }

    /// Persists templates through `store` (see [`crate::FileTemplateStore`]),
    /// so that a restarted collector decodes data before the exporters
    /// announce their templates again.
    pub fn with_template_store(mut self, store: Arc<dyn TemplateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Events since the last call (new exporters, templates, sequence
    /// resets...), for the caller to log and count.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, DecodeEvent> {
        self.events.drain(..)
    }

    /// Number of exporter streams with state.
    pub fn exporters(&self) -> usize {
        self.states.len()
    }

    /// Templates known per exporter stream.
    pub fn templates_known(&self) -> Vec<(ExporterKey, usize)> {
        self.states
            .iter()
            .map(|(k, s)| (*k, s.templates.len()))
            .collect()
    }

    /// Marks a stream as just heard from.
    fn touch(&mut self, scope: Scope) {
        if self.lru.last_key_value().is_some_and(|(_, s)| *s == scope) {
            // Already the most recent (one busy exporter, datagram after
            // datagram): nothing to reorder.
            return;
        }
        self.clock += 1;
        if let Some(old) = self.last_heard.insert(scope, self.clock) {
            self.lru.remove(&old);
        }
        self.lru.insert(self.clock, scope);
    }

    /// Forgets the stream heard from least recently (other than `keep`):
    /// its parser, templates, compiled plans and sequence state. False when
    /// there is none to forget.
    fn forget_oldest(&mut self, keep: Scope) -> bool {
        let Some((&seq, &scope)) = self.lru.iter().find(|(_, s)| **s != keep) else {
            return false;
        };
        self.lru.remove(&seq);
        self.last_heard.remove(&scope);
        self.parsers.remove(&scope);
        self.plans.remove(&scope);
        let key = ExporterKey {
            address: scope.address,
            source_id: scope.domain,
        };
        let templates = self.states.remove(&key).map_or(0, |s| s.templates.len());
        self.templates_total -= templates.min(self.templates_total);
        self.events
            .push(DecodeEvent::ExporterForgotten { key, templates });
        true
    }

    fn parser_for(&mut self, scope: Scope) -> Option<&mut NetflowParser> {
        if !self.parsers.contains_key(&scope) {
            if self.parsers.len() >= self.cfg.max_exporters && !self.forget_oldest(scope) {
                return None;
            }
            let mut pending =
                PendingFlowsConfig::with_ttl(self.cfg.pending_templates, self.cfg.pending_ttl);
            pending.max_total_bytes = self.cfg.pending_bytes;
            let mut b = NetflowParser::builder()
                .with_cache_size(self.cfg.max_templates_per_exporter)
                .with_max_field_count(self.cfg.max_template_fields)
                .with_pending_flows(pending);
            if let Some(store) = &self.store {
                b = b
                    .with_template_store(store.clone())
                    .with_template_store_scope(scope.name());
            }
            // The builder only fails on invalid limits, which the defaults
            // and DecoderConfig's documented ranges are not; fall back to a
            // default parser rather than drop the exporter.
            let parser = b.build().unwrap_or_default();
            self.parsers.insert(scope, parser);
        }
        self.parsers.get_mut(&scope)
    }

    /// Decodes one datagram received from `from` at `now_ms`, appending its
    /// flows to `out`. Flow times come from the datagram's own headers; the
    /// receive time is not used yet (it is where checking exporters' clocks
    /// against ours will go).
    pub fn decode(
        &mut self,
        from: IpAddr,
        data: &[u8],
        _now_ms: i64,
        out: &mut Vec<Flow>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let Some(version) = data.get(0..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            return self.bad(
                from,
                None,
                outcome,
                "datagram shorter than a NetFlow header".into(),
            );
        };
        if version == 1 {
            return self.decode_v1(from, data, out, outcome);
        }
        let domain = match version {
            5 if data.len() >= 24 => u32::from(data[20]) << 8 | u32::from(data[21]),
            7 if data.len() >= 24 => 0,
            9 if data.len() >= 20 => be32(data, 16),
            10 if data.len() >= 16 => be32(data, 12),
            5 | 7 | 9 | 10 => {
                return self.bad(
                    from,
                    None,
                    outcome,
                    format!(
                        "v{version} datagram of {} bytes is shorter than its header",
                        data.len()
                    ),
                )
            }
            v => {
                return self.bad(
                    from,
                    None,
                    outcome,
                    format!("unsupported NetFlow version {v}"),
                )
            }
        };
        let key = ExporterKey {
            address: from,
            source_id: domain,
        };
        outcome.key = Some(key);
        outcome.counters.datagrams = 1;
        let scope = Scope {
            address: from,
            version,
            domain,
        };
        if matches!(version, 9 | 10) {
            if self.parser_for(scope).is_none() {
                outcome.counters.extra[Counter::DroppedExporterLimit] = 1;
                self.events.push(DecodeEvent::ExporterLimit { from });
                return outcome;
            }
            self.touch(scope);
        }
        if !self.states.contains_key(&key) {
            self.events.push(DecodeEvent::NewExporter { key, version });
            let sequence = if version == 9 {
                SequenceTracker::datagrams()
            } else {
                SequenceTracker::records()
            };
            self.states.insert(key, ExporterState::new(sequence));
        }
        let before = out.len();
        let mut records = Records::default();
        if version == 10 {
            self.ipfix_withdrawals(scope, key, data);
        }
        // The fast path takes the data sets whose templates it compiled; the
        // rest of the message goes to netflow_parser.
        let slow: Option<std::borrow::Cow<'_, [u8]>> =
            if matches!(version, 9 | 10) && self.cfg.fast_path {
                self.fast_sets(scope, key, data, out, &mut records, &mut outcome.counters)
            } else {
                Some(std::borrow::Cow::Borrowed(data))
            };
        if let Some(input) = slow {
            let result = if matches!(version, 9 | 10) {
                match self.parsers.get_mut(&scope) {
                    Some(p) => p.parse_bytes(&input),
                    None => return outcome,
                }
            } else {
                self.stateless.parse_bytes(&input)
            };
            if result.packets.is_empty() && records.fast == 0 {
                let reason = match &result.error {
                    Some(e) => format!(
                        "v{version} datagram does not decode: {}",
                        short_reason(&e.to_string())
                    ),
                    None => format!("v{version} datagram holds no message"),
                };
                return self.bad(from, Some(key), outcome, reason);
            }
            for packet in &result.packets {
                self.packet(
                    key,
                    packet,
                    out,
                    &mut outcome.counters,
                    &mut outcome.options_records,
                    &mut records,
                );
            }
            if let Some(e) = &result.error {
                // Whole messages decoded, then something that does not.
                outcome.counters.extra[Counter::MalformedTails] += 1;
                self.events.push(DecodeEvent::MalformedTail {
                    key,
                    reason: short_reason(&e.to_string()),
                });
            }
        }
        outcome.fast_records = records.fast;
        let flows = (out.len() - before) as u64;
        match version {
            9 => self.sequence(
                key,
                be32(data, 12),
                Some(1),
                &mut outcome.counters,
                Some(flows as f64),
            ),
            10 => {
                let units = (!records.undecoded).then_some(records.fast + records.slow);
                self.sequence(key, be32(data, 8), units, &mut outcome.counters, None);
            }
            _ => {}
        }
        outcome.counters.flows = flows;
        if let Some(s) = self.states.get_mut(&key) {
            s.datagrams += 1;
            s.flows += flows;
        }
        outcome
    }

    /// Decodes the data sets of a v9/IPFIX message whose templates have
    /// plans; returns what is left for netflow_parser (the message with
    /// only the other sets), or `None` when nothing is.
    fn fast_sets<'a>(
        &mut self,
        scope: Scope,
        key: ExporterKey,
        data: &'a [u8],
        out: &mut Vec<Flow>,
        records: &mut Records,
        c: &mut ExporterCounters,
    ) -> Option<std::borrow::Cow<'a, [u8]>> {
        let Some(sets) = fast::sets(data, scope.version) else {
            return Some(std::borrow::Cow::Borrowed(data));
        };
        let Some(state) = self.states.get(&key) else {
            return Some(std::borrow::Cow::Borrowed(data));
        };
        let ctx = if scope.version == 9 {
            Context {
                exporter: key.address,
                source_id: key.source_id,
                export_ms: i64::from(be32(data, 8)) * 1000,
                sys_uptime_ms: Some(be32(data, 4)),
                sys_init_ms: None,
                sampling: state.sampling,
            }
        } else {
            Context {
                exporter: key.address,
                source_id: key.source_id,
                export_ms: i64::from(be32(data, 4)) * 1000,
                sys_uptime_ms: None,
                sys_init_ms: state.sys_init_ms,
                sampling: state.sampling,
            }
        };
        let mut kept = Vec::new();
        let mut unanchored = 0u64;
        // Sets count in order (RFC 7011 8, RFC 3954 9): once a template set
        // has come, the data after it may be under a template it defines,
        // redefines or withdraws, so all of it goes to the slow path, which
        // applies the templates first. (Found by a test: data right after
        // a redefinition in the same message was read with the old plan.)
        let template_set = |id: u16| {
            if scope.version == 9 {
                id <= 1
            } else {
                id == 2 || id == 3
            }
        };
        let mut after_template = false;
        for (id, body) in &sets {
            // A refresh (templates exactly as known and compiled, what
            // routers resend every few datagrams) changes nothing: the data
            // after it stays on the fast path. The set itself still goes
            // to netflow_parser with the rest.
            if template_set(*id) && self.is_refresh(key, scope, *id, &data[body.clone()]) {
                kept.push(body.start - 4..body.end);
                continue;
            }
            after_template |= template_set(*id);
            if after_template {
                kept.push(body.start - 4..body.end);
                continue;
            }
            if let Some(plan) = self.plans.get(&scope).and_then(|m| m.get(id)) {
                if let Some((n, u)) = plan.flows(&data[body.clone()], &ctx, &state.samplers, out) {
                    records.fast += n;
                    unanchored += u;
                    continue;
                }
            }
            kept.push(body.start - 4..body.end);
        }
        if unanchored > 0 {
            c.extra[Counter::UptimeUnanchored] += unanchored;
        }
        if kept.is_empty() {
            return None;
        }
        if kept.len() == sets.len() {
            return Some(std::borrow::Cow::Borrowed(data));
        }
        let header = if scope.version == 9 { 20 } else { 16 };
        let mut sub = data[..header].to_vec();
        for r in kept {
            sub.extend_from_slice(&data[r]);
        }
        if scope.version == 10 {
            let len = (sub.len() as u16).to_be_bytes();
            sub[2..4].copy_from_slice(&len);
        }
        Some(std::borrow::Cow::Owned(sub))
    }

    /// Whether a template set only repeats data templates this stream
    /// already has, field for field, with compiled plans. Options template
    /// sets, withdrawals and anything unexpected are not refreshes.
    fn is_refresh(&self, key: ExporterKey, scope: Scope, set_id: u16, body: &[u8]) -> bool {
        let ipfix = scope.version == 10;
        if set_id != if ipfix { 2 } else { 0 } {
            return false;
        }
        let (Some(state), Some(plans)) = (self.states.get(&key), self.plans.get(&scope)) else {
            return false;
        };
        let be16 = |at: usize| {
            body.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let mut at = 0;
        let mut any = false;
        // Whole records; fewer than 4 bytes left is padding.
        while at + 4 <= body.len() {
            let (Some(id), Some(n)) = (be16(at), be16(at + 2)) else {
                return false;
            };
            at += 4;
            if id < 256 || n == 0 {
                return false;
            }
            let mut fields = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let (Some(t), Some(len)) = (be16(at), be16(at + 2)) else {
                    return false;
                };
                at += 4;
                let enterprise = ipfix && t & 0x8000 != 0;
                if enterprise {
                    at += 4;
                }
                fields.push((if ipfix { t & 0x7FFF } else { t }, len, enterprise));
            }
            if at > body.len() {
                return false;
            }
            let mut h = DefaultHasher::new();
            fields.hash(&mut h);
            if state.templates.get(&id) != Some(&h.finish()) || !plans.contains_key(&id) {
                return false;
            }
            any = true;
        }
        any
    }

    /// NetFlow v1 (which netflow_parser does not read): a 16-byte header
    /// and 48-byte records, no sequence numbers, no engine ids.
    fn decode_v1(
        &mut self,
        from: IpAddr,
        data: &[u8],
        out: &mut Vec<Flow>,
        mut outcome: Outcome,
    ) -> Outcome {
        let key = ExporterKey {
            address: from,
            source_id: 0,
        };
        let count = data
            .get(2..4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .unwrap_or(0);
        if data.len() < 16 || data.len() < 16 + 48 * count || count == 0 || count > 24 {
            return self.bad(
                from,
                Some(key),
                outcome,
                format!(
                    "v1 datagram of {} bytes does not hold its header and {count} records",
                    data.len()
                ),
            );
        }
        let be32 =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let be16 = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
        let (sys_up, secs, nsecs) = (be32(4), be32(8), be32(12));
        let export_ms = i64::from(secs) * 1000 + i64::from(nsecs / 1_000_000);
        let at_time = |up: u32| uptime_to_ms(export_ms, sys_up, up);
        if !self.states.contains_key(&key) {
            self.events
                .push(DecodeEvent::NewExporter { key, version: 1 });
            self.states
                .insert(key, ExporterState::new(SequenceTracker::records()));
        }
        for i in 0..count {
            let r = 16 + 48 * i;
            let ip = |at: usize| IpAddr::from([data[at], data[at + 1], data[at + 2], data[at + 3]]);
            out.push(Flow {
                start_ms: at_time(be32(r + 24)),
                end_ms: at_time(be32(r + 28)),
                exporter: from,
                source_id: 0,
                src_addr: ip(r),
                dst_addr: ip(r + 4),
                next_hop: ip(r + 8),
                input_if: u32::from(be16(r + 12)),
                output_if: u32::from(be16(r + 14)),
                packets: u64::from(be32(r + 16)),
                octets: u64::from(be32(r + 20)),
                src_port: be16(r + 32),
                dst_port: be16(r + 34),
                protocol: data[r + 38],
                tos: data[r + 39],
                tcp_flags: u16::from(data[r + 40]),
                ..Flow::default()
            });
        }
        outcome.key = Some(key);
        outcome.counters.datagrams = 1;
        outcome.counters.flows = count as u64;
        outcome
    }

    fn bad(
        &mut self,
        from: IpAddr,
        key: Option<ExporterKey>,
        mut outcome: Outcome,
        reason: String,
    ) -> Outcome {
        outcome.key = key.or(Some(ExporterKey {
            address: from,
            source_id: 0,
        }));
        outcome.counters.datagrams = 1;
        outcome.counters.bad_datagrams = 1;
        self.events.push(DecodeEvent::BadDatagram { from, reason });
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        key: ExporterKey,
        packet: &NetflowPacket,
        out: &mut Vec<Flow>,
        c: &mut ExporterCounters,
        options: &mut u64,
        records: &mut Records,
    ) {
        match packet {
            NetflowPacket::V5(v5) => {
                let h = &v5.header;
                let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
                let key = ExporterKey {
                    address: key.address,
                    source_id: u32::from(h.engine_type) << 8 | u32::from(h.engine_id),
                };
                for r in &v5.flowsets {
                    out.push(Flow {
                        source_id: key.source_id,
                        sampling_interval: u32::from(h.sampling_interval & 0x3fff),
                        engine_type: h.engine_type,
                        engine_id: h.engine_id,
                        ..fixed_record!(r, key.address, export_ms, h.sys_up_time)
                    });
                }
                self.sequence(key, h.flow_sequence, Some(u32::from(h.count)), c, None);
            }
            NetflowPacket::V7(v7) => {
                let h = &v7.header;
                let export_ms = i64::from(h.unix_secs) * 1000 + i64::from(h.unix_nsecs / 1_000_000);
                for r in &v7.flowsets {
                    out.push(fixed_record!(r, key.address, export_ms, h.sys_up_time));
                }
                self.sequence(key, h.flow_sequence, Some(u32::from(h.count)), c, None);
            }
            NetflowPacket::V9(v9) => {
                let h = &v9.header;
                let ctx = |s: &ExporterState| Context {
                    exporter: key.address,
                    source_id: key.source_id,
                    export_ms: i64::from(h.unix_secs) * 1000,
                    sys_uptime_ms: Some(h.sys_up_time),
                    sys_init_ms: None,
                    sampling: s.sampling,
                };
                for fs in &v9.flowsets {
                    match &fs.body {
                        V9Body::Template(t) => {
                            for t in &t.templates {
                                let fields = template_fields(&t.fields);
                                self.template(key, 9, t.template_id, &fields, false);
                            }
                        }
                        V9Body::OptionsTemplate(t) => {
                            for t in &t.templates {
                                let fields: Vec<(u16, u16, bool)> = t
                                    .scope_fields
                                    .iter()
                                    .map(|f| (f.field_type_number, f.field_length, false))
                                    .chain(
                                        t.option_fields
                                            .iter()
                                            .map(|f| (f.field_type_number, f.field_length, false)),
                                    )
                                    .collect();
                                self.template(key, 9, t.template_id, &fields, true);
                            }
                        }
                        V9Body::Data(d) => {
                            if d.fields.is_empty() && fs.header.length > 8 {
                                self.undecoded(key, fs.header.flowset_id, fs.header.length, c);
                            }
                            for rec in &d.fields {
                                let r = v9_record(rec);
                                self.flow_record(key, r, &ctx, out, c);
                            }
                        }
                        V9Body::OptionsData(d) => {
                            *options += d.fields.len() as u64;
                            for rec in &d.fields {
                                let r = v9_record(&rec.options_fields);
                                self.options_record(key, r);
                            }
                        }
                        V9Body::NoTemplate(_) | V9Body::Empty => {}
                    }
                }
            }
            NetflowPacket::IPFix(ipfix) => {
                let h = &ipfix.header;
                let ctx = |s: &ExporterState| Context {
                    exporter: key.address,
                    source_id: key.source_id,
                    export_ms: i64::from(h.export_time) * 1000,
                    sys_uptime_ms: None,
                    sys_init_ms: s.sys_init_ms,
                    sampling: s.sampling,
                };
                let mut slow_records = 0u32;
                let mut undecoded = false;
                for fs in &ipfix.flowsets {
                    match &fs.body {
                        IpfixBody::Template(t) => self.ipfix_template(key, t, false),
                        IpfixBody::Templates(ts) => {
                            ts.iter().for_each(|t| self.ipfix_template(key, t, false))
                        }
                        IpfixBody::OptionsTemplate(t) => {
                            let fields = template_fields(&t.fields);
                            self.template(key, 10, t.template_id, &fields, true);
                        }
                        IpfixBody::OptionsTemplates(ts) => {
                            for t in ts {
                                let fields = template_fields(&t.fields);
                                self.template(key, 10, t.template_id, &fields, true);
                            }
                        }
                        IpfixBody::V9Template(t) => {
                            let fields = template_fields(&t.fields);
                            self.template(key, 10, t.template_id, &fields, false);
                        }
                        IpfixBody::V9Templates(ts) => {
                            for t in ts {
                                let fields = template_fields(&t.fields);
                                self.template(key, 10, t.template_id, &fields, false);
                            }
                        }
                        IpfixBody::V9OptionsTemplate(_) | IpfixBody::V9OptionsTemplates(_) => {}
                        IpfixBody::Data(d) => {
                            if d.fields.is_empty() && fs.header.length > 8 {
                                self.undecoded(key, fs.header.header_id, fs.header.length, c);
                                undecoded = true;
                            }
                            slow_records += d.fields.len() as u32;
                            for rec in &d.fields {
                                let r = ipfix_record(rec, i64::from(h.export_time) * 1000);
                                self.flow_record(key, r, &ctx, out, c);
                            }
                        }
                        IpfixBody::OptionsData(d) => {
                            slow_records += d.fields.len() as u32;
                            *options += d.fields.len() as u64;
                            for rec in &d.fields {
                                let r = ipfix_record(rec, i64::from(h.export_time) * 1000);
                                self.options_record(key, r);
                            }
                        }
                        IpfixBody::V9Data(d) => {
                            slow_records += d.fields.len() as u32;
                            for rec in &d.fields {
                                let r = v9_record(rec);
                                self.flow_record(key, r, &ctx, out, c);
                            }
                        }
                        IpfixBody::V9OptionsData(d) => {
                            slow_records += d.fields.len() as u32;
                            *options += d.fields.len() as u64;
                            for rec in &d.fields {
                                self.options_record(key, v9_record(&rec.options_fields));
                            }
                        }
                        IpfixBody::NoTemplate(_) => undecoded = true,
                        IpfixBody::Empty => {}
                    }
                }
                // Sets the parser passed over without a word: the message is
                // longer than the sets it returned.
                let sets: usize = ipfix
                    .flowsets
                    .iter()
                    .map(|f| usize::from(f.header.length))
                    .sum();
                if 16 + sets + 4 <= usize::from(h.length) {
                    self.undecoded(key, 0, h.length - 16 - sets as u16, c);
                    undecoded = true;
                }
                records.slow += slow_records;
                records.undecoded |= undecoded;
            }
            // A version a later netflow_parser adds: nothing to map yet.
            _ => {}
        }
    }

    /// Counts (and reports) a set the parser could not turn into records:
    /// netflow_parser 1.0.6 returns no records for some templates with
    /// variable-length fields, and drops sets it cannot parse.
    fn undecoded(&mut self, key: ExporterKey, set_id: u16, bytes: u16, c: &mut ExporterCounters) {
        c.extra[Counter::UndecodedSets] += 1;
        self.events
            .push(DecodeEvent::UndecodedSet { key, set_id, bytes });
    }

    /// Applies the template withdrawals of an IPFIX message (template
    /// records with no fields, RFC 7011 8.1) to floe's own state: compiled
    /// plans and known templates. netflow_parser applies them to its cache
    /// but does not report them, so without this the fast path went on
    /// decoding data under a withdrawn template with its old layout (found
    /// by the ipfix_templates test).
    fn ipfix_withdrawals(&mut self, scope: Scope, key: ExporterKey, data: &[u8]) {
        let Some(sets) = fast::sets(data, 10) else {
            return;
        };
        for (set_id, body) in sets {
            if set_id != 2 && set_id != 3 {
                continue;
            }
            let b = &data[body];
            let mut at = 0;
            while at + 4 <= b.len() {
                let id = u16::from_be_bytes([b[at], b[at + 1]]);
                let count = u16::from_be_bytes([b[at + 2], b[at + 3]]);
                at += 4;
                if count == 0 {
                    // Ids 2 and 3 withdraw every data / options template;
                    // other ids below 256 are padding or invalid.
                    if id >= 256 || id == set_id {
                        self.withdraw(scope, key, id, set_id == 3);
                    }
                    continue;
                }
                for _ in 0..count {
                    let Some(ie) = b.get(at..at + 2) else {
                        return;
                    };
                    let enterprise = ie[0] & 0x80 != 0;
                    at += if enterprise { 8 } else { 4 };
                }
            }
        }
    }

    fn withdraw(&mut self, scope: Scope, key: ExporterKey, id: u16, options: bool) {
        let all = id == 2 || id == 3;
        if let Some(m) = self.plans.get_mut(&scope) {
            if all {
                if !options {
                    m.clear();
                }
            } else {
                m.remove(&id);
            }
        }
        let mut gone = Vec::new();
        if let Some(s) = self.states.get_mut(&key) {
            if all {
                // Known templates do not record whether they were options
                // templates; withdrawing all of one kind forgets all.
                gone.extend(s.templates.keys().copied());
                s.templates.clear();
            } else if s.templates.remove(&id).is_some() {
                gone.push(id);
            }
        }
        self.templates_total = self.templates_total.saturating_sub(gone.len());
        for template_id in gone {
            self.events
                .push(DecodeEvent::TemplateWithdrawn { key, template_id });
        }
    }

    fn ipfix_template(
        &mut self,
        key: ExporterKey,
        t: &netflow_parser::variable_versions::ipfix::Template,
        options: bool,
    ) {
        let fields = template_fields(&t.fields);
        if fields.is_empty() {
            // Withdrawals are applied by ipfix_withdrawals.
            return;
        }
        self.template(key, 10, t.template_id, &fields, options);
    }

    fn template(
        &mut self,
        key: ExporterKey,
        version: u16,
        id: u16,
        fields: &[(u16, u16, bool)],
        options: bool,
    ) {
        let scope = scope_of(key, version);
        let mut h = DefaultHasher::new();
        fields.hash(&mut h);
        let hash = h.finish();
        if !options
            && self.plans.get(&scope).is_some_and(|m| m.contains_key(&id))
            && self
                .states
                .get(&key)
                .is_some_and(|s| s.templates.get(&id) == Some(&hash))
        {
            // A refresh of a data template compiled as it is (every few
            // datagrams from most exporters): nothing to do.
            return;
        }
        // The fast path reads data records of data templates; options
        // records stay with netflow_parser.
        match (options, if options { None } else { Plan::compile(fields) }) {
            (false, Some(plan)) => {
                // Bounded like netflow_parser's own cache: a flood of new
                // template ids compiles no more than the limit.
                let m = self.plans.entry(scope).or_default();
                if m.contains_key(&id) || m.len() < self.cfg.max_templates_per_exporter {
                    m.insert(id, plan);
                }
            }
            _ => {
                if let Some(m) = self.plans.get_mut(&scope) {
                    m.remove(&id);
                }
            }
        }
        let Some(known) = self.states.get(&key).map(|s| s.templates.contains_key(&id)) else {
            return;
        };
        if !known {
            // Per stream: no more tracked than netflow_parser caches.
            if self.states.get(&key).map_or(0, |s| s.templates.len())
                >= self.cfg.max_templates_per_exporter
            {
                return;
            }
            // Over all streams: forget the least recently heard ones.
            while self.templates_total >= self.cfg.max_templates_total {
                if !self.forget_oldest(scope) {
                    break;
                }
            }
            self.templates_total += 1;
        }
        let Some(s) = self.states.get_mut(&key) else {
            return;
        };
        match s.templates.insert(id, hash) {
            None => self.events.push(DecodeEvent::TemplateLearned {
                key,
                template_id: id,
                fields: fields.len(),
                options,
            }),
            Some(old) if old != hash => self.events.push(DecodeEvent::TemplateRedefined {
                key,
                template_id: id,
                fields: fields.len(),
            }),
            Some(_) => {}
        }
    }

    fn flow_record(
        &mut self,
        key: ExporterKey,
        r: Record,
        ctx: &dyn Fn(&ExporterState) -> Context,
        out: &mut Vec<Flow>,
        c: &mut ExporterCounters,
    ) {
        let Some(s) = self.states.get(&key) else {
            return;
        };
        if !r.is_flow() {
            return;
        }
        let mut cx = ctx(s);
        if let Some(id) = r.sampler_id {
            if let Some(v) = s.samplers.get(&id) {
                cx.sampling = Some(*v);
            }
        }
        let (flow, unanchored) = r.finish(&cx);
        if unanchored {
            c.extra[Counter::UptimeUnanchored] += 1;
        }
        out.push(flow);
    }

    fn options_record(&mut self, key: ExporterKey, r: Record) {
        let Some(s) = self.states.get_mut(&key) else {
            return;
        };
        if let Some(v) = r.sampling {
            match r.sampler_id {
                Some(id) => {
                    s.samplers.insert(id, v);
                }
                None => s.sampling = Some(v),
            }
            self.events.push(DecodeEvent::Sampling {
                key,
                sampler_id: r.sampler_id,
                interval: v,
            });
        }
        if let Some(t) = r.sys_init_ms {
            s.sys_init_ms = Some(t);
        }
    }

    /// `flows_in_datagram` is `Some(n)` for v9, whose sequence counts
    /// datagrams (n flows in this one), `None` where it counts records.
    fn sequence(
        &mut self,
        key: ExporterKey,
        seq: u32,
        units: Option<u32>,
        c: &mut ExporterCounters,
        flows_in_datagram: Option<f64>,
    ) {
        let Some(s) = self.states.get_mut(&key) else {
            return;
        };
        let is_v9 = flows_in_datagram.is_some();
        let flows_in_msg = flows_in_datagram.unwrap_or(0.0);
        match s.sequence.observe(seq, units) {
            SequenceEvent::First | SequenceEvent::InOrder => {}
            SequenceEvent::Gap { units: lost } => {
                if is_v9 {
                    // v9 counts datagrams: estimate flows from this stream's
                    // average flows per datagram.
                    let avg = if s.datagrams > 0 {
                        s.flows as f64 / s.datagrams as f64
                    } else {
                        flows_in_msg
                    };
                    c.extra[Counter::LostDatagrams] += lost;
                    c.lost_flows += (lost as f64 * avg).round() as u64;
                } else {
                    c.lost_flows += lost;
                }
                self.events.push(DecodeEvent::SequenceGap {
                    key,
                    lost,
                    unit_is_datagram: is_v9,
                });
            }
            SequenceEvent::Late { recovered } => {
                c.reordered_datagrams += 1;
                if !is_v9 {
                    // A late message gives back what was counted lost; the
                    // file that counted it may be closed, so it shows as a
                    // negative correction here.
                    c.extra[Counter::LateRecoveredFlows] += recovered;
                }
            }
            SequenceEvent::Reset { expected, got } => {
                c.sequence_resets += 1;
                self.events
                    .push(DecodeEvent::SequenceReset { key, expected, got });
            }
        }
    }

    /// Reads how much early data (sent before its template) each exporter
    /// stream's parser has dropped since the last call, and returns the
    /// counters to add. Call about once a second.
    pub fn poll_pending(&mut self) -> Vec<(ExporterKey, ExporterCounters)> {
        let mut out = Vec::new();
        for (scope, p) in &self.parsers {
            let dropped = p.v9_cache_info().metrics.pending_dropped
                + p.ipfix_cache_info().metrics.pending_dropped;
            let key = ExporterKey {
                address: scope.address,
                source_id: scope.domain,
            };
            if let Some(s) = self.states.get_mut(&key) {
                if dropped > s.pending_dropped_seen {
                    let mut c = ExporterCounters::default();
                    c.extra[Counter::EarlyDataExpired] = dropped - s.pending_dropped_seen;
                    self.events.push(DecodeEvent::EarlyDataDropped {
                        key,
                        sets: dropped - s.pending_dropped_seen,
                    });
                    s.pending_dropped_seen = dropped;
                    out.push((key, c));
                }
            }
        }
        out
    }
}

/// netflow_parser's messages can embed the whole input as a byte list
/// (nom's `Error { input: [...], code }`): keep the words and the code, so
/// that a log line stays a line.
fn short_reason(s: &str) -> String {
    let mut out = match s.find("Error { input:") {
        Some(i) => {
            let code = s
                .rfind("code: ")
                .map(|j| s[j + 6..].trim_end_matches(['}', ' ']).to_string());
            format!(
                "{}{}",
                s[..i].trim_end(),
                code.map(|c| format!(" ({c})")).unwrap_or_default()
            )
        }
        None => s.to_string(),
    };
    if out.len() > 200 {
        let mut cut = 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// IANA element numbers of the parser's named IPFIX elements.
static IANA_NUMBERS: LazyLock<HashMap<IANAIPFixField, u16>> = LazyLock::new(|| {
    (0..=u16::MAX)
        .filter_map(|n| match IANAIPFixField::from(n) {
            IANAIPFixField::Unknown(_) => None,
            f => Some((f, n)),
        })
        .collect()
});

fn ipfix_ie(f: &IPFixField) -> Option<u16> {
    match f {
        IPFixField::IANA(IANAIPFixField::Unknown(n)) => Some(*n),
        IPFixField::IANA(x) => IANA_NUMBERS.get(x).copied(),
        _ => None,
    }
}

fn ipfix_record(rec: &[(IPFixField, FieldValue)], export_ms: i64) -> Record {
    let mut r = Record::default();
    for (f, v) in rec {
        if let Some(ie) = ipfix_ie(f) {
            if ie == 158 || ie == 159 {
                r.set_delta_micros(ie, v, export_ms);
            } else {
                r.set(ie, v);
            }
        }
    }
    r
}

fn v9_record(rec: &[(V9Field, FieldValue)]) -> Record {
    let mut r = Record::default();
    for (f, v) in rec {
        r.set(u16::from(*f), v);
    }
    r
}
