//! `floe decode`: what floed makes of captured datagrams, set by set.
//!
//! The question users of every collector ask most after "is it running"
//! is "why are my flows missing?". This runs a capture of a router's
//! exports (a pcap from tcpdump, or datagrams stored back to back) through
//! the decoder floed uses, templates carried from file to file in the
//! order given, and says per datagram: the exporter, the version, each
//! message and set with its id, offset and length, the templates learned,
//! the records each data set gave, and for every part not decoded, why.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use floe_netflow::{DatagramReport, Decoder, DecoderConfig, ReportItem};
use floe_store::Zone;

use crate::args::{FieldsArg, FormatArg, OutputFileArg, RecordsArg};
use crate::error::{CliError, Result};
use crate::out::Out;
use crate::print::{Format as PrintFormat, Printer};
use crate::read::Next;
use crate::time::now_ms;

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Datagram by datagram, in words (the default); with --flows, a table.
    #[default]
    Text,
    /// One JSON object per datagram (NDJSON); with --flows, one per flow.
    Json,
    /// With --flows: aligned columns.
    Table,
    /// With --flows: CSV with a header of catalog names.
    Csv,
    /// With --flows: flow-print -f 3 lines.
    #[value(name = "flow-tools-3", alias = "3", alias = "ft3")]
    FlowTools3,
    /// With --flows: flow-print -f 5 lines.
    #[value(name = "flow-tools-5", alias = "5", alias = "ft5")]
    FlowTools5,
}

/// Decode captured NetFlow/IPFIX datagrams as floed would, and say why
/// any part was not decoded.
///
/// Example: tcpdump -i eth0 -w exports.pcap udp port 2055; floe decode exports.pcap
///
/// FILE: a pcap or pcapng capture (UDP datagrams to any port, or --port;
/// IP fragments put back together), or a raw file of datagrams stored back
/// to back (as `nc -u -l` keeps them).
/// Templates carry over from one file to the next, in the order given, so
/// a capture of templates can come before a capture of data.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Captures or raw datagram files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Only datagrams to this UDP port (pcap).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// The exporter raw datagram files come from (they do not say):
    /// default the sender of the capture given before them, else 127.0.0.1.
    /// Templates are kept per exporter.
    #[arg(long, value_name = "ADDRESS")]
    exporter: Option<IpAddr>,
    /// Print the decoded flows (as floe print does) instead of the sets.
    #[arg(long)]
    flows: bool,
    #[command(flatten)]
    format: FormatArg<Format>,
    /// The same as --format json (kept for scripts).
    #[arg(long, conflicts_with = "format")]
    json: bool,
    #[command(flatten)]
    fields: FieldsArg,
    #[command(flatten)]
    records: RecordsArg,
    #[command(flatten)]
    output: OutputFileArg,
}

/// A datagram to decode, with where it came from.
struct Input {
    file: usize,
    /// Packet number in a capture, or byte offset in a raw file.
    at: String,
    from: IpAddr,
    time_ms: i64,
    bytes: Vec<u8>,
}

fn inputs(files: &[PathBuf], port: Option<u16>, exporter: Option<IpAddr>) -> Result<Vec<Input>> {
    let mut out: Vec<Input> = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| CliError::Read {
            path: path.clone(),
            source: e,
        })?;
        if floe_netflow::pcap::is_capture(&bytes) {
            let datagrams =
                floe_netflow::pcap::udp_datagrams(&bytes).map_err(|e| CliError::Pcap {
                    path: path.clone(),
                    source: e,
                })?;
            for (n, d) in datagrams.into_iter().enumerate() {
                if port.is_some_and(|p| p != d.dst_port) {
                    continue;
                }
                out.push(Input {
                    file: i,
                    at: format!(
                        "packet {}, {}:{} -> port {}",
                        n + 1,
                        d.src,
                        d.src_port,
                        d.dst_port
                    ),
                    from: d.src,
                    time_ms: d.time_ms,
                    bytes: d.payload,
                });
            }
        } else {
            let now = now_ms();
            // A raw file does not say who sent it.
            let from = exporter
                .or(out.last().map(|d| d.from))
                .unwrap_or(IpAddr::from([127, 0, 0, 1]));
            for d in floe_netflow::raw::split(&bytes) {
                out.push(Input {
                    file: i,
                    at: format!("byte {}", d.offset),
                    from,
                    time_ms: now,
                    bytes: d.bytes.to_vec(),
                });
            }
        }
    }
    Ok(out)
}

