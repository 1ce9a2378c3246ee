//! floe report's flow-tools side, with the real binary on a real tree:
//! stat.cfg outputs (format, fields, options, tally, path with strftime and
//! |command, time), time-series definitions, flow-report's ascii layout,
//! the one-liner flags, and the HTML of time series, heat maps and
//! summaries.
//!
//! The tree (tests/common): 180 flows, one a minute from 10:00 UTC, each
//! 30 s, 1 packet, 100 + i octets, from 10.0.0.i to 192.0.2.1:443/tcp.

use std::path::Path;
use std::process::Command;

mod common;
use common::{check_golden, html5_valid, look, reads_well, schema_valid, tree, FLOE};
use floe_test_support::run_ok;

fn report(args: &[&str], dir: &Path) -> String {
    run_ok(
        Command::new(FLOE)
            .arg("report")
            .args(args)
            .args(["--zone", "UTC"])
            .arg(dir),
    )
}

/// Octets of the flows of minutes [from, to).
fn octets(from: u64, to: u64) -> u64 {
    (from..to).map(|i| 100 + i).sum()
}

#[test]
fn stat_config_outputs_go_where_their_path_says_in_flow_reports_layout() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let work = tempfile::tempdir().unwrap();
    let w = work.path().display();
    let cfg = work.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        format!(
            "# a nightly configuration\n\
             stat-report srcs\n  type ip-source-address\n  output\n    format ascii\n    sort +octets\n    records 2\n    options +header,+totals\n    fields +avg-bps,-duration\n    tally 1\n    path {w}/out/%Y-%m-%d/srcs-%H.txt\n    time start\n  output\n    sort -key\n    records 1\n    path |cat > {w}/piped.txt\n\n\
             stat-report hourly\n  type ip-protocol\n  output\n    sort -key\n\n\
             stat-definition d\n  report srcs\n\n\
             stat-definition h\n  time-series 3600\n  report hourly\n"
        ),
    )
    .unwrap();
    let stdout = report(
        &[
            "-s",
            cfg.to_str().unwrap(),
            "-S",
            "d",
            "-S",
            "h",
            "--format",
            "flow-tools",
        ],
        data.path(),
    );
    // Only the output without a path is printed: a report per hour, as
    // flow-report appends them.
    let t = |h: u32| floe_flow::time::utc_ms(2026, 11, 22, h, 0, 0) / 1000;
    let recn = "# recn: time*,ip-protocol*,flows,octets,packets,duration";
    assert_eq!(
        stdout,
        format!(
            "{recn}\n{},6,60,{},60,1800000\n{recn}\n{},6,60,{},60,1800000\n{recn}\n{},6,60,{},60,1800000\n",
            t(10),
            octets(0, 60),
            t(11),
            octets(60, 120),
            t(12),
            octets(120, 180)
        )
    );
    // time start: the first flow's day and hour.
    let srcs = std::fs::read_to_string(work.path().join("out/2026-11-22/srcs-10.txt")).unwrap();
    let total = octets(0, 180);
    let avg_all: f64 = (0..180)
        .map(|i| (100.0 + i as f64) * 8.0 / 30.0)
        .sum::<f64>()
        / 180.0;
    let body: Vec<&str> = srcs
        .lines()
        .skip_while(|l| !l.starts_with("# rec1:"))
        .collect();
    assert!(
        srcs.starts_with("#  --- ---- ---- Report Information --- --- ---\n"),
        "{srcs}"
    );
    assert!(srcs.contains("#  name:                 srcs\n"), "{srcs}");
    assert!(
        srcs.contains("#  fields:               +key,+flows,+octets,+packets,+avg-bps\n"),
        "{srcs}"
    );
    assert_eq!(
        body,
        [
            "# rec1: records,ignores,flows,octets,packets,duration,avg_bps,min_bps,max_bps,avg_pps,min_pps,max_pps".to_string(),
            format!(
                "180,0,180,{total},180,5400000,{avg_all:.6},{:.6},{:.6},{:.6},{:.6},{:.6}",
                800.0 / 30.0,
                279.0 * 8.0 / 30.0,
                1.0 / 30.0,
                1.0 / 30.0,
                1.0 / 30.0
            ),
            "# recn: ip-source-address*,flows,octets,packets,avg-bps".into(),
            format!("10.0.0.179,1,279,1,{:.6}", 279.0 * 8.0 / 30.0),
            format!(
                "#TALLY %recs={:.3} %flows={:.3} %octets={:.3} %packets={:.3} %avg-bps={:.3} %avg-pps=100.000",
                100.0 / 180.0,
                100.0 / 180.0,
                279.0 * 100.0 / total as f64,
                100.0 / 180.0,
                279.0 * 8.0 / 30.0 / avg_all * 100.0
            ),
            format!("10.0.0.178,1,278,1,{:.6}", 278.0 * 8.0 / 30.0),
            "# stop, hit record limit.".into(),
        ]
    );
    // |command: the second output piped to sh.
    assert_eq!(
        std::fs::read_to_string(work.path().join("piped.txt")).unwrap(),
        "# recn: ip-source-address*,flows,octets,packets,duration\n10.0.0.0,1,100,1,30000\n# stop, hit record limit.\n"
    );
    // A path that cannot be written is an error that names it.
    std::fs::write(
        &cfg,
        "stat-report a\n  type ip-protocol\n  output\n    path /proc/floe-cannot/x.txt\nstat-definition d\n  report a\n",
    )
    .unwrap();
    let out = Command::new(FLOE)
        .args(["report", "-s"])
        .arg(&cfg)
        .args(["-S", "d"])
        .arg(data.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("path /proc/floe-cannot/x.txt"), "{err}");
}

