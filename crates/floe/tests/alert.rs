//! `floe alert` for real: a store written file by file (generated traffic
//! plus injected patterns: a host going over its quota, a burst held
//! back by consecutive and hold, a 500-port SYN scan, a UDP amplification
//! burst, an exporter going silent and coming back, lost flows rising,
//! traffic far above its average), `floe alert` run after each file as
//! floed's on_rotate would, or now and then, or over the past range:
//! exactly the expected alerts, at the expected windows, once, in every
//! case. Then the actions (mail to a local SMTP server, a command fed
//! hostile data, the log), `--check` on bad rules, and the systemd units.
//! Smaller stores for the rest: rates (bits/s, packets/s), averages over
//! the past day and week, a monthly quota whose months start on the 15th.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use floe_flow::time::utc_ms;
use floe_flow::{ExporterCounters, ExporterKey, Flow};
use floe_store::{StoreConfig, StoreWriter, Zone};
use serde_json::Value;

mod common;
use common::smtp::{part, Sink};
use common::{schema_valid, FLOE};

/// The first file's start: 2026-11-22 08:00 UTC; 24 files of 10 minutes.
fn t0() -> i64 {
    utc_ms(2026, 11, 22, 8, 0, 0)
}
const FILES: usize = 24;
const PERIOD: i64 = 600_000;

