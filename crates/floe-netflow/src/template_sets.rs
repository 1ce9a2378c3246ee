//! Template sets applied to an exporter stream: what each template record
//! of a set does to the stream's templates (learned, refreshed, redefined,
//! refused, withdrawn, or forgotten to make room), to the template file,
//! and to the data held for a template until it came.
//!
//! The records themselves are read and checked by [`crate::templates`].

use crate::out::FlowOut;
use floe_flow::ExporterCounters;

use crate::data_sets::{data_set, DataResult};
use crate::events::{DecodeEvent, Sink};
use crate::explain::{DatagramReport, ReportItem, TemplateSummary};
use crate::streams::{Slot, Stream};
use crate::template_store::FileTemplateStore;
use crate::templates::{self, Layout, TemplateRecord};
use crate::walker::Plan;

/// How many templates a stream keeps, and how many fields a template may
/// have.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TemplateLimits {
    pub per_stream: usize,
    pub fields: usize,
}

/// A template set to apply.
pub(crate) struct TemplateSet<'a> {
    pub set_id: u16,
    pub layout: Layout,
    pub options: bool,
    /// Offset of the set's header in the datagram.
    pub offset: usize,
    pub body: &'a [u8],
}

/// Applies a template or options template set to `stream`: templates
/// learned, refreshed, redefined, refused or withdrawn, each counted and
/// written through to the template file, and the data held for a template
/// decoded when it comes (into `out`). Returns by how much the stream's
/// template count changed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply<O: FlowOut>(
    stream: &mut Stream,
    sink: &mut Sink,
    counters: &mut ExporterCounters,
    store: Option<&FileTemplateStore>,
    limits: TemplateLimits,
    set: TemplateSet,
    out: &mut O,
    report: Option<&mut DatagramReport>,
) -> isize {
    let TemplateSet {
        set_id,
        layout,
        options,
        offset,
        body,
    } = set;
    let mut records = Vec::new();
    templates::read_set(layout, options, body, offset + 4, limits.fields, |r| {
        records.push(r)
    });
    let max = limits.per_stream;
    let key = stream.key();
    let mut learned = Vec::new();
    let mut refreshed = Vec::new();
    let mut refused = Vec::new();
    let mut withdrawn = Vec::new();
    let mut released = Vec::new();
    let mut delta: isize = 0;
    for rec in records {
        match rec {
            TemplateRecord::Define(def) => {
                let id = def.id;
                let same = matches!(
                    stream.templates.get(&id),
                    Some(Slot::Usable { def: old, .. }) if *old == def
                );
                if let Some(s) = store {
                    // Every put renews the stream in the file, changed
                    // or not.
                    s.put(&stream.store_name, &def);
                }
                if same {
                    stream.use_template(id);
                    refreshed.push(id);
                    continue;
                }
                let fields = def.fields.len();
                let was_usable = matches!(stream.templates.get(&id), Some(Slot::Usable { .. }));
                if report.is_some() {
                    learned.push(TemplateSummary {
                        id,
                        fields,
                        options: def.options,
                        layout: def
                            .fields
                            .iter()
                            .map(|f| (f.ie, f.len, f.enterprise))
                            .collect(),
                    });
                }
                let plan = Plan::compile(&def.specs(), def.options);
                let is_options = def.options;
                let (new, evicted) = stream.put_template(
                    id,
                    Slot::Usable {
                        def,
                        plan,
                        last_used: 0,
                    },
                    max,
                );
                delta += isize::from(new) - evicted.len() as isize;
                forgotten(sink, counters, store, stream, &evicted);
                if was_usable {
                    sink.emit(
                        counters,
                        DecodeEvent::TemplateRedefined {
                            key,
                            template_id: id,
                            fields,
                        },
                    );
                } else {
                    sink.emit(
                        counters,
                        DecodeEvent::TemplateLearned {
                            key,
                            template_id: id,
                            fields,
                            options: is_options,
                        },
                    );
                }
                // Data that came before it.
                let held = stream.held.take(id);
                if !held.is_empty() {
                    let sets = held.len() as u32;
                    let before = out.flows_len();
                    for h in held {
                        let r = data_set(stream, sink, counters, id, h.times, offset, &h.body, out);
                        let problem = match r {
                            DataResult::Flows(r) => r.problem,
                            DataResult::Options(_, p) => p,
                            DataResult::Unknown | DataResult::Refused(_) => None,
                        };
                        if let Some(problem) = problem {
                            sink.emit(counters, DecodeEvent::Undecoded { key, problem });
                        }
                    }
                    released.push((id, sets, (out.flows_len() - before) as u64));
                }
            }
            TemplateRecord::Refused { id, offset, fault } => {
                if let Some(s) = store {
                    s.remove(&stream.store_name, id);
                }
                if id >= 256 {
                    let (new, evicted) = stream.put_template(
                        id,
                        Slot::Refused {
                            fault: fault.clone(),
                            last_used: 0,
                        },
                        max,
                    );
                    delta += isize::from(new) - evicted.len() as isize;
                    forgotten(sink, counters, store, stream, &evicted);
                }
                if report.is_some() {
                    refused.push((id, fault.to_string()));
                }
                sink.emit(
                    counters,
                    DecodeEvent::TemplateRefused {
                        key,
                        offset,
                        template_id: id,
                        fault,
                    },
                );
            }
            TemplateRecord::Withdraw { id, options } => {
                let all = id == 2 || id == 3;
                let gone: Vec<u16> = if all {
                    stream
                        .templates
                        .iter()
                        .filter(|(_, s)| match s {
                            Slot::Usable { def, .. } => def.options == options,
                            Slot::Refused { .. } => false,
                        })
                        .map(|(k, _)| *k)
                        .collect()
                } else if id >= 256 && stream.templates.contains_key(&id) {
                    vec![id]
                } else {
                    Vec::new()
                };
                for template_id in gone {
                    stream.templates.remove(&template_id);
                    delta -= 1;
                    if let Some(s) = store {
                        s.remove(&stream.store_name, template_id);
                    }
                    withdrawn.push(template_id);
                    sink.emit(
                        counters,
                        DecodeEvent::TemplateWithdrawn { key, template_id },
                    );
                }
            }
        }
    }
    if let Some(r) = report {
        r.items.push(ReportItem::Templates {
            offset,
            set_id,
            length: body.len() + 4,
            learned,
            refreshed,
            refused,
            withdrawn,
        });
        for (template_id, sets, flows) in released {
            r.items.push(ReportItem::Released {
                template_id,
                sets,
                flows,
            });
        }
    }
    delta
}

/// Counts the templates a stream forgot to stay within its limit, which
/// the template file forgets too (else a stream churning through template
/// ids would grow the file past what the decoder keeps).
fn forgotten(
    sink: &mut Sink,
    counters: &mut ExporterCounters,
    store: Option<&FileTemplateStore>,
    stream: &Stream,
    evicted: &[u16],
) {
    if evicted.is_empty() {
        return;
    }
    if let Some(s) = store {
        for id in evicted {
            s.remove(&stream.store_name, *id);
        }
    }
    sink.emit(
        counters,
        DecodeEvent::TemplatesForgotten {
            key: stream.key(),
            templates: evicted.len() as u64,
        },
    );
}
