//! Every data file of the shared NetFlow corpus (real exporters: Cisco,
//! Juniper, Fortinet, Palo Alto, MikroTik, Huawei, nProbe, softflowd,
//! pflow...) decodes to the records tshark finds in it, field by field,
//! with template files decoded first; INVALID files are rejected with a
//! counted reason, never a panic.
//!
//! The corpus is read from `../shared/netflow-corpus` beside the checkout
//! (CI has it there); where it is absent this test says so and passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use floe_flow::time::format_utc_ms;
use floe_flow::FlowBatch;
use floe_netflow::oracle::Oracle;
use floe_netflow::{pcap, DecodeEvent, Decoder, DecoderConfig, Flow};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/netflow-corpus");
    p.join("MANIFEST.tsv").exists().then_some(p)
}

/// The pcap holding a corpus file's datagrams: itself for original
/// captures, its `_pcap/` copy for raw files.
fn pcap_for(root: &Path, rel: &str) -> PathBuf {
    if rel.ends_with(".pcap") {
        return root.join(rel);
    }
    let (folder, rest) = rel.split_once('/').unwrap_or(("", rel));
    root.join(folder).join("_pcap").join(format!("{rest}.pcap"))
}

struct Row {
    path: String,
    flows: usize,
    options: u64,
    decoded_after: Vec<String>,
    note: String,
}