#[test]
fn one_liner_flags() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let dir = data.path();
    let total = octets(0, 180);
    // Prefixes by a fixed length.
    let csv = report(
        &[
            "-r",
            "ip-source-address",
            "--src-format",
            "prefix-len/24",
            "-f",
            "csv",
        ],
        dir,
    );
    assert_eq!(
        csv.lines().nth(1).unwrap(),
        format!("10.0.0.0/24,180,{total},180,5400000,100.0000,100.0000")
    );
    // Scaled by a factor.
    let csv = report(&["-r", "ip-protocol", "--scale", "100", "-f", "csv"], dir);
    assert!(
        csv.contains(&format!("\n6,180,{},18000,", total * 100)),
        "{csv}"
    );
    // Names, percentages, in flow-report's layout.
    let ft = report(
        &[
            "-r",
            "ip-destination-port",
            "-f",
            "flow-tools",
            "--options",
            "+names,+percent-total",
            "--fields",
            "-duration",
        ],
        dir,
    );
    assert_eq!(
        ft,
        "# recn: ip-destination-port*,flows,octets,packets\nhttps,100.000000,100.000000,100.000000\n"
    );
    // A time series, oldest first by default; 30-minute intervals.
    let text = report(&["-r", "time-series", "--interval", "1800"], dir);
    assert!(
        text.starts_with("# Traffic per 30 minutes, 2026-11-22 10:00 to 12:59:30 (UTC)\n"),
        "{text}"
    );
    assert!(text.contains("; 6 intervals of 30 minutes\n"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .skip(4)
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert!(rows[0].starts_with("2026-11-22 10:00 "), "{text}");
    assert!(rows[5].starts_with("2026-11-22 12:30 "), "{text}");
    // Flows 0..29 in the first half hour: their octets as bits per second.
    assert!(
        rows[0].contains(&format!("  {:.1}  ", octets(0, 30) as f64 * 8.0 / 1800.0)),
        "{text}"
    );
    // Rates as columns and as the sort.
    let csv = report(
        &[
            "-r",
            "ip-source-address",
            "--fields",
            "+max-bps",
            "--sort",
            "-max-bps",
            "--records",
            "1",
            "-f",
            "csv",
        ],
        dir,
    );
    assert_eq!(
        csv,
        format!(
            "ip-source-address,flows,octets,packets,duration_ms,octets_pct,flows_pct,max-bps\n\
             10.0.0.0,1,100,1,30000,{:.4},{:.4},{:.3}\n",
            100.0 * 100.0 / total as f64,
            100.0 / 180.0,
            800.0 / 30.0
        )
    );
    // Several types in one pass: one JSON document each.
    let json = report(
        &[
            "-r",
            "ip-protocol",
            "-r",
            "ip-destination-port",
            "-f",
            "json",
        ],
        dir,
    );
    let docs: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(docs[0]["report"], "ip-protocol");
    assert_eq!(docs[1]["report"], "ip-destination-port");
    assert_eq!(docs[1]["rows"][0]["flows"], 180);
    // The summary, as text: real averages (34110 octets in 180 flows of
    // one packet: 189.5 each), saying that flow-report's divide integers;
    // its own layout keeps those (afs 189).
    let text = report(&["-r", "summary-detail"], dir);
    for line in [
        "Flows:                            180\n",
        "Bytes:                            34.1 kB (34110)\n",
        "Average flow size:                189.50 bytes\n",
        "Average packet size:              189.50 bytes\n",
        "Average flow duration:            30.00 s\n",
        "# Averages are real divisions; flow-report divides integers",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(text.contains("# Flow time distribution (ms)"), "{text}");
    let ft = report(&["-r", "summary-detail", "-f", "flow-tools"], dir);
    let rec2: Vec<&str> = ft.lines().nth(3).unwrap().split(',').collect();
    assert_eq!(
        rec2[..5],
        [
            "10770",
            "30000.000000",
            "189.000000",
            "189.000000",
            "1.000000"
        ]
    );
    let json = report(&["-r", "summary-counters", "-f", "json"], dir);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["summary"]["avg_flow_size"], 189.5);
    // Errors name the flag and the choices.
    for (args, says) in [
        (
            vec!["-r", "ip-protocol", "--scale", "lots"],
            "scale \"lots\"",
        ),
        (
            vec!["-r", "ip-protocol", "--fields", "+speed"],
            "unknown field \"speed\"",
        ),
        (
            vec!["-r", "ip-protocol", "--options", "+pretty"],
            "unknown option \"pretty\"",
        ),
        (
            vec!["-r", "ip-source-address", "--src-format", "cidr"],
            "address format \"cidr\"",
        ),
        (
            vec!["-r", "ip-protocol", "--sort", "+speed"],
            "unknown sort field",
        ),
    ] {
        let out = Command::new(FLOE)
            .arg("report")
            .args(&args)
            .arg(dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn json_of_the_new_kinds_follows_the_schema() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/report.schema.json");
    for args in [
        vec!["-r", "summary-detail"],
        vec!["-r", "summary-counters"],
        vec![
            "-r",
            "ip-source-address-destination-count",
            "--sort",
            "+count",
        ],
        vec!["-r", "time-series/ip-protocol", "--interval", "3600"],
        vec!["-r", "packet-size/duration"],
        vec![
            "-r",
            "ip-source-address",
            "--src-format",
            "prefix-mask/16",
            "--fields",
            "+bps,+pps",
        ],
    ] {
        let a = args;
        let text = report(&[a.as_slice(), &["-f", "json"]].concat(), data.path());
        let doc = data.path().join("r.json");
        std::fs::write(&doc, &text).unwrap();
        if let Err(e) = schema_valid(&doc, &schema) {
            panic!("{a:?}: {e}\n{text}");
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if a[1].starts_with("summary") {
            assert_eq!(v["summary"]["span_secs"], 179 * 60 + 30);
        } else {
            assert!(!v["rows"].as_array().unwrap().is_empty(), "{a:?}");
        }
    }
}

#[test]
fn html_draws_time_series_heat_maps_and_summaries() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let cfg = data.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        "stat-report traffic\n  type time-series\n  output\n    sort -key\n\n\
         stat-report hosts\n  type ip-source-address\n  output\n    sort -key\n\n\
         stat-report summary\n  type summary-detail\n\n\
         stat-definition series\n  time-series 600\n  report traffic\n\n\
         stat-definition heat\n  time-series 3600\n  report hosts\n\n\
         stat-definition sum\n  report summary\n",
    )
    .unwrap();
    let page = report(
        &[
            "-s",
            cfg.to_str().unwrap(),
            "-S",
            "series",
            "-S",
            "heat",
            "-S",
            "sum",
            "-f",
            "html",
        ],
        data.path(),
    );
    // The series: an area chart, its 18 ten-minute intervals in a table
    // under it, in the zone (UTC here).
    assert!(
        page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""),
        "no series chart"
    );
    let series = page.split("<table class=\"heat\">").next().unwrap();
    let details = series.split("<details>").nth(1).unwrap();
    assert_eq!(details.matches("<td class=\"k\">2026-11-22 1").count(), 18);
    // The hosts by hour: stacked areas of the top six, and a heat map of
    // the top 15 as a second view, shaded.
    assert!(page.contains("<table class=\"heat\">"));
    assert!(page.contains("<th colspan=\"1\">12:00</th>"), "{page}");
    assert!(page.contains("bgcolor=\"#"));
    assert!(page.contains("Second view: each key by time"));
    // The summary: facts in words and four distributions.
    assert!(page.contains("Average flow size"));
    for d in [
        "Packet size distribution",
        "Packets per flow",
        "Octets per flow",
        "Flow time distribution",
    ] {
        assert!(page.contains(&format!("<h3>{d}")), "{d}");
    }
    let html = data.path().join("page.html");
    std::fs::write(&html, &page).unwrap();
    if let Err(e) = html5_valid(&html) {
        panic!("not valid HTML5: {e}");
    }
    for v in look(&html, "config-series", &["1024", "390"]) {
        reads_well(&v, 300);
        assert_eq!(v["charts"].as_array().unwrap().len(), 2, "{v}");
    }
}

/// flow-report's layout for every kind of report, as a golden file
/// (tests/golden/report-flow-tools.txt; FLOE_BLESS=1 rewrites it). The
/// numbers in it are the tree's: 180 flows of 1 packet, 100 + i octets.
#[test]
fn flow_tools_layout_of_every_kind_matches_its_golden_file() {
    let data = tempfile::tempdir().unwrap();
    tree(data.path());
    let cfg = data.path().join("stat.cfg");
    std::fs::write(
        &cfg,
        "stat-report both\n  type ip-address\n  output\n    sort +octets\n    records 3\n    options +totals\n\n\
         stat-report ports\n  type ip-source/destination-port\n  output\n    options +names\n    fields -duration,+frecs\n\n\
         stat-report sizes\n  type packet-size\n  output\n    sort -key\n    records 6\n    tally 2\n    options +percent-total\n\n\
         stat-report peers\n  type ip-destination-address-source-count\n  output\n    sort +count\n\n\
         stat-report rates\n  type ip-protocol\n  scale 10\n  output\n    fields +bps,+pps\n    options +totals\n\n\
         stat-report prefixes\n  type ip-source-address\n  ip-source-address-format prefix-mask/28\n  output\n    sort -key\n\n\
         stat-report summary\n  type summary-detail\n\n\
         stat-definition all\n  report both\n  report ports\n  report sizes\n  report peers\n  report rates\n  report prefixes\n  report summary\n\n\
         stat-definition hours\n  time-series 3600\n  report sizes\n",
    )
    .unwrap();
    let out = report(
        &[
            "-s",
            cfg.to_str().unwrap(),
            "--all-reports",
            "--format",
            "flow-tools",
        ],
        data.path(),
    );
    check_golden("report-flow-tools.txt", &out);
    // What the how-to's scripts do with it: a `# recn:` (or rec1/rec2)
    // line names the columns (keys marked *), the lines under it split on
    // commas into as many.
    let mut recn = None;
    for line in out.lines() {
        let header = ["# recn: ", "# rec1: ", "# rec2: "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        if let Some(cols) = header {
            recn = Some(cols.split(',').count());
        } else if !line.starts_with('#') {
            assert_eq!(Some(line.split(',').count()), recn, "{line}");
        }
    }
}
