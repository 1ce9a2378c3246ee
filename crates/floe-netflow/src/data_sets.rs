//! One data set read under its stream's template: flows (by the template's
//! plan, [`crate::walker`] or [`crate::direct`]), or options records,
//! which set the stream's sampling intervals and boot time; or the reason
//! it cannot be read.

use crate::out::FlowOut;
use floe_flow::{Counter, ExporterCounters, ExporterKey};

use crate::events::{DecodeEvent, Problem, Sink, TemplateFault};
use crate::pending::MessageTimes;
use crate::record::{Context, Record};
use crate::streams::{Slot, Stream};

/// What a data set gave.
pub(crate) enum DataResult {
    Flows(SetFlows),
    /// Options records read (and a record cut short, if one was).
    Options(u32, Option<Problem>),
    /// Its template is not known (yet).
    Unknown,
    /// Its template was refused.
    Refused(Problem),
}

pub(crate) struct SetFlows {
    pub records: u32,
    pub flows: u64,
    pub compiled: bool,
    pub problem: Option<Problem>,
}

/// Reads one data set under template `id` of `stream`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn data_set<O: FlowOut>(
    stream: &mut Stream,
    sink: &mut Sink,
    counters: &mut ExporterCounters,
    id: u16,
    times: MessageTimes,
    offset: usize,
    body: &[u8],
    out: &mut O,
) -> DataResult {
    if stream.use_template(id).is_none() {
        return DataResult::Unknown;
    }
    let key = stream.key();
    let ctx = Context {
        exporter: key.address,
        source_id: key.source_id,
        export_ms: i64::from(times.export_secs) * 1000,
        sys_uptime_ms: times.sys_uptime_ms,
        sys_init_ms: stream.sys_init_ms,
        sampling: stream.sampling,
    };
    let cut = |kept: u32| Problem::RecordPastSet {
        offset,
        template_id: id,
        kept,
    };
    match stream.templates.get(&id) {
        Some(Slot::Refused { fault, .. }) => DataResult::Refused(Problem::RefusedTemplate {
            offset,
            template_id: id,
            fault: fault.clone(),
        }),
        Some(Slot::Usable {
            def,
            plan: Some(plan),
            ..
        }) => {
            if def.options {
                let mut found = Vec::new();
                let (n, cut_short) = plan.options(body, ctx.export_ms, |r| found.push(r));
                for r in found {
                    options_record(stream, sink, key, r);
                }
                DataResult::Options(n, cut_short.then(|| cut(n)))
            } else {
                let before = out.flows_len();
                let r = plan.flows(body, &ctx, &stream.samplers, out);
                counters.extra[Counter::UptimeUnanchored] += r.unanchored;
                DataResult::Flows(SetFlows {
                    records: r.records,
                    flows: (out.flows_len() - before) as u64,
                    compiled: r.compiled,
                    problem: r.cut_short.then(|| cut(r.records)),
                })
            }
        }
        _ => DataResult::Refused(Problem::RefusedTemplate {
            offset,
            template_id: id,
            fault: TemplateFault::NoFields,
        }),
    }
}

/// Applies an options record (sampling, boot time) to the stream.
fn options_record(stream: &mut Stream, sink: &mut Sink, key: ExporterKey, r: Record) {
    if let Some(v) = r.sampling() {
        match r.sampler_id {
            Some(id) => stream.set_sampler(id, v),
            None => stream.sampling = Some(v),
        }
        sink.events.push(DecodeEvent::Sampling {
            key,
            sampler_id: r.sampler_id,
            interval: v,
        });
    }
    if let Some(t) = r.sys_init_ms {
        stream.sys_init_ms = Some(t);
    }
}