fn at(h: u32, m: u32) -> i64 {
    utc_ms(2026, 11, 22, h, m, 0)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn flow(
    src: &str,
    dst: &str,
    proto: u8,
    sport: u16,
    dport: u16,
    packets: u64,
    octets: u64,
) -> Flow {
    Flow {
        exporter: ip("192.0.2.1"),
        src_addr: ip(src),
        dst_addr: ip(dst),
        protocol: proto,
        src_port: sport,
        dst_port: dport,
        tcp_flags: if proto == 6 { 0x1b } else { 0 },
        packets,
        octets,
        ..Flow::default()
    }
}

/// Generated traffic for file `i`, tamed so that it sets nothing off:
/// bytes capped, TCP flows completed (ACK), no UDP from the amplifying
/// ports, nothing to or from the addresses the patterns use.
fn background(i: usize) -> Vec<Flow> {
    let mix = floe_synth::Mix {
        ipv6_share: 0.2,
        day_start_ms: t0() + i as i64 * PERIOD,
        span_ms: PERIOD - 1000,
    };
    floe_synth::realistic_flows(300, 7 + i as u64, &mix)
        .into_iter()
        .map(|mut f| {
            f.octets = f.octets.min(100_000);
            f.packets = f.packets.clamp(1, 100);
            if f.protocol == 6 {
                f.tcp_flags |= 0x10;
            }
            if f.protocol == 17 {
                f.src_port = 40_000;
            }
            if f.dst_port == 8080 {
                f.dst_port = 8081;
            }
            f
        })
        .collect()
}

/// The injected patterns of file `i` (starting at `t0 + i * 10 min`).
fn patterns(i: usize) -> Vec<Flow> {
    let start = t0() + i as i64 * PERIOD;
    let mut v = Vec::new();
    // Quota: 100 MB a file from 172.16.0.50, to a new server each time.
    v.push(flow(
        "172.16.0.50",
        &format!("198.51.100.{}", 100 + i),
        6,
        50_000,
        443,
        70_000,
        100_000_000,
    ));
    // A burst: 30 flows a file from 172.16.0.77 in the first hour.
    if i < 6 {
        for n in 0..30 {
            v.push(flow(
                "172.16.0.77",
                "198.51.100.1",
                6,
                40_000 + n,
                80,
                5,
                2000,
            ));
        }
    }
    // A 500-port SYN scan from one source, in two files (10:30, 10:40).
    if i == 15 || i == 16 {
        for p in 1..=500 {
            let mut f = flow("203.0.113.66", "198.51.100.200", 6, 61_000, p, 1, 44);
            f.tcp_flags = 0x02;
            v.push(f);
        }
    }
    // Amplification: 80 servers answering from 53 and 123 to one victim.
    if i == 18 {
        for s in 1..=80u16 {
            let port = if s % 2 == 0 { 53 } else { 123 };
            for _ in 0..5 {
                v.push(flow(
                    &format!("100.64.0.{s}"),
                    "198.51.100.99",
                    17,
                    port,
                    33_333,
                    10,
                    14_000,
                ));
            }
        }
    }
    // An exporter that goes silent at 11:00 and comes back at 11:40.
    if !(18..22).contains(&i) {
        let mut f = flow("10.9.9.9", "10.9.9.10", 6, 1000, 22, 3, 300);
        f.exporter = ip("192.0.2.9");
        v.push(f);
    }
    // Steady web traffic on 8080, ten times as much at 11:20.
    let octets = if i == 20 { 10_000_000 } else { 1_000_000 };
    v.push(flow(
        "172.16.1.1",
        "198.51.100.80",
        6,
        50_001,
        8080,
        1000,
        octets,
    ));
    for f in &mut v {
        f.start_ms = start + 1000;
        f.end_ms = start + 2000;
    }
    v
}

/// Writes the store file by file; `after(i)` runs once file `i` is closed.
fn write_store(dir: &Path, mut after: impl FnMut(usize)) {
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    c.block_records = 256;
    let (mut w, _) = StoreWriter::open(c, t0()).unwrap();
    for i in 0..FILES {
        let start = t0() + i as i64 * PERIOD;
        let mut flows = background(i);
        flows.extend(patterns(i));
        w.write(start + 5000, &flows).unwrap();
        // Lost flows of exporter 192.0.2.1: a few, then a jump at 10:00.
        let lost = if i == 12 { 500 } else { 5 };
        let key = ExporterKey {
            address: ip("192.0.2.1"),
            source_id: 0,
        };
        let c = ExporterCounters {
            lost_flows: lost,
            ..ExporterCounters::default()
        };
        w.add_counters(start + 6000, key, &c).unwrap();
        // The next period's file opens; this one closes.
        w.tick(start + PERIOD).unwrap();
        after(i);
    }
    // The 12:00 file stays open (tmp-), as at 12:05 in a live store.
    drop(w);
}

const RULES: &str = r#"
zone = "UTC"

[defaults]
log = "LOG"

[[rule]]
name = "quota"
preset = "quota"
limit = "1G"
window = "day"
by = "ip-source-address"

[[rule]]
name = "burst"
filter = "src net 172.16.0.0/24"
metric = "flows"
by = "ip-source-address"
above = 20
consecutive = 3
hold = 2
repeat = "each"

[[rule]]
name = "scan"
preset = "syn-scan"
ports = 100
resolved = true

[[rule]]
name = "amplification"
preset = "udp-amplification"
sources = 50

[[rule]]
name = "silent"
preset = "silent-exporter"

[[rule]]
name = "lost"
preset = "lost-flows"
above = 100

[[rule]]
name = "web-spike"
filter = "dst port 8080"
metric = "octets"
above_average = 3
average_over = "hour"

[[rule]]
name = "quiet"
filter = "src host 10.9.9.9"
metric = "flows"
below = 1
resolved = true
"#;

fn rules_file(dir: &Path, log: &Path) -> PathBuf {
    let p = dir.join("alerts.toml");
    std::fs::write(&p, RULES.replace("LOG", log.to_str().unwrap())).unwrap();
    p
}

fn alert(args: &[&str]) -> Output {
    Command::new(FLOE).arg("alert").args(args).output().unwrap()
}

/// Runs `floe alert -f json` and returns the events it printed; `after`
/// goes after the store's directory.
fn run_alert(
    rules: &Path,
    state: &Path,
    store: &Path,
    extra: &[&str],
    after: &[&str],
) -> Vec<Value> {
    let mut args = vec![
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "-f",
        "json",
    ];
    args.extend_from_slice(extra);
    args.push(store.to_str().unwrap());
    args.extend_from_slice(after);
    let out = alert(&args);
    assert!(
        out.status.success(),
        "floe alert {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An event as compared: state, rule[check], key, window start, when.
type Brief = (String, String, String, i64, i64);

fn brief(e: &Value) -> Brief {
    let key = e["key"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    (
        e["state"].as_str().unwrap().to_string(),
        format!(
            "{}[{}]",
            e["rule"].as_str().unwrap(),
            e["check"].as_str().unwrap()
        ),
        key,
        e["window"]["start_ms"].as_i64().unwrap(),
        e["at_ms"].as_i64().unwrap(),
    )
}

fn expected() -> Vec<(String, String, String, i64, i64)> {
    let e = |state: &str, rule: &str, key: &str, window: i64, at_ms: i64| {
        (
            state.to_string(),
            rule.to_string(),
            key.to_string(),
            window,
            at_ms,
        )
    };
    let day = at(0, 0);
    let mut v = vec![
        // Three windows in a row, then two of silence, then again.
        e("firing", "burst[]", "172.16.0.77", at(8, 20), at(8, 30)),
        e("firing", "burst[]", "172.16.0.77", at(8, 50), at(9, 0)),
        // 900 MB after the 09:20 file, 1000 after 09:30, 1100 after 09:40.
        e("firing", "quota[80%]", "172.16.0.50", day, at(9, 30)),
        e("firing", "quota[90%]", "172.16.0.50", day, at(9, 40)),
        e("firing", "quota[100%]", "172.16.0.50", day, at(9, 50)),
        e("firing", "lost[]", "192.0.2.1", at(10, 0), at(10, 10)),
        // Once while true: the 10:40 file goes on scanning, no new alert;
        // the 10:50 window ends without it: resolved.
        e(
            "firing",
            "scan[ports]",
            "203.0.113.66",
            at(10, 30),
            at(10, 40),
        ),
        e(
            "resolved",
            "scan[ports]",
            "203.0.113.66",
            at(10, 50),
            at(11, 0),
        ),
        e(
            "firing",
            "amplification[]",
            "198.51.100.99",
            at(11, 0),
            at(11, 10),
        ),
        e("firing", "silent[]", "192.0.2.9", at(11, 0), at(11, 10)),
        e("resolved", "silent[]", "192.0.2.9", at(11, 40), at(11, 50)),
        e("firing", "web-spike[]", "", at(11, 20), at(11, 30)),
        // Below: the silent exporter's host sends nothing from 11:00 to
        // 11:40; once while true, then resolved.
        e("firing", "quiet[]", "", at(11, 0), at(11, 10)),
        e("resolved", "quiet[]", "", at(11, 40), at(11, 50)),
    ];
    v.sort_by(|a, b| (a.4, &a.1).cmp(&(b.4, &b.1)));
    v
}

fn sorted(events: &[Value]) -> Vec<(String, String, String, i64, i64)> {
    let mut v: Vec<_> = events.iter().map(brief).collect();
    v.sort_by(|a, b| (a.4, &a.1).cmp(&(b.4, &b.1)));
    v
}

#[test]
fn the_expected_alerts_fire_once_whenever_the_runs_happen() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    let log = root.path().join("alerts.jsonl");
    let rules = rules_file(root.path(), &log);
    let every = root.path().join("every.state");
    let sometimes = root.path().join("sometimes.state");
    let mut by_file = Vec::new();
    let mut now_and_then = Vec::new();
    write_store(&store, |i| {
        // As floed's on_rotate: after every file, given the closed file.
        let t = t0() + i as i64 * PERIOD;
        let closed = store.join(format!(
            "2026/2026-11/2026-11-22/{}",
            floe_store::layout::file_name(&Zone::Utc, t)
        ));
        assert!(closed.is_file(), "{}", closed.display());
        by_file.extend(run_alert(
            &rules,
            &every,
            &store,
            &[],
            &[closed.to_str().unwrap()],
        ));
        // A timer that missed some runs; the state of the first run
        // (after the first file) is where both start.
        if [0, 6, 7, 14, 16, 23].contains(&i) {
            now_and_then.extend(run_alert(&rules, &sometimes, &store, &[], &[]));
        }
    });
    let want = expected();
    assert_eq!(sorted(&by_file), want);
    assert_eq!(sorted(&now_and_then), want);
    // The same JSON either way (values, top keys, files...).
    let strip = |v: &[Value]| {
        let mut v: Vec<String> = v.iter().map(Value::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(strip(&by_file), strip(&now_and_then));
    // Nothing is left to say: a run with no new file says nothing.
    assert!(run_alert(&rules, &every, &store, &[], &[]).is_empty());
    // The log has each event once per state (both wrote to it).
    let logged: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(logged.len(), 2 * want.len());
    assert_eq!(strip(&logged[..]).len(), 2 * want.len());
    // Every event is what schemas/alert.schema.json says.
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/alert.schema.json");
    for (i, e) in logged.iter().enumerate() {
        let doc = root.path().join(format!("event{i}.json"));
        std::fs::write(&doc, e.to_string()).unwrap();
        schema_valid(&doc, &schema).unwrap_or_else(|m| panic!("{e}: {m}"));
    }

    // The values are the traffic's.
    let find = |rule: &str, check: &str| {
        by_file
            .iter()
            .find(|e| e["rule"] == rule && e["check"] == check && e["state"] == "firing")
            .unwrap()
    };
    let scan = find("scan", "ports");
    assert_eq!(scan["value"], 500.0);
    assert_eq!(scan["key"]["ip-source-address"], "203.0.113.66");
    assert_eq!(scan["top"][0]["key"][0], "203.0.113.66");
    assert_eq!(
        scan["window"]["complete"], false,
        "fired on the running count"
    );
    let q = find("quota", "80%");
    assert_eq!(q["value"], 900_000_000.0);
    assert_eq!(q["window"]["start"], "2026-11-22T00:00:00+00:00");
    assert_eq!(q["window"]["kind"], "day");
    assert_eq!(find("amplification", "")["value"], 80.0);
    let w = find("web-spike", "");
    assert_eq!(w["value"], 10_000_000.0);
    assert_eq!(w["average"], 1_000_000.0);
    // A rule without a key lists the top sources of its traffic.
    assert_eq!(w["top_columns"][0], "ip-source-address");
    assert_eq!(w["top"][0]["key"][0], "172.16.1.1");
    assert_eq!(find("burst", "")["consecutive"], 3);
    assert_eq!(find("lost", "")["value"], 500.0);

    // By hand over the past: a dry run, the same alerts, no action, no
    // state.
    let before = std::fs::read(&log).unwrap();
    let past_state = root.path().join("past.state");
    let past = run_alert(
        &rules,
        &past_state,
        &store,
        &[
            "-t",
            "2026-11-22 08:00",
            "-T",
            "2026-11-22 12:00",
            "--zone",
            "UTC",
        ],
        &[],
    );
    assert_eq!(sorted(&past), want);
    assert_eq!(strip(&past), strip(&by_file));
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "a dry run logs nothing"
    );
    assert!(!past_state.exists(), "a past range leaves no state");
    // The last hour alone: what fired in it.
    let hour = run_alert(
        &rules,
        &past_state,
        &store,
        &[
            "-t",
            "2026-11-22 11:00",
            "-T",
            "2026-11-22 12:00",
            "--zone",
            "UTC",
        ],
        &[],
    );
    // Another directory where the closed file goes is a mistake.
    let out = alert(&[
        "--rules",
        rules.to_str().unwrap(),
        store.to_str().unwrap(),
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let rules_fired: BTreeSet<String> = hour.iter().map(|e| brief(e).1).collect();
    assert!(rules_fired.contains("amplification[]"), "{rules_fired:?}");
    assert!(!rules_fired.contains("scan[ports]"), "{rules_fired:?}");

    // A state that went away: the next run starts afresh with the newest
    // file's windows: the file rules see that file alone, the day's quota
    // counts the day again (and says so again).
    std::fs::remove_file(&every).unwrap();
    let again = run_alert(&rules, &every, &store, &[], &[]);
    let again: BTreeSet<String> = again.iter().map(|e| brief(e).1).collect();
    assert_eq!(
        again,
        BTreeSet::from([
            "quota[80%]".into(),
            "quota[90%]".into(),
            "quota[100%]".into()
        ])
    );
}

#[test]
fn a_file_copied_in_late_is_said_and_not_counted() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    let log = root.path().join("a.log");
    let rules = rules_file(root.path(), &log);
    let state = root.path().join("s.state");
    write_store(&store, |i| {
        if i == 3 {
            run_alert(&rules, &state, &store, &[], &[]);
        }
    });
    run_alert(&rules, &state, &store, &[], &[]);
    // A file of 08:00 appears after 12:00 (an import).
    let late = store.join("2026/2026-11/2026-11-22/floe.2026-11-22.080000+0000.1");
    let first = store.join("2026/2026-11/2026-11-22/floe.2026-11-22.080000+0000");
    std::fs::copy(&first, &late).unwrap();
    let out = alert(&[
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        store.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("080000+0000.1: came after its window was evaluated"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Said once.
    let out = alert(&[
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        store.to_str().unwrap(),
    ]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small store: one file holding a scan.
fn scan_store(dir: &Path) {
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.period_secs = 600;
    let (mut w, _) = StoreWriter::open(c, t0()).unwrap();
    let mut flows = background(0);
    flows.extend(patterns(15));
    // An IPv6 scanner too: its address is data with colons.
    for p in 1..=200 {
        let mut f = flow("2001:db8::bad:1", "2001:db8::2", 6, 1, p, 1, 60);
        f.tcp_flags = 0x02;
        f.start_ms = t0();
        f.end_ms = t0();
        flows.push(f);
    }
    w.write(t0() + 1000, &flows).unwrap();
    w.close(t0() + PERIOD).unwrap();
}

#[test]
fn a_command_gets_hostile_data_as_data_on_its_stdin() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    scan_store(&store);
    let got = root.path().join("got");
    let argv_file = root.path().join("argv");
    let script = root.path().join("hook.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s\\n' \"$#\" \"$@\" >> \"$ARGV_FILE\"\ncat >> \"$GOT\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // A rule name that a shell would run, with quotes and a newline.
    let name = "scan \\\"$(touch PWNED)\\\" `touch PWNED2`; rm -rf x\\nnext line";
    let rules = root.path().join("hostile.toml");
    std::fs::write(
        &rules,
        format!(
            "[[rule]]\nname = \"{name}\"\npreset = \"syn-scan\"\nports = 100\ncommand = [\"{}\", \"--literal\", \"{{key}} $1\"]\n",
            script.display()
        ),
    )
    .unwrap();
    let out = Command::new(FLOE)
        .args(["alert", "--rules"])
        .arg(&rules)
        .arg("--state")
        .arg(root.path().join("s"))
        .arg(&store)
        .current_dir(root.path())
        .env("GOT", &got)
        .env("ARGV_FILE", &argv_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.path().join("PWNED").exists() && !root.path().join("PWNED2").exists());
    // The command line is what the rules say, word for word.
    assert_eq!(
        std::fs::read_to_string(&argv_file).unwrap(),
        "2\n--literal\n{key} $1\n2\n--literal\n{key} $1\n"
    );
    let events: Vec<Value> = std::fs::read_to_string(&got)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    let want_name = "scan \"$(touch PWNED)\" `touch PWNED2`; rm -rf x\nnext line";
    assert!(events.iter().all(|e| e["rule"] == want_name));
    let keys: BTreeSet<&str> = events
        .iter()
        .map(|e| e["key"]["ip-source-address"].as_str().unwrap())
        .collect();
    assert_eq!(keys, BTreeSet::from(["2001:db8::bad:1", "203.0.113.66"]));
    // The printed line keeps the newline out of the journal's way? It is
    // one event per line in JSON.
    let json = alert(&[
        "--rules",
        rules.to_str().unwrap(),
        "-t",
        "2026-11-22 08:00",
        "--zone",
        "UTC",
        "-f",
        "json",
        store.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8_lossy(&json.stdout).lines().count(), 2);
}

#[test]
fn an_alert_is_mailed_with_its_top_keys() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    scan_store(&store);
    let spool = tempfile::tempdir().unwrap();
    let sink = Sink::start(spool.path(), &[]);
    let rules = root.path().join("mail.toml");
    std::fs::write(
        &rules,
        format!(
            r#"
[mail]
smtp = "127.0.0.1:{}"
from = "floe@collector.example.net"

[[rule]]
name = "scan"
preset = "syn-scan"
ports = 300
top = 5
mail_to = ["noc@example.net"]
subject = "[{{state}}] {{rule}} {{check}}: {{key}} {{value}} ports"
"#,
            sink.port
        ),
    )
    .unwrap();
    let out = alert(&[
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        root.path().join("s").to_str().unwrap(),
        store.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.wait_for(1);
    assert_eq!(msgs.len(), 1, "only the 500-port scan is over 300");
    let m = &msgs[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!(["noc@example.net"]));
    assert_eq!(
        m["message"]["headers"]["subject"],
        "[firing] scan ports: ip-source-address=203.0.113.66 500 ports"
    );
    let text = part(m, "text/plain");
    assert!(text.contains("ip-source-address=203.0.113.66"), "{text}");
    assert!(
        text.contains("above 100") || text.contains("above 300"),
        "{text}"
    );
    // The top keys: the scanner first, then the IPv6 one.
    let top = text.split("Top ").nth(1).unwrap();
    let a = top.find("203.0.113.66").unwrap();
    let b = top.find("2001:db8::bad:1").unwrap();
    assert!(a < b, "{text}");
    let html = part(m, "text/html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<td>2001:db8::bad:1</td>"), "{html}");
}

#[test]
fn check_names_the_place_of_each_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "[[rule]]\nname = \"a\"\nmetric = \"octets\"\nabove = \"10G\"\nfilter = \"proto tcp and port 99999\"\n",
            ":5:",
        ),
        (
            "[[rule]]\nname = \"b\"\nmetric = \"octets\"\nabove = 1\nwindow = \"fortnight\"\n",
            ":5:10: rule \"b\": unknown window",
        ),
        (
            "[[rule]]\nname = \"c\"\nmetric = \"octets\"\nabove = 1\n[[rule]]\nname = \"d\"\nmetric = \"octets\"\nabove = 1\nthreshold = 5\n",
            ":9:1: rule \"d\": unknown field `threshold`",
        ),
        (
            "[[rule]]\nname = \"e\"\npreset = \"quota\"\n",
            ":2:8: rule \"e\": the quota preset needs a limit",
        ),
        (
            "[[rule]]\nname = \"f\"\nmetric = \"flows\"\nbelow = 1\nsubject = \"{rule} {nope}\"\n",
            ":5:11: rule \"f\": subject: unknown field {nope}",
        ),
        (
            "[[rule]]\nname = \"g\"\nmetric = \"flows\"\nabove = 1\nby = \"time-series\"\n",
            ":5:6: rule \"g\": time is a distribution",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("alerts{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let out = alert(&["--check", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("{}{want}", p.display());
        assert!(err.contains(&want), "want {want:?} in {err:?}");
    }
    // The shipped example is good, and --check says what it holds.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../floe-alert/alerts.toml");
    let out = alert(&["--check", example.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(": OK"), "{text}");
    assert!(text.contains("preset syn-scan"), "{text}");
    // A missing rules file is an input error.
    let out = alert(&["--check", "/nonexistent/alerts.toml"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_alert_units_pass_systemd_analyze_verify() {
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../systemd");
    let dir = tempfile::tempdir().unwrap();
    for name in ["floe-alert.service", "floe-alert.timer"] {
        let text = std::fs::read_to_string(units.join(name)).unwrap();
        std::fs::write(
            dir.path().join(name),
            text.replace("/usr/local/bin/floe", FLOE),
        )
        .unwrap();
    }
    let service = std::fs::read_to_string(dir.path().join("floe-alert.service")).unwrap();
    for needed in [
        "Type=oneshot",
        "DynamicUser=yes",
        "StateDirectory=floe",
        "ProtectSystem=strict",
    ] {
        assert!(
            service.contains(needed),
            "floe-alert.service lacks {needed}"
        );
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.path().join("floe-alert.service"))
        .arg(dir.path().join("floe-alert.timer"))
        .output()
        .expect("systemd-analyze is needed for this test (Debian package systemd; scripts/test installs it)");
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_readme_rules_are_good_rules() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let section = readme.split("## Alerts and usage").nth(1).unwrap();
    let start = section.find("    [[rule]]").unwrap();
    let block: String = section[start..]
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(block.matches("[[rule]]").count() >= 2, "{block}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("readme.toml");
    std::fs::write(&p, &block).unwrap();
    let out = alert(&["--check", p.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{block}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A store of `period_secs` files, one per `(start, flows)` (the flows
/// are filed at `start`); only those periods have a file.
fn write_files(dir: &Path, period_secs: u32, files: &[(i64, Vec<Flow>)]) {
    let mut c = StoreConfig::new(dir);
    c.zone = Zone::Utc;
    c.period_secs = period_secs;
    let (mut w, _) = StoreWriter::open(c, files[0].0).unwrap();
    for (start, flows) in files {
        let mut flows = flows.clone();
        for f in &mut flows {
            f.start_ms = start + 1000;
            f.end_ms = start + 2000;
        }
        w.write(start + 1000, &flows).unwrap();
        w.rotate(start + i64::from(period_secs) * 1000).unwrap();
    }
}

/// `floe alert` by hand over `[from, to)` (a dry run from no state) with
/// `rules`: the events, briefly.
fn past_alerts(
    root: &Path,
    rules: &str,
    store: &Path,
    from: &str,
    to: &str,
) -> (Vec<Brief>, Vec<Value>) {
    let path = root.join("rules.toml");
    std::fs::write(&path, rules).unwrap();
    let events = run_alert(
        &path,
        &root.join("never.state"),
        store,
        &["-t", from, "-T", to, "--zone", "UTC"],
        &[],
    );
    (sorted(&events), events)
}

fn event(
    state: &str,
    rule: &str,
    key: &str,
    window: i64,
    at_ms: i64,
) -> (String, String, String, i64, i64) {
    (
        state.to_string(),
        rule.to_string(),
        key.to_string(),
        window,
        at_ms,
    )
}

#[test]
fn bits_and_packets_per_second_fire_at_their_window_once() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    // Three hours of 10-minute files: steady web traffic on 8080 (1 MB,
    // 1000 packets a file), 200 MB and 200 000 packets in the 09:30
    // file; much more on 443 all along, which the filters leave out.
    let files: Vec<(i64, Vec<Flow>)> = (0..18)
        .map(|i| {
            let start = t0() + i as i64 * PERIOD;
            let (octets, packets) = if i == 9 {
                (200_000_000, 200_000)
            } else {
                (1_000_000, 1000)
            };
            let web = flow(
                "172.16.1.1",
                "198.51.100.80",
                6,
                50_001,
                8080,
                packets,
                octets,
            );
            let other = flow(
                "172.16.1.2",
                "198.51.100.81",
                6,
                50_002,
                443,
                900_000,
                900_000_000,
            );
            (start, vec![web, other])
        })
        .collect();
    write_files(&store, 600, &files);
    let rules = r#"
zone = "UTC"

[[rule]]
name = "rate"
filter = "dst port 8080"
metric = "bits/s"
window = "hour"
above = "100k"

[[rule]]
name = "pps"
filter = "dst port 8080"
metric = "packets/s"
by = "ip-source-address"
window = "file"
above = 100
"#;
    let (got, events) = past_alerts(
        root.path(),
        rules,
        &store,
        "2026-11-22 08:00",
        "2026-11-22 11:00",
    );
    // The hour's rate passes 100 kb/s with the 09:30 file: (3 MB +
    // 200 MB) * 8 / 3600 s, said once for the hour; the file's packet
    // rate is 200 000 / 600 s in the 09:30 window alone.
    let mut want = vec![
        event("firing", "rate[]", "", at(9, 0), at(9, 40)),
        event("firing", "pps[]", "172.16.1.1", at(9, 30), at(9, 40)),
    ];
    want.sort_by(|a, b| (a.4, &a.1).cmp(&(b.4, &b.1)));
    assert_eq!(got, want);
    let value = |rule: &str| {
        events.iter().find(|e| e["rule"] == rule).unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!((value("rate") - 203_000_000.0 * 8.0 / 3600.0).abs() < 1e-6);
    assert!((value("pps") - 200_000.0 / 600.0).abs() < 1e-9);
    let e = events.iter().find(|e| e["rule"] == "rate").unwrap();
    assert_eq!(e["metric"], "bits/s");
}

#[test]
fn above_its_average_over_the_past_day_fires_at_the_spike_only() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    // Hourly files over two days: web traffic following the day (1 MB
    // an hour at night, 2 MB in the day), 8 MB at 14:00 on the 21st.
    let day0 = utc_ms(2026, 11, 20, 0, 0, 0);
    let spike = utc_ms(2026, 11, 21, 14, 0, 0);
    let files: Vec<(i64, Vec<Flow>)> = (0..48)
        .map(|h| {
            let start = day0 + h * 3_600_000;
            let octets = if start == spike {
                8_000_000
            } else if (8..20).contains(&(h % 24)) {
                2_000_000
            } else {
                1_000_000
            };
            let web = flow("172.16.1.1", "198.51.100.80", 6, 50_001, 8080, 1000, octets);
            (start, vec![web])
        })
        .collect();
    write_files(&store, 3600, &files);
    let rules = r#"
zone = "UTC"

[[rule]]
name = "spike"
filter = "dst port 8080"
metric = "octets"
window = "hour"
above_average = 3
average_over = "day"
"#;
    let (got, events) = past_alerts(
        root.path(),
        rules,
        &store,
        "2026-11-20 00:00",
        "2026-11-22 00:00",
    );
    // The mornings' step from 1 to 2 MB is not above 3 x the average of
    // the hours before (1.5 MB once a day has passed); 8 MB is.
    assert_eq!(
        got,
        vec![event("firing", "spike[]", "", spike, spike + 3_600_000)]
    );
    assert_eq!(events[0]["value"], 8_000_000.0);
    assert_eq!(events[0]["average"], 1_500_000.0);
}

#[test]
fn above_its_average_over_the_past_week_fires_at_the_spike_only() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    // Daily files over twelve days from Monday 2026-11-09: 10 MB on
    // weekdays, 2 MB at weekends, 60 MB on Wednesday the 18th.
    let day0 = utc_ms(2026, 11, 9, 0, 0, 0);
    let spike = utc_ms(2026, 11, 18, 0, 0, 0);
    let files: Vec<(i64, Vec<Flow>)> = (0..12)
        .map(|d| {
            let start = day0 + d * 86_400_000;
            let octets = if start == spike {
                60_000_000
            } else if d % 7 >= 5 {
                2_000_000
            } else {
                10_000_000
            };
            let web = flow("172.16.1.1", "198.51.100.80", 6, 50_001, 8080, 1000, octets);
            (start, vec![web])
        })
        .collect();
    write_files(&store, 86_400, &files);
    let rules = r#"
zone = "UTC"

[[rule]]
name = "weekly"
filter = "dst port 8080"
metric = "octets"
window = "day"
above_average = 4
average_over = "week"
"#;
    let (got, events) = past_alerts(
        root.path(),
        rules,
        &store,
        "2026-11-09 00:00",
        "2026-11-21 00:00",
    );
    // The first Monday after a weekend (10 MB against an average of
    // (5 x 10 + 2 x 2) / 7) is not above 4 x it; the 60 MB Wednesday is.
    assert_eq!(
        got,
        vec![event("firing", "weekly[]", "", spike, spike + 86_400_000)]
    );
    assert_eq!(events[0]["value"], 60_000_000.0);
    let avg = events[0]["average"].as_f64().unwrap();
    assert!((avg - 54_000_000.0 / 7.0).abs() < 1.0, "{avg}");
}

#[test]
fn a_monthly_quota_from_the_15th_warns_in_its_own_months() {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("flows");
    // Daily files from 2026-10-28 to 2026-11-25: 100 MB a day from
    // 172.16.0.50, to a new server each day.
    let day0 = utc_ms(2026, 10, 28, 0, 0, 0);
    let files: Vec<(i64, Vec<Flow>)> = (0..29)
        .map(|d| {
            let start = day0 + d * 86_400_000;
            let f = flow(
                "172.16.0.50",
                &format!("198.51.100.{}", 100 + d),
                6,
                50_000,
                443,
                70_000,
                100_000_000,
            );
            (start, vec![f])
        })
        .collect();
    write_files(&store, 86_400, &files);
    let rules = r#"
zone = "UTC"

[[rule]]
name = "quota"
preset = "quota"
limit = "1G"
window = "month"
month_starts = 15
"#;
    let (got, events) = past_alerts(
        root.path(),
        rules,
        &store,
        "2026-10-28 00:00",
        "2026-11-26 00:00",
    );
    // The month of October 15th counts from the 28th (nothing before):
    // 900 MB after November 5th, 1000 after the 6th, 1100 after the 7th;
    // November 1st starts nothing. The month of November 15th starts
    // again from zero: 900 MB after the 23rd...
    let day = |m: u32, d: u32| utc_ms(2026, m, d, 0, 0, 0);
    let (oct, nov) = (day(10, 15), day(11, 15));
    let host = "172.16.0.50";
    let mut want = vec![
        event("firing", "quota[80%]", host, oct, day(11, 6)),
        event("firing", "quota[90%]", host, oct, day(11, 7)),
        event("firing", "quota[100%]", host, oct, day(11, 8)),
        event("firing", "quota[80%]", host, nov, day(11, 24)),
        event("firing", "quota[90%]", host, nov, day(11, 25)),
        event("firing", "quota[100%]", host, nov, day(11, 26)),
    ];
    want.sort_by(|a, b| (a.4, &a.1).cmp(&(b.4, &b.1)));
    assert_eq!(got, want);
    for e in &events {
        assert_eq!(e["window"]["kind"], "month from day 15", "{e}");
    }
    let first = events
        .iter()
        .find(|e| e["check"] == "80%" && e["window"]["start_ms"] == nov)
        .unwrap();
    assert_eq!(first["value"], 900_000_000.0);
    assert_eq!(first["window"]["end"], "2026-12-15T00:00:00+00:00");
}
