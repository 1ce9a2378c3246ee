//! The main kinds of report as a person reads them, text and one HTML
//! page, against golden files (tests/golden/; FLOE_BLESS=1 rewrites
//! them): names for numbers (TCP, 443 (https), ICMP 8.0 (echo request)),
//! titles and units in words, shares and rates, a time series as a
//! stacked area, the summary's real averages. The page is valid HTML5
//! (html5lib's strict parser).

use std::path::{Path, PathBuf};
use std::process::Command;

use floe_flow::time::utc_ms;
use floe_flow::Flow;
use floe_report::sym::Symbols;
use floe_report::words::{self, Utc};
use floe_report::{
    render_csv, render_html, render_json, render_text, HtmlReport, Report, ReportOptions,
    ReportType, Row, Show, Sort,
};

#[allow(clippy::too_many_arguments)]
fn flow(
    src: &str,
    dst: &str,
    (sp, dp, proto): (u16, u16, u8),
    octets: u64,
    packets: u64,
    start_min: i64,
    dur_s: i64,
) -> Flow {
    let start = utc_ms(2026, 12, 5, 10, 0, 0) + start_min * 60_000;
    Flow {
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        src_port: sp,
        dst_port: dp,
        protocol: proto,
        octets,
        packets,
        start_ms: start,
        end_ms: start + dur_s * 1000,
        ..Flow::default()
    }
}

/// An hour of a small office: web, DNS, SSH, pings (ICMP echo is
/// destination port 8 * 256 + 0), an ICMPv6 echo, GRE.
fn flows() -> Vec<Flow> {
    let mut v = Vec::new();
    for i in 0..40 {
        v.push(flow(
            "10.0.0.5",
            "192.0.2.80",
            (40_000 + i, 443, 6),
            20_000 + 1000 * u64::from(i),
            30 + u64::from(i),
            i64::from(i),
            90,
        ));
    }
    for i in 0..30 {
        v.push(flow(
            "10.0.0.7",
            "192.0.2.53",
            (50_000 + i, 53, 17),
            140,
            2,
            i64::from(i) * 2,
            0,
        ));
    }
    v.push(flow(
        "10.0.0.9",
        "198.51.100.22",
        (51_000, 22, 6),
        2_400_000,
        3000,
        5,
        1800,
    ));
    for i in 0..12 {
        v.push(flow("10.0.0.5", "192.0.2.1", (0, 2048, 1), 84, 1, i * 5, 0));
        v.push(flow("192.0.2.1", "10.0.0.5", (0, 0, 1), 84, 1, i * 5, 0));
    }
    v.push(flow(
        "2001:db8::5",
        "2001:db8:1::1",
        (0, 128 << 8, 58),
        104,
        1,
        30,
        0,
    ));
    v.push(flow(
        "10.0.0.1",
        "203.0.113.9",
        (0, 0, 47),
        500_000,
        400,
        0,
        3600,
    ));
    v
}

fn report(kind: &str, interval: u64) -> Report {
    let mut r = Report::with_options(
        ReportType::parse(kind).unwrap(),
        10_000,
        ReportOptions {
            interval_secs: interval,
            ..ReportOptions::default()
        },
    );
    r.add(&flows()).unwrap();
    r
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// `got` equals the golden file (FLOE_BLESS=1 writes it instead).
fn check(name: &str, got: &str) {
    let path = golden(name);
    if std::env::var_os("FLOE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (FLOE_BLESS=1 creates it)", path.display()));
    if want != got {
        let at = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name} differs from its golden file at line {} (FLOE_BLESS=1 rewrites it)\nwant: {:?}\ngot:  {:?}",
            at + 1,
            want.lines().nth(at),
            got.lines().nth(at)
        );
    }
}

/// The reports of the goldens: (type, sort, records, interval).
const KINDS: [(&str, &str, Option<usize>, u64); 6] = [
    ("ip-source-address", "+octets", Some(5), 300),
    ("ip-protocol/ip-destination-port", "+octets", Some(10), 300),
    ("ip-source/destination-address", "+flows", Some(5), 300),
    ("ip-protocol", "+octets", None, 300),
    ("time-series/ip-protocol", "-key", None, 900),
    ("summary-detail", "+octets", None, 300),
];

fn computed() -> Vec<(String, Report, Vec<Row>, Sort)> {
    KINDS
        .iter()
        .map(|(k, s, n, i)| {
            let r = report(k, *i);
            let sort = Sort::parse(s).unwrap();
            let rows = r.rows(sort, *n);
            let title = format!(
                "{}, {}",
                words::title(&r.kind, sort, *n, *i),
                words::window(
                    &Utc,
                    utc_ms(2026, 12, 5, 0, 0, 0),
                    utc_ms(2026, 12, 6, 0, 0, 0)
                )
                .unwrap()
            );
            (title, r, rows, sort)
        })
        .collect()
}