fn version_name(v: u16) -> String {
    match v {
        10 => "IPFIX".into(),
        0 => "unknown version".into(),
        v => format!("NetFlow v{v}"),
    }
}

/// The datagram's report in words.
fn text(
    out: &mut Out,
    n: usize,
    input: &Input,
    file: &str,
    r: &DatagramReport,
    notes: &[String],
) -> std::io::Result<()> {
    writeln!(
        out,
        "datagram {n}: {file}, {}, from {}, {} bytes, {}",
        input.at,
        input.from,
        r.bytes,
        version_name(r.version)
    )?;
    for item in &r.items {
        match item {
            ReportItem::Message {
                offset,
                export_secs,
                sequence,
                domain,
                sys_uptime_ms,
                ..
            } => {
                let when = floe_flow::time::format_utc_ms(i64::from(*export_secs) * 1000);
                let up = sys_uptime_ms
                    .map(|u| format!(", uptime {:.3} s", f64::from(u) / 1000.0))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  message at byte {offset}: exported {when}, sequence {sequence}, source id / domain {domain}{up}"
                )?;
            }
            ReportItem::Records {
                version,
                records,
                sequence,
            } => {
                let seq = sequence.map(|s| format!(", sequence {s}")).unwrap_or_default();
                writeln!(out, "  {} records: {records}{seq}", version_name(*version))?;
            }
            ReportItem::Templates {
                offset,
                set_id,
                length,
                learned,
                refreshed,
                refused,
                withdrawn,
            } => {
                let mut parts = Vec::new();
                for t in learned {
                    let layout: Vec<String> = t
                        .layout
                        .iter()
                        .map(|(ie, len, pen)| match pen {
                            Some(p) => format!("{p}.{ie}/{len}"),
                            None => format!("{ie}/{len}"),
                        })
                        .collect();
                    parts.push(format!(
                        "{} {} ({} fields: {})",
                        if t.options { "options template" } else { "template" },
                        t.id,
                        t.fields,
                        layout.join(" ")
                    ));
                }
                if !refreshed.is_empty() {
                    let ids: Vec<String> = refreshed.iter().map(u16::to_string).collect();
                    parts.push(format!("refreshed {}", ids.join(", ")));
                }
                for (id, why) in refused {
                    parts.push(format!("REFUSED template {id}: {why}"));
                }
                if !withdrawn.is_empty() {
                    let ids: Vec<String> = withdrawn.iter().map(u16::to_string).collect();
                    parts.push(format!("withdrawn {}", ids.join(", ")));
                }
                writeln!(
                    out,
                    "  set {set_id} at byte {offset}, {length} bytes: {}",
                    if parts.is_empty() {
                        "no template records".to_string()
                    } else {
                        parts.join("; ")
                    }
                )?;
            }
            ReportItem::Data {
                offset,
                set_id,
                length,
                records,
                flows,
            } => writeln!(
                out,
                "  set {set_id} at byte {offset}, {length} bytes: data, {records} records, {flows} flows"
            )?,
            ReportItem::OptionsData {
                offset,
                set_id,
                length,
                records,
            } => writeln!(
                out,
                "  set {set_id} at byte {offset}, {length} bytes: options data, {records} records"
            )?,
            ReportItem::Held {
                offset,
                set_id,
                length,
            } => writeln!(
                out,
                "  set {set_id} at byte {offset}, {length} bytes: data under template {set_id}, not known yet: held until it comes"
            )?,
            ReportItem::Released {
                template_id,
                sets,
                flows,
            } => writeln!(
                out,
                "  {sets} data sets held for template {template_id} decoded now: {flows} flows"
            )?,
            ReportItem::Padding { offset, length } => {
                writeln!(out, "  padding at byte {offset}: {length} zero bytes")?
            }
            ReportItem::Undecoded { reason, .. } => writeln!(out, "  NOT DECODED: {reason}")?,
            ReportItem::Note { reason, .. } => writeln!(out, "  note: {reason}")?,
        }
    }
    for n in notes {
        writeln!(out, "  note: {n}")?;
    }
    match &r.bad {
        Some(why) => writeln!(out, "  => nothing decoded: {why}"),
        None => writeln!(out, "  => {} flows", r.flows),
    }
}

