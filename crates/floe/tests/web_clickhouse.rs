//! `floe web --clickhouse URL`, the real binary and real engines: a store
//! of designed flows (and long flows shared among intervals) is shipped
//! with `floe ship` to ClickHouse 26 (chdb-core, modern schema) and to
//! Debian's 18.16 server (legacy schema, a user with a password from
//! --password-file); for the same queries (keys, a filter, top N with
//! "other", prefixes, exporters, intervals, sub-ranges) the graph's JSON
//! and CSV and the hosts-by-month pages served from ClickHouse equal those
//! `floe web` serves from the store. Filters with quotes, backslashes and
//! SQL in them, given to the web's endpoints, change no query. Each test
//! says in one line and skips when its engine is absent.

use std::path::Path;
use std::process::Command;

mod common;
use common::web::*;
use common::FLOE;
use floe_test_support::clickhouse::{Chdb, Server};
use floe_test_support::run_ok;

fn floe(args: &[&str]) -> String {
    run_ok(Command::new(FLOE).args(args))
}

/// `floe ship ROOT --clickhouse URL ARGS...`; every flow shipped.
fn ship(root: &Path, url: &str, args: &[&str], flows: usize) {
    let out = Command::new(FLOE)
        .args(["ship", root.to_str().unwrap(), "--clickhouse", url])
        .args(args)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(&format!("{flows} flows shipped")), "{said}");
}

/// The graph's queries compared, as URL query strings.
fn cases(s: &Store) -> Vec<String> {
    let m = |ms: i64| minute(ms);
    let (from, to) = (m(s.from_ms), m(s.to_ms));
    let (sub_from, sub_to) = (m(s.from_ms + 50 * 60_000), m(s.from_ms + 110 * 60_000));
    let (cut_from, cut_to) = (m(s.from_ms + 20 * 60_000), m(s.to_ms - 30 * 60_000));
    let all: Vec<Vec<(&str, &str)>> = vec![
        // Top 5 of 13 sources and "other", bits/s per 10 minutes.
        vec![
            ("key", "ip-source-address"),
            ("from", &from),
            ("to", &to),
            ("interval", "10m"),
            ("n", "5"),
            ("unit", "bits"),
        ],
        // A filter, hourly, by packets.
        vec![
            ("key", "ip-destination-port"),
            ("from", &from),
            ("to", &to),
            ("interval", "1h"),
            ("n", "2"),
            ("unit", "packets"),
            ("filter", "proto tcp and not src host 10.1.0.1"),
        ],
        // Pairs, per minute, over a sub-range cutting long flows.
        vec![
            ("key", "ip-source-address/ip-destination-address"),
            ("from", &sub_from),
            ("to", &sub_to),
            ("interval", "1m"),
            ("n", "3"),
            ("unit", "flows"),
        ],
        // Prefixes and a filter.
        vec![
            ("key", "ip-source-address"),
            ("from", &cut_from),
            ("to", &cut_to),
            ("interval", "10m"),
            ("n", "1"),
            ("unit", "bytes"),
            ("prefix", "24"),
            ("filter", "dst port 443"),
        ],
        // One exporter's protocols, every key a series.
        vec![
            ("key", "ip-protocol"),
            ("from", &from),
            ("to", &to),
            ("interval", "10m"),
            ("n", "50"),
            ("unit", "bytes"),
            ("exporter", LOSSY),
        ],
        // Exporters, source AS and interfaces, hourly and daily.
        vec![
            ("key", "ip-exporter-address"),
            ("from", &from),
            ("to", &to),
            ("interval", "1h"),
            ("n", "10"),
            ("unit", "flows"),
        ],
        vec![
            ("key", "source-as/input-interface"),
            ("from", &from),
            ("to", &to),
            ("interval", "1d"),
            ("n", "4"),
            ("unit", "bits"),
        ],
        // A filter on times and rates.
        vec![
            ("key", "ip-destination-address"),
            ("from", &from),
            ("to", &to),
            ("interval", "10m"),
            ("n", "2"),
            ("unit", "bits"),
            ("filter", "bps > 1000 and duration < 60000"),
        ],
    ];
    all.iter().map(|p| query(p)).collect()
}

/// The JSON less how the answer was found (backend, files, cache).
fn without_stats(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(a) = doc.get_mut("answer").and_then(|a| a.as_object_mut()) {
        a.remove("stats");
    }
    doc
}

