//! `floe web`, the real binary on 127.0.0.1 over a store written here:
//! every page and the JSON and CSV of a graph show what the store's flows
//! add up to (computed here from the same flows); bad parameters, filters
//! that do not compile, ranges too long and unknown routes get the right
//! status and the reason; no request path reads outside the store;
//! authentication; the refusal to serve beyond this host without it; the
//! cache of partial answers (and its deletion while the server runs); the
//! live page with and without floed; the alerts page over `floe alert`'s
//! state; and, for the same query, the graph's
//! JSON answer equals `floe report --series`'s, series by series, and its
//! CSV the report's CSV.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::web::*;
use common::FLOE;

/// The graph's parameters over the whole store.
fn graph_params(s: &Store, extra: &[(&str, &str)]) -> String {
    let (from, to) = (minute(s.from_ms), minute(s.to_ms));
    let mut p = vec![
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("interval", "10m"),
    ];
    p.extend_from_slice(extra);
    query(&p)
}

/// Every response carries a policy that allows nothing from elsewhere.
fn check_headers(r: &Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy: {:?}", r.headers));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("http") && !csp.contains('*'),
        "{what}: a source elsewhere: {csp}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

/// (interval start, series label) -> octets, from the store's flows.
fn octets_per_interval(s: &Store, interval_ms: i64) -> BTreeMap<(i64, String), u64> {
    let mut m = BTreeMap::new();
    for f in &s.flows {
        let start = f.start_ms.div_euclid(interval_ms) * interval_ms;
        *m.entry((start, f.src_addr.to_string())).or_default() += f.octets;
    }
    m
}

#[test]
fn the_graph_its_json_and_csv_show_the_stores_top_sources() {
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    let by_src = s.totals_by(|_| true, |f| f.src_addr.to_string());
    assert_eq!(by_src.len(), SOURCES as usize);
    assert_eq!(by_src[0].0, "10.1.0.1");
    let per = octets_per_interval(&s, 600_000);
    let p = graph_params(&s, &[("n", "5"), ("unit", "bytes")]);

    // JSON: the query, how it is shown, and the answer, series by series.
    let r = web.get(&format!("/api/graph.json?{p}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        r.headers
    );
    check_headers(&r, "json");
    let doc = r.json();
    assert_eq!(doc["query"]["key"], "ip-source-address");
    assert_eq!(doc["query"]["top"], 5);
    assert_eq!(doc["unit"], "bytes");
    let a = &doc["answer"];
    assert_eq!(a["from_ms"], s.from_ms);
    assert_eq!(a["to_ms"], s.to_ms);
    assert_eq!(a["interval_ms"], 600_000);
    let starts: Vec<i64> = a["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(starts.len() as i64, HOURS * 6);
    assert_eq!(starts[0], s.from_ms);
    let series = a["series"].as_array().unwrap();
    let labels: Vec<&str> = series
        .iter()
        .map(|x| x["label"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = by_src[..5].iter().map(|x| x.0.as_str()).collect();
    assert_eq!(labels, want);
    for (x, (label, flows, packets, octets)) in series.iter().zip(&by_src) {
        assert_eq!(x["key"], serde_json::json!([label]), "{label}");
        assert_eq!(x["totals"]["flows"], *flows, "{label}");
        assert_eq!(x["totals"]["packets"], *packets, "{label}");
        assert_eq!(x["totals"]["octets"], *octets, "{label}");
        let values: Vec<u64> = x["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["octets"].as_u64().unwrap())
            .collect();
        let expect: Vec<u64> = starts
            .iter()
            .map(|t| per.get(&(*t, label.clone())).copied().unwrap_or(0))
            .collect();
        assert_eq!(values, expect, "{label}");
        assert_eq!(x["stats"]["min"], *expect.iter().min().unwrap(), "{label}");
        assert_eq!(x["stats"]["max"], *expect.iter().max().unwrap(), "{label}");
        assert_eq!(x["stats"]["total"], *octets, "{label}");
    }
    let rest: u64 = by_src[5..].iter().map(|x| x.3).sum();
    let all: u64 = by_src.iter().map(|x| x.3).sum();
    assert_eq!(a["other"]["label"], "other");
    assert_eq!(a["other"]["totals"]["octets"], rest);
    assert_eq!(a["total"]["totals"]["octets"], all);
    assert_eq!(a["total"]["totals"]["flows"], s.flows.len());
    assert_eq!(a["stats"]["files"], HOURS * 6);
    assert_eq!(a["stats"]["errors"], serde_json::json!([]));

    // CSV: a header, then per interval each series, other and total.
    let r = web.get(&format!("/api/graph.csv?{p}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    let mut lines = r.body.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column: {header:?}"))
    };
    let (c_series, c_octets, c_flows) = (col("series"), col("octets"), col("flows"));
    let mut csv: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), header.len(), "{l}");
        csv.insert(
            (f[0].to_string(), f[c_series].to_string()),
            (f[c_flows].parse().unwrap(), f[c_octets].parse().unwrap()),
        );
    }
    assert_eq!(csv.len(), starts.len() * 7, "5 series, other and total");
    for t in &starts {
        let iso = floe_flow::time::format_utc_ms(*t);
        let mut sum = 0;
        for (label, ..) in &by_src {
            sum += per.get(&(*t, label.clone())).copied().unwrap_or(0);
        }
        let mut top = 0;
        for label in &want {
            let v = per.get(&(*t, label.to_string())).copied().unwrap_or(0);
            top += v;
            assert_eq!(csv[&(iso.clone(), label.to_string())].1, v, "{iso} {label}");
        }
        assert_eq!(csv[&(iso.clone(), "other".into())].1, sum - top, "{iso}");
        assert_eq!(csv[&(iso.clone(), "total".into())].1, sum, "{iso}");
        assert_eq!(
            csv[&(iso.clone(), "total".into())].0,
            SOURCES as u64 * 10,
            "{iso}"
        );
    }

    // The page: a title that reads, the form, the chart's data source,
    // the table of series largest first with details links, and the
    // links to exactly this data.
    let r = web.get(&format!("/graph?{p}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    check_headers(&r, "graph");
    let title = r.title();
    assert!(
        title.starts_with("Top 5 source addresses by bytes per interval, ")
            && title.contains(&minute(s.from_ms))
            && title.contains(&minute(s.to_ms)),
        "{title}"
    );
    let b = &r.body;
    assert!(
        b.contains("<div id=\"chart\" data-src=\"/api/graph.json?"),
        "{b}"
    );
    assert!(b.contains("href=\"/api/graph.csv?"), "{b}");
    let mut at = 0;
    for label in &want {
        let link = format!(
            "href=\"/details?key=ip-source-address&amp;value={}",
            enc(label)
        );
        let i = b[at..]
            .find(&link)
            .unwrap_or_else(|| panic!("{label} not in order in the table:\n{b}"));
        at += i;
    }
    assert!(!b.contains(">10.1.0.6<"), "the sixth is in other:\n{b}");
    assert!(b.contains(">other<") && b.contains(">total<"), "{b}");
    assert!(b.contains("<option value=\"ip-source-address\" selected>"));
    assert!(b.contains("<option value=\"bytes\" selected>"));

    // The page's JSON link gives the same answer as asked directly.
    let src = b
        .split("data-src=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let again = web.get(&src).json();
    assert_eq!(again["answer"]["series"], a["series"], "{src}");

    // `/` with no parameters: the top 10 sources by bits/s over the last
    // 24 hours (the store lies within them), with its CSV and JSON links.
    let r = web.get("/");
    assert_eq!(r.status, 200, "{}", r.body);
    let title = r.title();
    assert!(
        title.starts_with("Top 10 source addresses by bits/s, "),
        "{title}"
    );
    for (label, ..) in &by_src[..10] {
        assert!(
            r.body.contains(&format!(">{label}<")),
            "{label}: {}",
            r.body
        );
    }
    assert!(!r.body.contains(">10.1.0.11<"), "{}", r.body);
    assert!(r.body.contains("CSV of this graph") && r.body.contains("JSON of this graph"));
    let json = r
        .body
        .split("href=\"/api/graph.json?")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let d = web.get(&format!("/api/graph.json?{json}")).json();
    assert_eq!(d["unit"], "bits");
    assert_eq!(d["answer"]["total"]["totals"]["flows"], s.flows.len());

    // Other keys, units and a filter.
    let p = graph_params(
        &s,
        &[
            ("key", "ip-destination-port"),
            ("unit", "packets"),
            ("filter", "proto tcp"),
            ("view", "lines"),
        ],
    );
    let d = web.get(&format!("/api/graph.json?{p}")).json();
    // Ranked by the unit's measure: packets (22 first), not bytes (443).
    let mut by_port = s.totals_by(|f| f.protocol == 6, |f| f.dst_port.to_string());
    by_port.sort_by_key(|x| std::cmp::Reverse(x.2));
    assert_eq!(by_port[0].0, "22");
    let got: Vec<(String, u64)> = d["answer"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["label"].as_str().unwrap().to_string(),
                x["totals"]["octets"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = by_port.iter().map(|x| (x.0.clone(), x.3)).collect();
    assert_eq!(got, want, "53 is udp: filtered out");
    assert_eq!(d["stacked"], false);
    assert_eq!(d["unit"], "packets");
    assert_eq!(d["answer"]["measure"], "packets");
    let r = web.get(&format!("/graph?{p}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.title()
            .starts_with("Top 10 destination ports by packets/s, "),
        "{}",
        r.title()
    );
    assert!(
        r.body.contains("value=\"proto tcp\""),
        "the filter stays in its field"
    );

    // Exporters as a parameter.
    let p = graph_params(&s, &[("exporter", LOSSY)]);
    let d = web.get(&format!("/api/graph.json?{p}")).json();
    let lossy = s.totals_by(|f| f.exporter.to_string() == LOSSY, |_| String::new());
    assert_eq!(d["answer"]["total"]["totals"]["octets"], lossy[0].3);
}

#[test]
fn details_hosts_days_exporters_and_assets() {
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    let (from, to) = (minute(s.from_ms), minute(s.to_ms));

    // Details of 10.1.0.2: whom it sent to, on which port, through which
    // exporter and interface; and the drill-down into the graph's filter.
    let r = web.get(&format!(
        "/details?{}",
        query(&[
            ("key", "ip-source-address"),
            ("value", "10.1.0.2"),
            ("from", &from),
            ("to", &to),
        ])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    check_headers(&r, "details");
    assert!(r.title().contains("10.1.0.2"), "{}", r.title());
    let b = &r.body;
    let section = |name: &str| -> String {
        let at = b
            .find(&format!("<h2>{name}</h2>"))
            .unwrap_or_else(|| panic!("no section {name}:\n{b}"));
        let rest = &b[at..];
        rest[..rest.find("</section>").unwrap_or(rest.len())].to_string()
    };
    let one = |name: &str, want: &str, not: &str| {
        let t = section(name);
        assert!(t.contains(&format!(">{want}<")), "{name}: {t}");
        assert!(!t.contains(&format!(">{not}<")), "{name}: {t}");
    };
    one("Peers it sent to", &dst(1).to_string(), &dst(0).to_string());
    // Ports as people read them, with their service names.
    one("Destination ports", "80 (http)", "443 (https)");
    one("Exporters", LOSSY, "192.0.2.1");
    one("Input interfaces", "2", "1");
    one("Protocols", "TCP", "UDP");
    assert!(b.contains("100.0%"), "{b}");
    let drill = b
        .split("class=\"button\" href=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .unwrap_or_else(|| panic!("no drill-down button:\n{b}"))
        .replace("&amp;", "&");
    assert!(
        drill.starts_with("/graph?")
            && drill.contains(&format!("filter={}", enc("src host 10.1.0.2"))),
        "{drill}"
    );
    // The drill-down graph shows only 10.1.0.2's traffic.
    let r = web.get(&drill.replace("/graph?", "/api/graph.json?"));
    assert_eq!(r.status, 200, "{drill}: {}", r.body);
    let own = s.totals_by(|f| f.src_addr == src(1), |_| String::new());
    assert_eq!(r.json()["answer"]["total"]["totals"]["octets"], own[0].3);

    // A conversation's details.
    let r = web.get(&format!(
        "/details?{}",
        query(&[
            ("key", "ip-source-address/ip-destination-address"),
            ("value", &format!("{} {}", src(4), dst(4))),
            ("from", &from),
            ("to", &to),
        ])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("src host {} and dst host {}", src(4), dst(4))),
        "{}",
        r.body
    );

    // Hosts by month: the form, then a network's hosts, largest first.
    let m = month(s.from_ms);
    let r = web.get("/hosts");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<input name=\"net\""), "{}", r.body);
    let r = web.get(&format!(
        "/hosts?{}",
        query(&[("net", "10.1.0.0/24"), ("month", &m)])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.title(), format!("Hosts of 10.1.0.0/24 in {m} — floe"));
    let mut at = 0;
    for i in 0..SOURCES {
        let link = format!(
            "href=\"/hosts/host?addr={}&amp;net=10.1.0.0%2F24&amp;month={m}\"",
            src(i)
        );
        at += r.body[at..]
            .find(&link)
            .unwrap_or_else(|| panic!("{} not in order:\n{}", src(i), r.body));
    }
    assert!(r.body.contains("12 hosts"), "{}", r.body);
    // The destinations' network: traffic in.
    let r = web.get(&format!(
        "/hosts?{}",
        query(&[("net", "198.51.100.0/24"), ("month", &m)])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("3 hosts"), "{}", r.body);

    // A host's month: a row per day, 144 cells a day, coloured where it
    // sent (18 ten-minute cells) and blank where it received nothing.
    let r = web.get(&format!(
        "/hosts/host?{}",
        query(&[("addr", "10.1.0.3"), ("net", "10.1.0.0/24"), ("month", &m)])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.title(), format!("10.1.0.3 in {m} (UTC) — floe"));
    let b = &r.body;
    let (inbound, outbound) = b
        .split_once("<h2>Out (from 10.1.0.3)")
        .unwrap_or_else(|| panic!("no Out table:\n{b}"));
    let coloured = |t: &str| {
        t.matches("class=\"c c")
            .zip(t.split("class=\"c c").skip(1))
            .filter(|(_, rest)| !rest.starts_with('0'))
            .count()
    };
    let (y, mo) = (
        m[..4].parse::<i64>().unwrap(),
        m[5..].parse::<u32>().unwrap(),
    );
    let (ny, nm) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    let days = (floe_flow::time::utc_ms(ny, nm, 1, 0, 0, 0)
        - floe_flow::time::utc_ms(y, mo, 1, 0, 0, 0))
        / 86_400_000;
    assert_eq!(
        outbound.matches("class=\"c c").count() as i64,
        days * 144,
        "a cell per 10 minutes of every day"
    );
    assert_eq!(coloured(outbound), (HOURS * 6) as usize);
    assert_eq!(coloured(inbound), 0);
    // Hourly cells.
    let r = web.get(&format!(
        "/hosts/host?{}",
        query(&[("addr", "10.1.0.3"), ("month", &m), ("cells", "1h")])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.body.split_once("<h2>Out").unwrap().1;
    assert_eq!(out.matches("class=\"c c").count() as i64, days * 24);
    assert_eq!(coloured(out), HOURS as usize);

    // Days: the list, and the day's page as `floe report --daily` makes it.
    let d = day(s.from_ms);
    let r = web.get("/days");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(&format!("href=\"/days/{d}\"")),
        "{}",
        r.body
    );
    let r = web.get(&format!("/days/{d}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.title().contains(&d), "{}", r.title());
    assert!(r.body.contains("10.1.0.1"), "the top source");
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );

    // Exporters: the one that lost flows first, with its loss.
    let r = web.get("/exporters");
    assert_eq!(r.status, 200, "{}", r.body);
    check_headers(&r, "exporters");
    let b = &r.body;
    let lossy = b.find(&format!("<h2>{LOSSY} (source id 0)")).expect(b);
    let fine = b.find("<h2>192.0.2.1 (source id 0)").expect(b);
    assert!(lossy < fine, "problems first:\n{b}");
    // Named as the reports name it (floe_report::health).
    assert!(b.contains(&format!("{LOST} lost flows (")), "{b}");
    let r = web.get("/exporters?days=30");
    assert_eq!(r.status, 200);
    assert!(
        r.title().starts_with("Exporters, last 30 days"),
        "{}",
        r.title()
    );

    // The embedded assets, and nothing else under /static.
    for (name, kind, has) in [
        ("uplot.js", "text/javascript", "uPlot"),
        ("uplot.css", "text/css", ".uplot"),
        ("uplot-LICENSE.txt", "text/plain", "The MIT License"),
        ("floe.js", "text/javascript", "dataset.src"),
        ("floe.css", "text/css", ".cal"),
    ] {
        let r = web.get(&format!("/static/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{name}"
        );
        assert!(r.body.contains(has), "{name}");
        check_headers(&r, name);
    }
    assert_eq!(web.get("/static/uplot.min.js").status, 404);
    // Pages name no icon, and the browser's guess is answered quietly.
    assert_eq!(web.get("/favicon.ico").status, 204);
}

/// The status and body of `target`, which must be `status` and say `says`.
fn refused(web: &Web, target: &str, status: u16, says: &str) -> Resp {
    let r = web.get(target);
    assert_eq!(r.status, status, "{target}: {}", r.body);
    let text = if target.starts_with("/api/graph.json") {
        r.json()["error"].as_str().unwrap().to_string()
    } else {
        r.body.replace("&quot;", "\"")
    };
    assert!(text.contains(says), "{target}: wanted {says:?} in:\n{text}");
    r
}

#[test]
fn bad_parameters_and_unknown_routes_say_why() {
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    for (target, says) in [
        ("/graph?bogus=1", "unknown parameter \"bogus\""),
        ("/graph?unit=furlongs", "unit \"furlongs\""),
        (
            "/api/graph.json?unit=furlongs",
            "bits, packets, flows or bytes",
        ),
        ("/graph?n=51", "from 1 to 50"),
        ("/graph?n=0", "from 1 to 50"),
        ("/api/graph.csv?n=1000", "from 1 to 50"),
        ("/graph?interval=0", "interval \"0\""),
        ("/api/graph.json?interval=0m", "interval \"0m\""),
        ("/graph?interval=30s", "interval \"30s\""),
        ("/graph?view=pie", "view \"pie\""),
        ("/graph?range=forever", "range \"forever\""),
        ("/graph?from=yesterday", "from \"yesterday\""),
        ("/graph?exporter=router1", "exporter \"router1\""),
        ("/graph?prefix=40", "prefix \"40\""),
        (
            "/graph?from=2026-11-02&to=2026-11-01",
            "ends before it starts",
        ),
        ("/graph?key=summary-detail", "not a key a graph can have"),
        (
            "/graph?key=no-such-key",
            "unknown report type \"no-such-key\"",
        ),
        ("/graph?filter=%ff", "not valid percent-encoded UTF-8"),
        // Times a year 1970 to 9999 cannot hold (and that overflowed).
        (
            "/graph?from=-9223372036854775808&to=9223372036854775807",
            "from \"-9223372036854775808\"",
        ),
        (
            "/graph?from=9223372036854775000&to=9223372036854775807",
            "from \"9223372036854775000\"",
        ),
        (
            "/api/graph.json?from=9223372036854775000&to=9223372036854775807",
            "from \"9223372036854775000\"",
        ),
        ("/details?key=ip-source-address", "a key and a value"),
        (
            "/details?key=ip-source-address&value=10.0.0.1%20or%20any",
            "value",
        ),
        (
            "/details?key=ip-source-address&value=10.0.0.1&to=99999999999999999",
            "to \"99999999999999999\"",
        ),
        ("/details?key=time-series&value=1", "no details"),
        ("/hosts?net=10.0.0.0/8", "at most 65536 hosts"),
        ("/hosts?net=banana", "a network such as 10.0.0.0/24"),
        ("/hosts?net=10.1.0.0/24&month=2026-13", "month \"2026-13\""),
        ("/hosts/host", "addr"),
        ("/hosts/host?addr=10.1.0.300", "addr \"10.1.0.300\""),
        ("/hosts/host?addr=10.1.0.1&cells=5m", "cells \"5m\""),
        ("/exporters?days=0", "days \"0\""),
        ("/exporters?days=7&x=1", "unknown parameter"),
        ("/days/2026-02-30", "\"2026-02-30\" is not a day"),
    ] {
        let r = refused(&web, target, 400, says);
        if target.starts_with("/api/graph.json") {
            assert!(
                r.json()["error"].as_str().unwrap().contains(says),
                "{target}"
            );
        }
        assert!(
            !r.body.contains("Filter: "),
            "{target}: not a filter error: {}",
            r.body
        );
    }

    // A filter that does not compile: the graph page keeps the form with
    // the filter as typed, and says where it is wrong.
    let bad = "proto tcp and dst prot 443";
    let r = refused(
        &web,
        &format!("/graph?{}", query(&[("filter", bad)])),
        400,
        "line 1, column 20: unknown filter test \"prot\"",
    );
    assert!(r.body.contains(&format!("value=\"{bad}\"")), "{}", r.body);
    assert!(r.body.contains("<form"), "{}", r.body);
    for api in ["json", "csv"] {
        let r = refused(
            &web,
            &format!("/api/graph.{api}?{}", query(&[("filter", bad)])),
            400,
            "line 1, column 20",
        );
        if api == "json" {
            assert!(r.json()["error"]
                .as_str()
                .unwrap()
                .contains("line 1, column 20"));
        }
    }
    refused(
        &web,
        &format!(
            "/graph?{}",
            query(&[("filter", "src host 10.1.0.1 and (proto")])
        ),
        400,
        "line 1, column",
    );

    // Ten years at once: refused with the reason, as page and as JSON.
    for target in [
        "/graph?from=2016-01-01&to=2026-01-01",
        "/api/graph.json?from=2016-01-01&to=2026-01-01&interval=1d",
        "/api/graph.csv?from=2016-01-01&to=2026-01-01",
        "/details?key=ip-source-address&value=10.1.0.1&from=2016-01-01&to=2026-01-01",
    ] {
        let r = refused(&web, target, 400, "a range of 3653 days: at most 400 days");
        assert!(!r.body.contains("Filter: "), "{target}: {}", r.body);
    }
    refused(
        &web,
        "/graph?from=2026-01-01&to=2026-03-01&interval=1m",
        400,
        "at most 10000",
    );

    // Unknown routes.
    for target in [
        "/nope",
        "/graph/more",
        "/api/graph.xml",
        "/api",
        "/static/",
        "/static/nothing.js",
        "/days/2026-11-22/more",
        "/hosts/host/10.1.0.1",
        "/index.html",
    ] {
        let r = web.get(target);
        assert_eq!(r.status, 404, "{target}: {}", r.body);
        check_headers(&r, target);
    }
    // A day without flows is not there.
    refused(&web, "/days/1999-01-01", 404, "no flows");

    // Still serving after all that.
    assert_eq!(
        web.get(&format!("/api/graph.json?{}", graph_params(&s, &[])))
            .status,
        200
    );
}

#[test]
fn no_request_reads_outside_the_store() {
    let s = Store::new();
    // A secret beside the store, and one in the directory above it.
    let marker = "NOT-FOR-BROWSERS-7f3a";
    std::fs::write(s.dir.path().join("secret.txt"), marker).unwrap();
    std::fs::write(s.root.join("secret.txt"), marker).unwrap();
    let before = listing(&s.root);
    let web = Web::start(&s.root, &[]);
    let d = day(s.from_ms);
    for target in [
        "/static/../secret.txt".to_string(),
        "/static/..%2fsecret.txt".into(),
        "/static/..%2f..%2fsecret.txt".into(),
        "/static/%2e%2e%2fsecret.txt".into(),
        "/static/%2e%2e/%2e%2e/secret.txt".into(),
        "/static/%2fetc%2fpasswd".into(),
        "/static//etc/passwd".into(),
        "/static/secret.txt".into(),
        "/static/..%5csecret.txt".into(),
        "/static/%252e%252e%252fsecret.txt".into(),
        "/static/floe.js%00.txt".into(),
        "/days/..%2fsecret.txt".into(),
        "/days/..%2f..%2fsecret.txt".into(),
        "/days/%2e%2e".into(),
        "/days/..".into(),
        "/days/../secret.txt".into(),
        "/days/%2fetc%2fpasswd".into(),
        format!("/days/{d}%2f..%2f..%2fsecret.txt"),
        format!("/days/{d}/../../secret.txt"),
        "/../secret.txt".into(),
        "/%2e%2e/secret.txt".into(),
        "/secret.txt".into(),
        "/etc/passwd".into(),
        "//etc/passwd".into(),
        "/hosts?month=..%2f..%2fsecret".into(),
        format!("/graph?{}", query(&[("filter", "@include ../secret.txt")])),
        format!("/graph?{}", query(&[("filter", "@include /etc/passwd")])),
        format!(
            "/api/graph.json?{}",
            query(&[("filter", "@include /etc/passwd")])
        ),
        format!("/graph?{}", query(&[("key", "../../secret.txt")])),
    ] {
        let r = web.get(&target);
        assert!(
            r.status == 400 || r.status == 404,
            "{target}: {} {}",
            r.status,
            r.body
        );
        assert!(
            !r.body.contains(marker),
            "{target} read the secret: {}",
            r.body
        );
        assert!(
            !r.body.contains("root:"),
            "{target} read /etc/passwd: {}",
            r.body
        );
    }
    // Filters from a browser may not read files at all.
    refused(
        &web,
        &format!("/graph?{}", query(&[("filter", "@include /etc/passwd")])),
        400,
        "@include is not allowed here",
    );
    // And it wrote nothing into the store but its cache.
    assert_eq!(listing(&s.root), before);
}

/// The files under `root` but the cache's, with their sizes.
fn listing(root: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with(".floe-cache") {
                    dirs.push(p);
                }
            } else {
                out.push((p.clone(), std::fs::metadata(&p).unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

/// `floe web --add-user NAME --auth FILE` with the password on stdin.
fn add_user(file: &std::path::Path, name: &str, password: &str) {
    let mut c = Command::new(FLOE)
        .args(["web", "--add-user", name, "--auth"])
        .arg(file)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn basic(user: &str, password: &str) -> String {
    // Base64 by hand: the test needs no crate for it.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

#[test]
fn users_and_passwords_when_auth_is_on() {
    let s = Store::new();
    let users = s.dir.path().join("web-users");
    add_user(&users, "noc", "correct horse");
    add_user(&users, "ops", "battery staple");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.contains("noc:$argon2") && !text.contains("correct horse"),
        "{text}"
    );
    let auth = users.to_str().unwrap();
    let web = Web::start(&s.root, &["--auth", auth]);
    for target in ["/", "/static/floe.css", "/api/graph.json", "/nope"] {
        let r = web.get(target);
        assert_eq!(r.status, 401, "{target}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Basic realm="),
            "{target}: {:?}",
            r.headers
        );
        let wrong = basic("noc", "battery staple");
        let r = web.get_with(target, &[("Authorization", &wrong)]);
        assert_eq!(r.status, 401, "{target}: another user's password");
        let r = web.get_with(target, &[("Authorization", &basic("nobody", "x"))]);
        assert_eq!(r.status, 401, "{target}: no such user");
        let r = web.get_with(target, &[("Authorization", "Basic !!!")]);
        assert_eq!(r.status, 401, "{target}: not base64");
    }
    let right = basic("noc", "correct horse");
    let r = web.get_with("/", &[("Authorization", &right)]);
    assert_eq!(r.status, 200, "{}", r.body);
    // A login remembered lets in that login only.
    assert_eq!(web.get_with("/", &[("Authorization", &right)]).status, 200);
    let wrong = basic("noc", "correct horsE");
    assert_eq!(web.get_with("/", &[("Authorization", &wrong)]).status, 401);
    assert_eq!(web.get("/").status, 401);
    assert!(
        r.title().starts_with("Top 10 source addresses"),
        "{}",
        r.title()
    );
    let r = web.get_with("/nope", &[("Authorization", &right)]);
    assert_eq!(r.status, 404);
    let r = web.get_with(
        "/static/floe.css",
        &[("Authorization", &basic("ops", "battery staple"))],
    );
    assert_eq!(r.status, 200);
    // A password changed with --add-user takes effect at the next start.
    add_user(&users, "noc", "new one");
    drop(web);
    let web = Web::start(&s.root, &["--auth", auth]);
    assert_eq!(web.get_with("/", &[("Authorization", &right)]).status, 401);
    let r = web.get_with("/", &[("Authorization", &basic("noc", "new one"))]);
    assert_eq!(r.status, 200);
    assert!(web.log().contains("authentication"), "{}", web.log());

    // An empty password and an empty users file are refused.
    let out = Command::new(FLOE)
        .args(["web", "--add-user", "x", "--auth"])
        .arg(&users)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    let empty = s.dir.path().join("no-users");
    std::fs::write(&empty, "# nobody yet\n").unwrap();
    let e = Web::try_start(
        &s.root,
        &["--listen", "127.0.0.1:0", "--auth", empty.to_str().unwrap()],
    )
    .err()
    .expect("started with nobody allowed in");
    assert!(e.contains("no user") && e.contains("--add-user"), "{e}");
}

#[test]
fn beyond_this_host_it_wants_users_or_no_auth_on_purpose() {
    let s = Store::new();
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let e = Web::try_start(&s.root, &["--listen", listen])
            .err()
            .unwrap_or_else(|| panic!("{listen}: served without users"));
        assert!(
            e.contains("--auth FILE") && e.contains("--no-auth") && e.contains(listen),
            "{e}"
        );
        assert!(e.contains("exit status: 2"), "{e}");
    }
    // On purpose: it starts and says so.
    let web = Web::try_start(&s.root, &["--listen", "0.0.0.0:0", "--no-auth"]).unwrap();
    assert!(
        web.log().contains("without authentication"),
        "{}",
        web.log()
    );
    drop(web);
    // With users: it starts and says so.
    let users = s.dir.path().join("users");
    add_user(&users, "noc", "pw");
    let web = Web::try_start(
        &s.root,
        &["--listen", "0.0.0.0:0", "--auth", users.to_str().unwrap()],
    )
    .unwrap();
    assert!(web.log().contains("authentication"), "{}", web.log());
    // --auth and --no-auth at once make no sense.
    let e = Web::try_start(
        &s.root,
        &[
            "--listen",
            "0.0.0.0:0",
            "--no-auth",
            "--auth",
            users.to_str().unwrap(),
        ],
    )
    .err()
    .unwrap();
    assert!(e.contains("cannot be used with"), "{e}");
}

fn stats(d: &serde_json::Value) -> (u64, u64, u64) {
    let s = &d["answer"]["stats"];
    (
        s["files"].as_u64().unwrap(),
        s["cached"].as_u64().unwrap(),
        s["flows_read"].as_u64().unwrap(),
    )
}

#[test]
fn closed_ranges_come_from_the_cache_which_may_be_deleted_any_time() {
    let s = Store::new();
    let cache = s.dir.path().join("cache");
    let web = Web::start(&s.root, &["--cache", cache.to_str().unwrap()]);
    let files = (HOURS * 6) as u64;
    let n = s.flows.len() as u64;
    let ask = |from: i64, to: i64| {
        let r = web.get(&format!(
            "/api/graph.json?{}",
            query(&[
                ("from", &minute(from)),
                ("to", &minute(to)),
                ("interval", "10m"),
                ("n", "3"),
            ])
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    };
    let total = |d: &serde_json::Value| d["answer"]["total"]["totals"]["octets"].as_u64().unwrap();
    let want = |from: i64, to: i64| -> u64 {
        s.flows
            .iter()
            .filter(|f| f.start_ms >= from && f.start_ms < to)
            .map(|f| f.octets)
            .sum()
    };
    // Cold: every file read.
    let a = ask(s.from_ms, s.to_ms);
    assert_eq!(stats(&a), (files, 0, n));
    assert_eq!(total(&a), want(s.from_ms, s.to_ms));
    assert!(std::fs::read_dir(&cache).unwrap().count() as u64 >= files);
    // The same again: no flow read, and the answer says so.
    let b = ask(s.from_ms, s.to_ms);
    assert_eq!(stats(&b), (files, files, 0));
    assert_eq!(b["answer"]["series"], a["answer"]["series"]);
    // Another range of the same shape: each file's partial answer.
    let c = ask(s.from_ms + 3_600_000, s.to_ms);
    let (f, cached, read) = stats(&c);
    assert_eq!((cached, read), (f, 0), "{c}");
    assert_eq!(total(&c), want(s.from_ms + 3_600_000, s.to_ms));
    // The cache goes away while the server runs: answers go on, right,
    // and the cache fills again.
    std::fs::remove_dir_all(&cache).unwrap();
    let d = ask(s.from_ms + 600_000, s.to_ms);
    let (_, cached, read) = stats(&d);
    assert_eq!(cached, 0);
    assert!(read > 0);
    assert_eq!(total(&d), want(s.from_ms + 600_000, s.to_ms));
    assert!(cache.is_dir(), "the cache is made again");
    let e = ask(s.from_ms + 1_200_000, s.to_ms);
    let (f, cached, read) = stats(&e);
    assert_eq!((cached, read), (f, 0), "{e}");
    assert_eq!(total(&e), want(s.from_ms + 1_200_000, s.to_ms));
    // The page says where its answer came from.
    let r = web.get(&format!("/graph?{}", graph_params(&s, &[("n", "3")])));
    assert!(
        r.body.contains(&format!(
            "{files} files, {files} answered from the cache, 0 flows read"
        )),
        "{}",
        r.body
    );
}

/// The first server-sent event of `target`, as JSON.
fn first_event(web: &Web, target: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(web.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        if let Some(data) = text.split("\ndata:").nth(1) {
            if let Some(line) = data.split('\n').next().filter(|_| data.contains('\n')) {
                return serde_json::from_str(line.trim()).unwrap();
            }
        }
    }
    panic!("no event: {}", String::from_utf8_lossy(&got));
}

#[test]
fn live_page_with_floed_and_without() {
    // No floed: the page is not there, and says why.
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    for target in ["/live", "/api/live"] {
        refused(&web, target, 404, "live socket");
    }
    drop(web);
    let missing = s.dir.path().join("no.sock");
    let web = Web::start(&s.root, &["--live-socket", missing.to_str().unwrap()]);
    for target in ["/live", "/api/live"] {
        refused(&web, target, 404, "live socket");
    }
    drop(web);

    // floed running on the store: the page, and its events.
    let dir = tempfile::tempdir().unwrap();
    let floed = common::Floed::start(dir.path());
    let web = Web::start(&dir.path().join("flows"), &[]);
    let r = web.get("/live");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("data-src=\"/api/live\""), "{}", r.body);
    // The page's first look starts floed's talkers, and says since when.
    let e = first_event(&web, "/api/live");
    assert_eq!(e["ok"], true, "{e}");
    let since = e["snapshot"]["talkers_since_ms"].as_i64().expect("since");
    common_send(floed.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = first_event(&web, "/api/live");
        assert_eq!(e["ok"], true, "{e}");
        if e["snapshot"]["totals"]["flows"].as_u64() >= Some(100) {
            assert_eq!(e["snapshot"]["talkers_since_ms"].as_i64(), Some(since));
            let src = e["snapshot"]["talkers"]["src"].as_array().unwrap();
            assert_eq!(src.len(), 10, "{e}");
            break;
        }
        assert!(Instant::now() < deadline, "{e}");
        std::thread::sleep(Duration::from_millis(300));
    }
    floed.stop();
}

/// A stop with a live page open ends within a few seconds: the page's
/// event stream, which lasts as long as the page, is cut after the drain
/// (floe_web::DRAIN_AT_STOP) instead of holding the stop until systemd's
/// TimeoutStopSec kills the server.
#[test]
fn a_stop_does_not_wait_for_a_live_page() {
    let s = Store::new();
    // Any file there will do for the socket: the stream says each second
    // that it cannot ask it, and stays open.
    let socket = s.dir.path().join("not-a-socket");
    std::fs::write(&socket, "").unwrap();
    let mut web = Web::start(&s.root, &["--live-socket", socket.to_str().unwrap()]);
    let mut stream = TcpStream::connect(web.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /api/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let (status, took) = web.terminate(Duration::from_secs(15)).unwrap_or_else(|| {
        panic!(
            "floe web did not stop with a live page open:\n{}",
            web.log()
        )
    });
    assert!(status.success(), "{status}: {}", web.log());
    assert!(
        took >= floe_web::DRAIN_AT_STOP - Duration::from_millis(100),
        "{took:?}"
    );
}

fn common_send(port: u16) {
    floe_test_support::run_ok(Command::new(FLOE).args([
        "send",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--count",
        "100",
    ]));
}

#[test]
fn a_big_network_lists_its_largest_hosts_and_says_how_many_are_left_out() {
    let s = Store::new();
    // 2100 more hosts in 10.9.0.0/16, host k sending k + 1 kB, in the
    // store's first hour (a second writer, in a directory of its own).
    let mut c = floe_store::StoreConfig::new(s.root.join("more"));
    c.zone = floe_store::Zone::Utc;
    let at = s.from_ms + 60_000;
    let (mut w, _) = floe_store::StoreWriter::open(c, at).unwrap();
    let flows: Vec<floe_flow::Flow> = (0..2100u32)
        .map(|k| floe_flow::Flow {
            start_ms: at,
            end_ms: at + 1000,
            src_addr: std::net::IpAddr::from([10, 9, (k / 256) as u8, (k % 256) as u8]),
            dst_addr: dst(0),
            protocol: 6,
            packets: 1,
            octets: u64::from(k + 1) * 1000,
            ..floe_flow::Flow::default()
        })
        .collect();
    w.write(at + 2000, &flows).unwrap();
    w.close(at + 600_000).unwrap();
    let web = Web::start(&s.root, &[]);
    let r = web.get(&format!(
        "/hosts?{}",
        query(&[("net", "10.9.0.0/16"), ("month", &month(s.from_ms))])
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = r.body.matches("<a href=\"/hosts/host?addr=").count();
    assert_eq!(rows, 2000, "the largest 2000");
    assert!(r.body.contains("2100 hosts with traffic"), "{}", r.body);
    assert!(r.body.contains("100 more"), "{}", r.body);
    // The largest first; the smallest (10.9.0.0, 10.9.0.1...) left out.
    let first = r.body.find("addr=10.9.8.51&").unwrap();
    let second = r.body.find("addr=10.9.8.50&").unwrap();
    assert!(first < second);
    assert!(
        !r.body.contains("addr=10.9.0.0&"),
        "the smallest is left out"
    );
    // A network that fits: no note.
    let r = web.get(&format!(
        "/hosts?{}",
        query(&[("net", "10.1.0.0/24"), ("month", &month(s.from_ms))])
    ));
    assert!(!r.body.contains("left out"), "{}", r.body);
}

#[test]
fn a_days_page_asked_by_several_at_once() {
    let s = Store::new();
    let web = Web::start(&s.root, &["--max-queries", "4"]);
    let d = day(s.from_ms);
    let addr = web.addr;
    let asks: Vec<_> = (0..4)
        .map(|_| {
            let d = d.clone();
            std::thread::spawn(move || get_at(addr, &format!("/days/{d}"), &[]))
        })
        .collect();
    for a in asks {
        let r = a.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.title().contains(&d), "{}", r.title());
    }
}

/// One graph asked of the page's JSON and CSV, and of `floe report
/// --series` on the same store.
struct Same<'a> {
    key: &'a str,
    interval: &'a str,
    secs: u64,
    n: usize,
    unit: &'a str,
    sort: &'a str,
    filter: Option<&'a str>,
    prefix: Option<u8>,
    from_ms: i64,
    to_ms: i64,
}

/// The answer less how it was found (the cache makes that differ).
fn without_stats(a: &serde_json::Value) -> serde_json::Value {
    let mut a = a.clone();
    a.as_object_mut().unwrap().remove("stats");
    a
}

#[test]
fn the_graph_answers_what_floe_report_series_answers() {
    // Long flows too, shared among the intervals they span.
    let s = Store::with_long_flows();
    let web = Web::start(&s.root, &[]);
    let cases = [
        Same {
            key: "ip-source-address",
            interval: "10m",
            secs: 600,
            n: 5,
            unit: "bits",
            sort: "+octets",
            filter: None,
            prefix: None,
            from_ms: s.from_ms,
            to_ms: s.to_ms,
        },
        Same {
            key: "ip-destination-port",
            interval: "1h",
            secs: 3600,
            n: 2,
            unit: "packets",
            sort: "+packets",
            filter: Some("proto tcp and not src host 10.1.0.1"),
            prefix: None,
            from_ms: s.from_ms,
            to_ms: s.to_ms,
        },
        Same {
            key: "ip-source-address/ip-destination-address",
            interval: "1m",
            secs: 60,
            n: 3,
            unit: "flows",
            sort: "+flows",
            filter: None,
            prefix: None,
            from_ms: s.from_ms + 50 * 60_000,
            to_ms: s.from_ms + 110 * 60_000,
        },
        Same {
            key: "ip-source-address",
            interval: "10m",
            secs: 600,
            n: 1,
            unit: "bytes",
            sort: "+octets",
            filter: Some("dst port 443"),
            prefix: Some(24),
            from_ms: s.from_ms + 20 * 60_000,
            to_ms: s.to_ms - 30 * 60_000,
        },
    ];
    for c in &cases {
        let n = c.n.to_string();
        let (from, to) = (minute(c.from_ms), minute(c.to_ms));
        let mut p = vec![
            ("key", c.key),
            ("from", &from),
            ("to", &to),
            ("interval", c.interval),
            ("n", &n),
            ("unit", c.unit),
        ];
        let prefix = c.prefix.map(|x| x.to_string());
        if let Some(x) = &prefix {
            p.push(("prefix", x));
        }
        if let Some(f) = c.filter {
            p.push(("filter", f));
        }
        let p = query(&p);
        let r = web.get(&format!("/api/graph.json?{p}"));
        assert_eq!(r.status, 200, "{p}: {}", r.body);
        let page = r.json();
        let csv = web.get(&format!("/api/graph.csv?{p}"));
        assert_eq!(csv.status, 200, "{p}: {}", csv.body);

        let report = |format: &str| {
            let secs = c.secs.to_string();
            let kind = format!("time-series/{}", c.key);
            let mut cmd = Command::new(FLOE);
            cmd.args(["report", "-r", &kind, "--interval", &secs, "--series", &n])
                .args(["--sort", c.sort, "-t", &from, "-T", &to, "--zone", "UTC"])
                .args(["--format", format]);
            if let Some(f) = c.filter {
                cmd.args(["--filter", f]);
            }
            if let Some(x) = c.prefix {
                let f = format!("prefix-mask/{x}");
                cmd.args(["--src-format", &f, "--dst-format", &f]);
            }
            floe_test_support::run_ok(cmd.arg(&s.root))
        };
        let cli: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
        assert_eq!(page["query"], cli["query"], "{p}");
        let (a, b) = (&page["answer"], &cli["answer"]);
        // Series by series, then everything but how it was found.
        let labels = |x: &serde_json::Value| -> Vec<String> {
            x["series"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["label"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(labels(a), labels(b), "{p}");
        assert_eq!(labels(a).len(), c.n, "{p}");
        for (x, y) in a["series"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["series"].as_array().unwrap())
        {
            assert_eq!(x, y, "{p}: series {}", x["label"]);
        }
        assert_eq!(a["other"], b["other"], "{p}: other");
        assert_eq!(a["total"], b["total"], "{p}: total");
        assert_eq!(without_stats(a), without_stats(b), "{p}");
        assert_eq!(a["stats"]["files"], b["stats"]["files"], "{p}");
        assert!(a["total"]["totals"]["flows"].as_u64().unwrap() > 0, "{p}");
        // The download is the report's CSV, byte for byte.
        assert_eq!(csv.body, report("csv"), "{p}");
    }
    // The long flows were shared among intervals, the same way by both:
    // their source leads the first case, bits in every 10 minutes it
    // spanned.
    let first = web
        .get(&format!(
            "/api/graph.json?{}",
            graph_params(&s, &[("n", "1")])
        ))
        .json();
    assert_eq!(first["answer"]["series"][0]["label"], "10.1.0.200");
}

#[test]
fn the_alerts_page_shows_floe_alerts_state() {
    let s = Store::new();
    let web = Web::start(&s.root, &[]);
    // No state yet: the page says how to make one.
    let r = web.get("/alerts");
    assert_eq!(r.status, 200, "{}", r.body);
    check_headers(&r, "alerts");
    assert!(r.body.contains("floe alert --rules FILE DIR"), "{}", r.body);

    // floe alert over the store, its state where the page reads it.
    let rules = s.dir.path().join("alerts.toml");
    std::fs::write(
        &rules,
        "zone = \"UTC\"\n\n[[rule]]\nname = \"busy\"\nfilter = \"src host 10.1.0.1\"\n\
         metric = \"flows\"\nby = \"ip-source-address\"\nabove = 1\n",
    )
    .unwrap();
    let out = Command::new(FLOE)
        .args(["alert", "--rules", rules.to_str().unwrap(), "-f", "json"])
        .arg(&s.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fired = String::from_utf8(out.stdout).unwrap();
    assert_eq!(fired.lines().count(), 1, "{fired}");
    assert!(s.root.join(".floe-alert.state").is_file());

    let r = web.get("/alerts");
    assert_eq!(r.status, 200, "{}", r.body);
    let b = &r.body;
    assert!(b.contains("Open (1)"), "{b}");
    assert!(b.contains("<td>10.1.0.1</td>"), "{b}");
    assert!(b.contains("busy"), "{b}");
    assert!(b.contains("firing"), "{b}");
    assert!(b.contains(rules.to_str().unwrap()), "{b}");
}