pub fn run(a: DecodeArgs) -> Result<()> {
    let format = if a.json { Format::Json } else { a.format.get() };
    let print_format = match (a.flows, format) {
        (true, Format::Text | Format::Table) => Some(PrintFormat::Table),
        (true, Format::Json) => Some(PrintFormat::Json),
        (true, Format::Csv) => Some(PrintFormat::Csv),
        (true, Format::FlowTools3) => Some(PrintFormat::FlowTools3),
        (true, Format::FlowTools5) => Some(PrintFormat::FlowTools5),
        (false, Format::Text | Format::Json) => None,
        (false, f) => {
            return Err(CliError::Usage(format!(
                "--format {} prints flows: add --flows",
                f.to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            )))
        }
    };
    if !a.flows && (a.fields.fields.is_some() || a.records.records.is_some()) {
        return Err(CliError::Usage(
            "--fields and --records apply to the flows: add --flows".into(),
        ));
    }
    let inputs = inputs(&a.files, a.port, a.exporter)?;
    let mut printer = match print_format {
        Some(f) => Some(Printer::new(
            f,
            a.fields.fields.as_ref(),
            Zone::Utc,
            false,
            a.records.records,
        )?),
        None => None,
    };
    let mut out = Out::open(a.output.output.as_deref())?;
    let mut decoder = Decoder::new(DecoderConfig::default());
    let (mut flows_total, mut bad, mut undecoded) = (0u64, 0u64, 0u64);
    let mut flows = Vec::new();
    for (n, input) in inputs.iter().enumerate() {
        flows.clear();
        let (o, report) =
            decoder.decode_explained(input.from, &input.bytes, input.time_ms, &mut flows);
        let notes: Vec<String> = decoder
            .drain_events()
            .filter(|e| {
                // What the report already says (templates, sets) is not
                // repeated; sequence gaps and the like are worth a line.
                matches!(
                    e,
                    floe_netflow::DecodeEvent::SequenceGap { .. }
                        | floe_netflow::DecodeEvent::SequenceReset { .. }
                        | floe_netflow::DecodeEvent::Sampling { .. }
                        | floe_netflow::DecodeEvent::EarlyDataExpired { .. }
                        | floe_netflow::DecodeEvent::TemplatesForgotten { .. }
                )
            })
            .map(|e| e.to_string())
            .collect();
        // The other messages of the datagram (other observation domains)
        // are counted apart from the outcome's.
        let mut counters = o.counters;
        for (_, c) in decoder.drain_counters() {
            counters.add(&c);
        }
        flows_total += flows.len() as u64;
        bad += counters.bad_datagrams;
        undecoded += counters.extra[floe_flow::Counter::UndecodedSets]
            + counters.extra[floe_flow::Counter::MalformedTails];
        let file = a.files[input.file].display().to_string();
        match &mut printer {
            Some(p) => {
                if let Next::Stop = p.write(&mut out, &flows)? {
                    break;
                }
            }
            None if format == Format::Json => {
                let mut v = serde_json::to_value(&report)
                    .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("file".into(), file.into());
                    obj.insert("at".into(), input.at.clone().into());
                    obj.insert("from".into(), input.from.to_string().into());
                    obj.insert("notes".into(), notes.into());
                }
                writeln!(out, "{v}").map_err(CliError::Output)?;
            }
            None => {
                text(&mut out, n + 1, input, &file, &report, &notes).map_err(CliError::Output)?
            }
        }
    }
    match &mut printer {
        Some(p) => p.finish(&mut out)?,
        None if format == Format::Text => writeln!(
            out,
            "{} datagrams, {flows_total} flows; {bad} datagrams nothing could be decoded from, {undecoded} parts not decoded",
            inputs.len()
        )
        .map_err(CliError::Output)?,
        None => {}
    }
    out.finish()
}