fn summary(root: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(root.join("expected/SUMMARY.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let folder = c[0].rsplit_once('/').map(|x| x.0).unwrap_or("");
            Row {
                path: c[0].to_string(),
                flows: c[1].parse().unwrap(),
                options: c[2].parse().unwrap(),
                decoded_after: c
                    .get(5)
                    .unwrap_or(&"")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("{folder}/{s}"))
                    .collect(),
                note: c.get(6).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

fn invalid_files(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("MANIFEST.tsv"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("INVALID"))
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

struct Decoded {
    flows: Vec<Flow>,
    options: u64,
    bad: u64,
    undecoded_sets: u64,
}

/// Decodes a corpus file (after the files whose templates it needs) with
/// floe's decoder.
fn decode(root: &Path, row: &Row) -> Decoded {
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    let mut result = Decoded {
        flows: Vec::new(),
        options: 0,
        bad: 0,
        undecoded_sets: 0,
    };
    for (i, file) in row
        .decoded_after
        .iter()
        .chain(std::iter::once(&row.path))
        .enumerate()
    {
        let is_data = i == row.decoded_after.len();
        let bytes = std::fs::read(pcap_for(root, file)).unwrap();
        let datagrams = pcap::udp_datagrams(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        out.clear();
        for d in datagrams {
            let o = dec.decode(d.src, &d.payload, d.time_ms, &mut out);
            if is_data {
                result.options += o.options_records;
                result.bad += o.counters.bad_datagrams;
                result.undecoded_sets += ["undecoded_sets", "malformed_tails"]
                    .iter()
                    .map(|k| o.counters.extra.by_name(k))
                    .sum::<u64>();
            }
        }
        if is_data {
            result.flows = std::mem::take(&mut out);
        }
        // Events must always be drainable and printable.
        for e in dec.drain_events() {
            let _ = format!("{} {e}", e.name());
        }
    }
    result
}

/// The same with netflow_parser (the oracle).
fn decode_oracle(root: &Path, row: &Row) -> (Vec<Flow>, u64) {
    let mut oracle = Oracle::default();
    let mut out = Vec::new();
    let mut options = 0;
    for (i, file) in row
        .decoded_after
        .iter()
        .chain(std::iter::once(&row.path))
        .enumerate()
    {
        let is_data = i == row.decoded_after.len();
        let bytes = std::fs::read(pcap_for(root, file)).unwrap();
        out.clear();
        for d in pcap::udp_datagrams(&bytes).unwrap() {
            let o = oracle.decode(d.src, &d.payload, &mut out);
            if is_data {
                options += o.options_records;
            }
        }
    }
    (out, options)
}

/// tshark's form of a time ("Apr  1, 2020 09:59:25.729000000 UTC") as
/// Unix ms.
fn tshark_time_ms(t: &str) -> Option<i64> {
    let mut w = t.split_whitespace();
    let name = w.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == name)? as i64
        + 1;
    let day: i64 = w.next()?.trim_end_matches(',').parse().ok()?;
    let year: i64 = w.next()?.parse().ok()?;
    let mut hms = w.next()?.split([':', '.']);
    let mut next = || -> Option<i64> { hms.next()?.parse().ok() };
    let (h, m, sec) = (next()?, next()?, next()?);
    let ms = next().map_or(0, |ns| ns / 1_000_000);
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + m) * 60_000 + sec * 1000 + ms)
}

/// The boot times (systemInitTimeMilliseconds) tshark read in the options
/// records of a corpus file and the files decoded before it: by
/// observation domain, (file, frame, boot time) in decoding order.
type Boots = BTreeMap<u64, Vec<(usize, u64, i64)>>;

fn boot_times(root: &Path, row: &Row) -> Boots {
    let mut boot = Boots::new();
    for (i, file) in row
        .decoded_after
        .iter()
        .chain(std::iter::once(&row.path))
        .enumerate()
    {
        let json = root.join("expected").join(format!("{file}.options.json"));
        let Ok(text) = std::fs::read_to_string(&json) else {
            continue;
        };
        let records: Vec<Value> = serde_json::from_str(&text).unwrap();
        for r in records {
            let init = r["other"]["cflow.sys_init_time"]
                .as_str()
                .and_then(tshark_time_ms);
            if let (Some(init), Some(domain), Some(frame)) =
                (init, r["exporter_source_id"].as_u64(), r["frame"].as_u64())
            {
                boot.entry(domain).or_default().push((i, frame, init));
            }
        }
    }
    boot
}

/// Compares one decoded flow with tshark's record on the fields tshark
/// gives; returns the differences. `boot`: the exporters' announced boot
/// times, `file`: the index of the flow's file in decoding order.
fn differences(f: &Flow, e: &Value, boot: &Boots, file: usize) -> Vec<String> {
    let mut diffs = Vec::new();
    let o = e.as_object().unwrap();
    let mut check = |name: &str, ours: String| {
        if let Some(v) = o.get(name) {
            let theirs = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if theirs != ours {
                diffs.push(format!("{name}: ours {ours}, tshark {theirs}"));
            }
        }
    };
    check("src_addr", f.src_addr.to_string());
    check("dst_addr", f.dst_addr.to_string());
    check("next_hop", f.next_hop.to_string());
    check("src_port", f.src_port.to_string());
    check("protocol", f.protocol.to_string());
    check("tos", f.tos.to_string());
    check("packets", f.packets.to_string());
    check("octets", f.octets.to_string());
    check("input_if", f.input_if.to_string());
    check("output_if", f.output_if.to_string());
    check("src_as", f.src_as.to_string());
    check("dst_as", f.dst_as.to_string());
    check("src_mask", f.src_mask.to_string());
    check("dst_mask", f.dst_mask.to_string());
    check("tcp_flags", f.tcp_flags.to_string());
    // ICMP: tshark shows the port field as sent; we put type/code there
    // when the exporter sent them separately and the port was 0.
    if !(matches!(f.protocol, 1 | 58) && o.get("dst_port").and_then(Value::as_u64) == Some(0)) {
        check("dst_port", f.dst_port.to_string());
    }
    if let Some(s) = o.get("sampling_interval").and_then(Value::as_u64) {
        if u64::from(f.sampling_interval) != s {
            diffs.push(format!(
                "sampling: ours {}, tshark {s}",
                f.sampling_interval
            ));
        }
    }
    // Times.
    let version = o.get("version").and_then(Value::as_u64).unwrap_or(0);
    match o.get("time_base").and_then(Value::as_str) {
        Some("absolute") => {
            for (name, ours) in [("first", f.start_ms), ("last", f.end_ms)] {
                if let Some(t) = o.get(name).and_then(Value::as_str) {
                    // tshark gives ns; we keep ms.
                    let want = &t[..23];
                    let got = format_utc_ms(ours);
                    if &got[..23] != want {
                        diffs.push(format!("{name}: ours {got}, tshark {t}"));
                    }
                }
            }
        }
        Some("uptime") => {
            let (Some(up), Some(secs)) = (
                o.get("sys_uptime").and_then(Value::as_i64),
                o.get("unix_secs").and_then(Value::as_i64),
            ) else {
                // IPFIX: relative to the boot time an options record
                // announced in a datagram before this one; without one,
                // floe anchors the flow at the export time
                // (uptime_unanchored), which tshark does not. Exporters
                // whose clocks agree on their boot and export times are
                // checked so: see options_and_times.rs for the 32-bit
                // wrap, which tshark does not take into account.
                let frame = o.get("frame").and_then(Value::as_u64).unwrap_or(0);
                let init = o
                    .get("exporter_source_id")
                    .and_then(Value::as_u64)
                    .and_then(|d| boot.get(&d))
                    .and_then(|b| {
                        b.iter()
                            .rev()
                            .find(|(i, fr, _)| (*i, *fr) < (file, frame))
                            .map(|x| x.2)
                    });
                if let Some(init) = init {
                    for (name, ours) in [("first", f.start_ms), ("last", f.end_ms)] {
                        if let Some(t) = o.get(name).and_then(Value::as_i64) {
                            if ours != init + t {
                                diffs.push(format!(
                                    "{name}: ours {ours}, boot + uptime {}",
                                    init + t
                                ));
                            }
                        }
                    }
                }
                return diffs;
            };
            // v1/v5 headers add unix_nsecs, which tshark's formula leaves out.
            let tolerance = if version <= 5 { 999 } else { 0 };
            for (name, ours) in [("first", f.start_ms), ("last", f.end_ms)] {
                if let Some(t) = o.get(name).and_then(Value::as_i64) {
                    let want = secs * 1000 - up + t;
                    // A FIRST larger than sysUpTime means the exporter's
                    // 32-bit ms uptime wrapped in between: we read it so
                    // (the flow started just before the export); tshark's
                    // formula puts it 49.7 days in the future.
                    let off = (ours - want).rem_euclid(1 << 32);
                    if off > tolerance && (1 << 32) - off > tolerance {
                        diffs.push(format!("{name}: ours {ours}, expected {want}"));
                    }
                }
            }
        }
        _ => {}
    }
    diffs
}

/// Files where floe decodes another number of flows than tshark: (file,
/// flows floe decodes, why).
const NOT_AS_TSHARK: &[(&str, usize, &str)] = &[
    // tshark fails on this one (malformed packet, 0 flows); vflow, whose
    // test it is, finds 3, and so does floe: the last set of the first
    // message runs past the message's length field but not past the
    // datagram, and is read.
    (
        "vflow/ipfix_decoder_test_go_L58_multiMessage.dat",
        3,
        "inconsistent lengths (corpus README, disagreement 2)",
    ),
];

/// Finds, for each of tshark's records, a decoded flow with the same
/// 5-tuple, and compares the rest; returns the problems.
fn match_records(
    path: &str,
    flows: &[Flow],
    expected: &[Value],
    boot: &Boots,
    file: usize,
) -> (usize, Vec<String>) {
    let mut used = vec![false; flows.len()];
    let mut problems = Vec::new();
    let mut compared = 0;
    for (n, e) in expected.iter().enumerate() {
        let same_tuple = |f: &Flow| {
            let o = e.as_object().unwrap();
            let s = |k: &str| {
                o.get(k)
                    .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
            };
            s("src_addr").is_none_or(|a| a == f.src_addr.to_string())
                && s("dst_addr").is_none_or(|a| a == f.dst_addr.to_string())
                && s("src_port").is_none_or(|p| p == f.src_port.to_string())
                && s("protocol").is_none_or(|p| p == f.protocol.to_string())
                && s("octets").is_none_or(|p| p == f.octets.to_string())
        };
        let Some(i) = (0..flows.len())
            .find(|&i| !used[i] && same_tuple(&flows[i]))
            .or_else(|| {
                // No 5-tuple match: compare with the record at the same place,
                // to say what differs.
                (n < flows.len() && !used[n]).then_some(n)
            })
        else {
            problems.push(format!(
                "{path} record {}: no decoded flow left to compare",
                n + 1
            ));
            break;
        };
        used[i] = true;
        compared += 1;
        let diffs = differences(&flows[i], e, boot, file);
        if !diffs.is_empty() {
            problems.push(format!("{path} record {}: {}", n + 1, diffs.join("; ")));
            break;
        }
    }
    (compared, problems)
}

#[test]
fn corpus_decodes_as_tshark_does() {
    let Some(root) = corpus() else {
        floe_test_support::skip("no ../shared/netflow-corpus beside the checkout");
        return;
    };
    let invalid = invalid_files(&root);
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let header_count_short = |path: &str| {
        manifest
            .lines()
            .any(|l| l.starts_with(&format!("{path}\t")) && l.contains("v9 header count"))
    };
    let mut failures = Vec::new();
    let (mut checked_files, mut checked_records, mut more_than_tshark) = (0, 0, 0);
    let mut boot_checked = 0;
    for row in summary(&root) {
        let d = decode(&root, &row);
        if invalid.contains(&row.path) {
            // Checked one by one in the test below.
            continue;
        }
        if let Some((_, flows, why)) = NOT_AS_TSHARK.iter().find(|g| g.0 == row.path) {
            if d.flows.len() != *flows {
                failures.push(format!(
                    "{}: known difference with tshark ({why}) changed: {} flows, {} undecoded sets, {} bad datagrams",
                    row.path,
                    d.flows.len(),
                    d.undecoded_sets,
                    d.bad
                ));
            }
            continue;
        }
        // We may find more than tshark where it cannot: data sent before
        // its template (tshark makes one pass; we hold the data until the
        // template comes) and v9 datagrams whose header count is smaller
        // than what they hold (tshark stops at the count; we read every
        // set to its length, as nfdump does).
        let may_find_more = row.note.contains("without template")
            || row.note.contains("header count")
            || header_count_short(&row.path);
        let count_ok = if may_find_more {
            d.flows.len() >= row.flows && d.options >= row.options
        } else {
            d.flows.len() == row.flows && d.options == row.options
        };
        if !count_ok {
            failures.push(format!(
                "{}: {} flows + {} options, tshark {} + {}",
                row.path,
                d.flows.len(),
                d.options,
                row.flows,
                row.options
            ));
            continue;
        }
        if d.flows.len() > row.flows {
            more_than_tshark += d.flows.len() - row.flows;
        }
        checked_files += 1;
        let json = root
            .join("expected")
            .join(format!("{}.flows.json", row.path));
        if !json.exists() {
            continue;
        }
        let expected: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let boot = boot_times(&root, &row);
        boot_checked += usize::from(!boot.is_empty()) * expected.len();
        let file = row.decoded_after.len();
        let (n, problems) = match_records(&row.path, &d.flows, &expected, &boot, file);
        checked_records += n;
        failures.extend(problems);
    }
    println!(
        "corpus: {checked_files} files with the right counts, {checked_records} records compared field by field, \
         {more_than_tshark} flows more than tshark, {} known differences",
        NOT_AS_TSHARK.len()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked_records > 4500,
        "only {checked_records} records compared"
    );
    println!("corpus: {boot_checked} records of exporters that announce their boot time");
}

#[test]
fn tshark_times_are_read() {
    assert_eq!(
        tshark_time_ms("Apr  1, 2020 09:59:25.729000000 UTC"),
        Some(1_585_735_165_729)
    );
    assert_eq!(
        tshark_time_ms("Jan  6, 2010 07:06:38.000000000 UTC"),
        Some(1_262_761_598_000)
    );
}

#[test]
fn invalid_corpus_files_are_counted_with_a_reason_never_a_panic() {
    let Some(root) = corpus() else {
        floe_test_support::skip("no ../shared/netflow-corpus beside the checkout");
        return;
    };
    // What each file the manifest marks INVALID must give: (bad datagrams,
    // flows kept). netflow9_test_invalid01 is "invalid" only by its header
    // count (2 where 5 sets follow); every set in it is whole, so its two
    // data records are kept (tshark stops earlier and decodes none).
    let expect: BTreeMap<&str, (u64, usize)> = [
        ("logstash-codec-netflow/netflow5_test_invalid01.dat", (1, 0)),
        ("logstash-codec-netflow/netflow5_test_invalid02.dat", (1, 0)),
        ("logstash-codec-netflow/netflow9_test_invalid01.dat", (0, 2)),
        ("python-netflow-v9-softflowd/PACKET_INVALID.dat", (1, 0)),
    ]
    .into_iter()
    .collect();
    let files: Vec<String> = invalid_files(&root)
        .into_iter()
        .filter(|p| !p.contains("/_pcap/"))
        .collect();
    assert_eq!(files.len(), expect.len(), "{files:?}");
    for path in files {
        let bytes = std::fs::read(pcap_for(&root, &path)).unwrap();
        let mut dec = Decoder::new(DecoderConfig::default());
        let mut out = Vec::new();
        let mut bad = 0;
        for d in pcap::udp_datagrams(&bytes).unwrap() {
            bad += dec
                .decode(d.src, &d.payload, d.time_ms, &mut out)
                .counters
                .bad_datagrams;
        }
        let reasons: Vec<String> = dec
            .drain_events()
            .filter_map(|e| match e {
                DecodeEvent::BadDatagram { problem, .. } => Some(problem.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            expect.get(path.as_str()),
            Some(&(bad, out.len())),
            "{path}: {reasons:?}"
        );
        assert_eq!(
            reasons.len() as u64,
            bad,
            "{path}: every bad datagram has a reason"
        );
        for r in &reasons {
            assert!(
                r.len() < 300 && !r.contains("input: ["),
                "{path}: reason is not a log line: {r}"
            );
        }
    }
}

/// Files where floe reads flows netflow_parser 1.0.6 does not: (file,
/// why). Everything netflow_parser reads, floe reads too.
const ONLY_FLOE: &[(&str, &str)] = &[
    (
        "logstash-codec-netflow/ipfix_test_ixia_tpldata256.dat",
        "variable-length enterprise fields: netflow_parser drops the sets after the template",
    ),
    (
        "logstash-codec-netflow/ipfix_test_ixia_tpldata271.dat",
        "variable-length enterprise fields: netflow_parser drops the sets after the template",
    ),
    (
        "telegraf/issue_13305/message-3.bin",
        "variable-length fields: netflow_parser returns no records",
    ),
    (
        "telegraf/issue_13305/message-4.bin",
        "variable-length fields: netflow_parser returns no records",
    ),
    (
        "telegraf/issue_14370/message.bin",
        "the last set runs 2 bytes past the IPFIX length: netflow_parser rejects the message",
    ),
    (
        "vflow/ipfix_decoder_test_go_L58_multiMessage.dat",
        "the last set of a message runs past its length: netflow_parser drops that set",
    ),
];

/// floed decodes into columns: every corpus file, valid or not, gives
/// the same flows and the same outcome datagram by datagram into a
/// [`FlowBatch`] as into rows, each file after its template files.
#[test]
fn the_corpus_decodes_into_columns_as_into_rows() {
    let Some(root) = corpus() else {
        floe_test_support::skip("no ../shared/netflow-corpus beside the checkout");
        return;
    };
    let mut rows_total = 0;
    let mut rows_dec = Decoder::new(DecoderConfig::default());
    let mut cols_dec = Decoder::new(DecoderConfig::default());
    let (mut rows, mut cols) = (Vec::new(), FlowBatch::new());
    let mut paths: Vec<String> = summary(&root)
        .into_iter()
        .flat_map(|r| r.decoded_after.into_iter().chain([r.path]))
        .collect();
    paths.extend(invalid_files(&root));
    for path in paths {
        let bytes = std::fs::read(pcap_for(&root, &path)).unwrap();
        for (i, d) in pcap::udp_datagrams(&bytes)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let a = rows_dec.decode(d.src, &d.payload, d.time_ms, &mut rows);
            let b = cols_dec.decode(d.src, &d.payload, d.time_ms, &mut cols);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{path} datagram {i}");
            assert_eq!(rows.len(), cols.len(), "{path} datagram {i}");
        }
        assert!(cols.lengths_agree(), "{path}");
        assert_eq!(cols.to_flows(), rows, "{path}");
        rows_total += rows.len();
        rows.clear();
        cols.truncate(0);
    }
    assert!(rows_total > 4500, "{rows_total}");
}

#[test]
fn floe_and_netflow_parser_find_the_same_flows_in_the_whole_corpus() {
    let Some(root) = corpus() else {
        floe_test_support::skip("no ../shared/netflow-corpus beside the checkout");
        return;
    };
    let (mut files, mut flows) = (0, 0);
    let mut differ = Vec::new();
    for row in summary(&root) {
        // netflow_parser does not read v1.
        let bytes = std::fs::read(pcap_for(&root, &row.path)).unwrap();
        let theirs_too = pcap::udp_datagrams(&bytes)
            .unwrap()
            .first()
            .is_some_and(|d| matches!(d.payload.get(1), Some(5 | 7 | 9 | 10)));
        if !theirs_too {
            continue;
        }
        let ours = decode(&root, &row);
        let (theirs, options) = decode_oracle(&root, &row);
        let (ours_sorted, theirs_sorted) = (sorted(ours.flows.clone()), sorted(theirs));
        if ours_sorted == theirs_sorted && ours.options == options {
            files += 1;
            flows += ours.flows.len();
            continue;
        }
        // floe may read more; it must read everything netflow_parser does.
        let mut rest = ours_sorted.clone();
        for f in &theirs_sorted {
            match rest.iter().position(|x| x == f) {
                Some(i) => {
                    rest.remove(i);
                }
                None => panic!(
                    "{}: netflow_parser reads a flow floe does not: {f:?}",
                    row.path
                ),
            }
        }
        differ.push(format!(
            "{}: floe {} flows + {} options, netflow_parser {} + {}",
            row.path,
            ours_sorted.len(),
            ours.options,
            theirs_sorted.len(),
            options
        ));
    }
    println!("floe and netflow_parser agree on {files} files, {flows} flows");
    let known: Vec<&str> = ONLY_FLOE.iter().map(|x| x.0).collect();
    let unexplained: Vec<&String> = differ
        .iter()
        .filter(|d| !known.iter().any(|k| d.starts_with(&format!("{k}:"))))
        .collect();
    assert!(
        unexplained.is_empty(),
        "floe reads more, unexplained:\n{unexplained:#?}"
    );
    assert_eq!(differ.len(), ONLY_FLOE.len(), "{differ:#?}");
    assert!(flows > 4500, "{flows}");
}

fn sorted(mut v: Vec<Flow>) -> Vec<Flow> {
    v.sort_by_key(|f| format!("{f:?}"));
    v
}