#[test]
fn the_main_kinds_as_text_for_people() {
    let sym = Symbols::builtin();
    let show = Show {
        names: Some(&sym),
        ..Show::default()
    };
    let text: Vec<String> = computed()
        .iter()
        .map(|(t, r, rows, _)| render_text(r, rows, t, &show))
        .collect();
    let text = text.join("\n");
    check("reports.txt", &text);
    for line in [
        "# Top 5 source addresses by bytes, 2026-12-05 00:00 to 24:00 (UTC)",
        "ICMP      8.0 (echo request)",
        "ICMPv6    128.0 (echo request)",
        "TCP       443 (https)",
        "UDP       53 (domain)",
        "GRE       0 ",
        "Average flow size:",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    // --numeric: numbers only.
    let numeric = render_text(&computed()[1].1, &computed()[1].2, "t", &Show::default());
    assert!(numeric.contains("\n1         2048 "), "{numeric}");
    assert!(!numeric.contains("TCP") && !numeric.contains("https"));
}

#[test]
fn the_main_kinds_as_one_html_page() {
    let sym = Symbols::builtin();
    let show = Show {
        names: Some(&sym),
        ..Show::default()
    };
    let all = computed();
    let reports: Vec<HtmlReport> = all
        .iter()
        .map(|(t, r, rows, sort)| HtmlReport {
            title: t.split(", 2026").next().unwrap(),
            report: r,
            rows,
            sort: *sort,
        })
        .collect();
    let page = render_html(
        "Reports of 2026-12-05 00:00 to 24:00 (UTC)",
        &["Flows from 2026-12-05 10:00:00 to 11:00:00 (UTC)".to_string()],
        &reports,
        &show,
    );
    check("reports.html", &page);
    for piece in [
        "ICMP 8.0 <span class=\"nm\">echo request</span>",
        "TCP 443 <span class=\"nm\">https</span>",
        "<th class=\"bar\">bytes</th>",
        "<th class=\"bar\">flows</th>",
        "class=\"chart\"",
        "Average flow size",
    ] {
        assert!(page.contains(piece), "{piece:?}");
    }
    let file = std::env::temp_dir().join(format!("floe-report-golden-{}.html", std::process::id()));
    std::fs::write(&file, &page).unwrap();
    let out = Command::new(floe_test_support::python3())
        .args([
            "-c",
            "import sys, html5lib; html5lib.HTMLParser(strict=True).parse(open(sys.argv[1], 'rb'))",
        ])
        .arg(&file)
        .output()
        .expect("python3 with html5lib is a test prerequisite (scripts/test checks it)");
    std::fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "not valid HTML5: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CSV and JSON keep the numbers and add the names beside them (CSV
/// last, so that columns keep their places); none with --numeric.
#[test]
fn csv_and_json_keep_numbers_and_add_names() {
    let sym = Symbols::builtin();
    let named = Show {
        names: Some(&sym),
        ..Show::default()
    };
    let r = report("ip-protocol/ip-destination-port", 300);
    let sort = Sort::parse("+flows").unwrap();
    let rows = r.rows(sort, None);
    let csv = render_csv(&r, &rows, &named);
    assert!(csv.starts_with(
        "ip-protocol,ip-destination-port,flows,octets,packets,duration_ms,octets_pct,flows_pct,ip-protocol-name,ip-destination-port-name\n"
    ));
    assert!(csv.contains("\n1,2048,12,1008,12,0,"), "{csv}");
    assert!(csv.contains(",ICMP,8.0 echo request\n"), "{csv}");
    assert!(csv.contains(",TCP,https\n"), "{csv}");
    assert!(csv.contains(",GRE,\n"), "{csv}");
    let plain = render_csv(&r, &rows, &Show::default());
    assert!(plain.starts_with(
        "ip-protocol,ip-destination-port,flows,octets,packets,duration_ms,octets_pct,flows_pct\n"
    ));
    let j = render_json(&r, &rows, sort, None, &named);
    let icmp = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ip-protocol"] == 1 && x["ip-destination-port"] == 2048)
        .unwrap();
    assert_eq!(icmp["ip-protocol-name"], "ICMP");
    assert_eq!(icmp["ip-destination-port-name"], "8.0 echo request");
    let gre = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ip-protocol"] == 47)
        .unwrap();
    assert!(gre.get("ip-destination-port-name").is_none(), "{gre}");
    let j = render_json(&r, &rows, sort, None, &Show::default());
    assert!(j["rows"][0].get("ip-protocol-name").is_none());
}