/// A page less its paragraphs on how it was answered (files, cache).
fn without_how(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("<p class=\"muted\">") {
        let end = rest[at..].find("</p>").map_or(rest.len(), |e| at + e + 4);
        out.push_str(&rest[..at]);
        let p = &rest[at..end];
        if !p.contains("cache") && !p.contains(" file") && !p.contains("Answered by") {
            out.push_str(p);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The graph's JSON and CSV and the hosts pages from ClickHouse equal
/// those from the store.
fn same_pages(s: &Store, local: &Web, remote: &Web) {
    for p in cases(s) {
        let a = local.get(&format!("/api/graph.json?{p}"));
        let b = remote.get(&format!("/api/graph.json?{p}"));
        assert_eq!(a.status, 200, "{p}: {}", a.body);
        assert_eq!(b.status, 200, "{p}: {}", b.body);
        let (a, b) = (a.json(), b.json());
        assert_eq!(b["answer"]["stats"]["backend"], "clickhouse", "{p}");
        assert_eq!(b["answer"]["stats"]["files"], 0, "{p}");
        assert_eq!(a["answer"]["stats"]["backend"], "local", "{p}");
        assert!(
            a["answer"]["total"]["totals"]["flows"].as_u64().unwrap() > 0,
            "{p}"
        );
        // Series by series first (a clearer failure), then all of it.
        let series = |x: &serde_json::Value| x["answer"]["series"].as_array().unwrap().clone();
        assert_eq!(series(&a).len(), series(&b).len(), "{p}");
        for (x, y) in series(&a).iter().zip(&series(&b)) {
            assert_eq!(x, y, "{p}: series {}", x["label"]);
        }
        assert_eq!(a["answer"]["other"], b["answer"]["other"], "{p}: other");
        assert_eq!(a["answer"]["total"], b["answer"]["total"], "{p}: total");
        assert_eq!(without_stats(a), without_stats(b), "{p}");
        let a = local.get(&format!("/api/graph.csv?{p}"));
        let b = remote.get(&format!("/api/graph.csv?{p}"));
        assert_eq!(a.status, 200, "{p}: {}", a.body);
        assert_eq!(a.body, b.body, "{p}: CSV");
    }
    // The top source over the whole store is the long flows' one, "other"
    // the rest: the sharing of flows over intervals is the same.
    let p = query(&[
        ("from", &minute(s.from_ms)),
        ("to", &minute(s.to_ms)),
        ("interval", "10m"),
        ("n", "1"),
    ]);
    let b = remote.get(&format!("/api/graph.json?{p}")).json();
    assert_eq!(b["answer"]["series"][0]["label"], "10.1.0.200");
    assert!(b["answer"]["other"].is_object());
    // Hosts by month: the list of a network, out and in, and a host's
    // month of 10-minute and hourly cells.
    let m = month(s.from_ms);
    for target in [
        format!("/hosts?{}", query(&[("net", "10.1.0.0/24"), ("month", &m)])),
        format!(
            "/hosts?{}",
            query(&[("net", "198.51.100.0/24"), ("month", &m)])
        ),
        format!(
            "/hosts/host?{}",
            query(&[("addr", "10.1.0.3"), ("net", "10.1.0.0/24"), ("month", &m)])
        ),
        format!(
            "/hosts/host?{}",
            query(&[("addr", "10.1.0.200"), ("month", &m), ("cells", "1h")])
        ),
    ] {
        let (a, b) = (local.get(&target), remote.get(&target));
        assert_eq!(a.status, 200, "{target}: {}", a.body);
        assert_eq!(b.status, 200, "{target}: {}", b.body);
        assert_eq!(without_how(&a.body), without_how(&b.body), "{target}");
        if target.starts_with("/hosts?") {
            assert!(b.body.contains("Answered by ClickHouse."), "{}", b.body);
        }
    }
    // The graph's page says who answered.
    let b = remote.get(&format!("/graph?{p}"));
    assert_eq!(b.status, 200, "{}", b.body);
    assert!(b.body.contains("Answered by ClickHouse."), "{}", b.body);
    // Details of a key.
    let target = format!(
        "/details?{}",
        query(&[
            ("key", "ip-source-address"),
            ("value", "10.1.0.2"),
            ("from", &minute(s.from_ms)),
            ("to", &minute(s.to_ms)),
        ])
    );
    let (a, b) = (local.get(&target), remote.get(&target));
    assert_eq!(a.status, b.status, "{target}: {}", b.body);
    assert_eq!(without_how(&a.body), without_how(&b.body), "{target}");
}

#[test]
fn clickhouse_26_serves_the_pages_the_store_serves() {
    let Some(ch) = Chdb::start() else { return };
    let s = Store::with_long_flows();
    let url = ch.url();
    floe(&["clickhouse", "init", &url]);
    ship(&s.root, &url, &[], s.flows.len() + HOURS as usize);
    let local = Web::start(&s.root, &[]);
    // An empty directory: whatever the graphs show comes from ClickHouse.
    let empty = tempfile::tempdir().unwrap();
    let remote = Web::start(empty.path(), &["--clickhouse", &url]);
    assert!(
        remote.log().contains("answering from ClickHouse"),
        "{}",
        remote.log()
    );
    same_pages(&s, &local, &remote);
    // Without a directory, the graphs still answer and the pages that
    // read a store's files say so.
    let alone = Web::start_without_dir(&["--clickhouse", &url]);
    let p = &cases(&s)[0];
    let a = alone.get(&format!("/api/graph.csv?{p}"));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, local.get(&format!("/api/graph.csv?{p}")).body);
    for page in ["/days", "/exporters", &format!("/days/{}", day(s.from_ms))] {
        let r = alone.get(page);
        assert_eq!(r.status, 404, "{page}: {}", r.body);
        assert!(
            r.body.contains("store&#39;s directory") || r.body.contains("store's directory"),
            "{page}: {}",
            r.body
        );
    }
    let r = alone.get("/live");
    assert!(r.body.contains("no live view"), "{}", r.body);
    // A key ClickHouse does not answer over time is refused with why.
    let bad = query(&[("key", "ip-address"), ("interval", "10m")]);
    let r = alone.get(&format!("/api/graph.json?{bad}"));
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn quotes_backslashes_and_sql_in_web_filters_change_no_query() {
    let Some(ch) = Chdb::start() else { return };
    let s = Store::new();
    let url = ch.url();
    floe(&["clickhouse", "init", &url]);
    ship(&s.root, &url, &[], s.flows.len());
    let empty = tempfile::tempdir().unwrap();
    let remote = Web::start(empty.path(), &["--clickhouse", &url]);
    let (from, to) = (minute(s.from_ms), minute(s.to_ms));
    // Filters with quotes, backslashes and SQL are floe's language or
    // refused by it (400, with the filter's reason): nothing of their
    // text reaches a query.
    for f in [
        "proto tcp' OR 1=1 --",
        "dst port 443; DROP TABLE floe.flows",
        "src net 10.0.0.0/8 \\' or exporter 1.2.3.4",
        "proto tcp or 1=1",
        "') UNION ALL SELECT * FROM system.users --",
    ] {
        let p = query(&[("from", &from), ("to", &to), ("filter", f)]);
        for api in ["json", "csv"] {
            let r = remote.get(&format!("/api/graph.{api}?{p}"));
            assert_eq!(r.status, 400, "{f}: {}", r.body);
        }
    }
    // An exporter that is no address is refused too.
    let p = query(&[
        ("from", &from),
        ("to", &to),
        ("exporter", "1.2.3.4' OR 1=1"),
    ]);
    assert_eq!(remote.get(&format!("/api/graph.json?{p}")).status, 400);
    // A filter that is floe's language answers, as floe means it.
    let p = query(&[
        ("from", &from),
        ("to", &to),
        ("filter", "not (src host 10.1.0.1 or dst port 53)"),
    ]);
    let r = remote.get(&format!("/api/graph.json?{p}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let want: u64 = s
        .flows
        .iter()
        .filter(|f| f.src_addr.to_string() != "10.1.0.1" && f.dst_port != 53)
        .count() as u64;
    assert_eq!(r.json()["answer"]["total"]["totals"]["flows"], want);
    // The table is whole.
    let n = ch.query("SELECT count() FROM floe.flows FORMAT TSV");
    assert_eq!(n.trim(), s.flows.len().to_string());
}

#[test]
fn clickhouse_18_16_with_the_legacy_schema_serves_the_pages_the_store_serves() {
    let Some(ch) = Server::start() else { return };
    let s = Store::with_long_flows();
    let url = ch.url();
    floe(&["clickhouse", "init", &url, "--legacy"]);
    ship(&s.root, &url, &[], s.flows.len() + HOURS as usize);
    let local = Web::start(&s.root, &[]);
    // The user floe, its password (quotes and a backslash) from a file.
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, format!("{}\n", Server::PASSWORD)).unwrap();
    let floe_url = url.replace("http://", "http://floe@");
    let remote = Web::start(
        tmp.path(),
        &[
            "--clickhouse",
            &floe_url,
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    same_pages(&s, &local, &remote);
    // A wrong password is refused at start, and never shown.
    let said = Web::try_start(
        tmp.path(),
        &["--listen", "127.0.0.1:0", "--clickhouse", &floe_url],
    )
    .err()
    .unwrap_or_default();
    assert!(!said.is_empty());
    assert!(!said.contains(Server::PASSWORD), "{said}");
}
