//! Datagrams that are partly undecodable, sent to a real floed on
//! loopback: the decodable flows are stored exactly, every loss is counted
//! in the files' exporter counters, and the live stats file keeps the last
//! reasons per exporter with their counts.

mod common;

use std::time::Duration;

use common::{extra_counter, now_ms, send_all, sender, stored_flows, Floed};
use floe_flow::Counter;
use floe_test_support::datagram::{set, template, v9_at as v9};

/// Source, destination, octets, and the flow's times as uptimes.
const LAYOUT: &[(u16, u16)] = &[(8, 4), (12, 4), (1, 4), (22, 4), (21, 4)];

fn record(n: u32) -> Vec<u8> {
    let mut r = vec![10, 1, (n >> 8) as u8, n as u8, 192, 0, 2, 1];
    r.extend_from_slice(&n.to_be_bytes());
    // Started 20 s and ended 10 s before the export (uptime 86 400 000).
    r.extend_from_slice(&86_380_000u32.to_be_bytes());
    r.extend_from_slice(&86_390_000u32.to_be_bytes());
    r
}

#[test]
fn partly_undecodable_datagrams_keep_their_good_flows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("floed.toml"),
        "zone = \"UTC\"\n[limits]\nearly_data_ttl = \"2s\"\n",
    )
    .unwrap();
    let mut floed = Floed::start(dir.path(), &[]);
    let secs = (now_ms() / 1000) as u32;
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        record(n)
    };
    let t = set(0, &template(300, LAYOUT));
    // Template 301 cannot be honoured (an IPv4 address of 16 bytes).
    let refused = set(0, &template(301, &[(8, 16), (1, 4)]));
    // A string field of variable length (65535) among fixed ones.
    let t302 = set(0, &template(302, &[(8, 4), (82, 65535), (12, 4), (1, 4)]));
    let mut d = Vec::new();
    // 1. Zero padding to 1400 bytes after one data set: 1 flow.
    let mut p = [t.clone(), set(300, &next())].concat();
    p.resize(1400 - 20, 0);
    d.push(v9(secs, 0, &p));
    // 2. Good, undecodable, good: 2 flows, 1 undecodable set.
    let body = [
        t.clone(),
        refused,
        set(300, &next()),
        set(301, &[0; 20]),
        set(300, &next()),
    ]
    .concat();
    d.push(v9(secs, 1, &body));
    // 3. A set running past the datagram after a good one: 1 flow, 1 set.
    let mut body = [t.clone(), set(300, &next())].concat();
    body.extend_from_slice(&[1, 44, 4, 0, 9, 9, 9]);
    d.push(v9(secs, 2, &body));
    // 4. The v9 variable-length field, 1- and 3-byte prefixes: 2 flows.
    let mut data = vec![
        10, 2, 0, 1, 4, b'e', b't', b'h', b'0', 192, 0, 2, 1, 0, 0, 0, 7,
    ];
    data.extend_from_slice(&[10, 2, 0, 2, 255, 1, 0]);
    data.extend(vec![b'x'; 256]);
    data.extend_from_slice(&[192, 0, 2, 2, 0, 0, 0, 8]);
    d.push(v9(secs, 3, &[t302, set(302, &data)].concat()));
    // 5. Data whose template never comes: held, expired after 2 s.
    d.push(v9(secs, 4, &set(777, &[0; 16])));
    // 6. A set of length 0 that is not at the end, a good set after it:
    // the flow before it is kept, nothing after it can be framed.
    let mut body = [t.clone(), set(300, &next())].concat();
    body.extend_from_slice(&[1, 44, 0, 0]);
    body.extend(set(300, &record(99)));
    d.push(v9(secs, 5, &body));
    // 7. Zero padding after several sets and after a template set alone.
    let mut p = [t.clone(), set(300, &next()), set(300, &next())].concat();
    p.resize(1300, 0);
    d.push(v9(secs, 6, &p));
    let mut p = t.clone();
    p.resize(700, 0);
    d.push(v9(secs, 7, &p));
    send_all(&sender("127.0.0.21"), floed.addr, &d);

    // The stats file names the reasons while floed runs.
    let path = dir.path().join("flows/.floed-stats.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let exporter = loop {
        let doc: Option<serde_json::Value> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let e = doc.and_then(|d| {
            d["exporters"].as_array().and_then(|a| {
                a.iter()
                    .find(|e| e["address"] == "127.0.0.21" && e["extra"]["early_data_expired"] == 1)
                    .cloned()
            })
        });
        if let Some(e) = e {
            break e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reasons in the stats file"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let kinds: Vec<(String, u64)> = exporter["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    for want in [
        "refused_template",
        "set_past_end",
        "set_too_short",
        "template_refused",
        "early_data_expired",
    ] {
        assert!(
            kinds.iter().any(|(k, c)| k == want && *c == 1),
            "{want} in {kinds:?}"
        );
    }
    let last = exporter["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "set_past_end")
        .unwrap()["last"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("byte 72") && last.contains("set 300"),
        "{last}"
    );

    floed.wait_for("early_data_expired");
    let (code, log) = floed.stop();
    assert_eq!(code, 0);
    let (flows, files) = stored_flows(dir.path());
    let mut octets: Vec<u64> = flows.iter().map(|f| f.octets).collect();
    octets.sort_unstable();
    assert_eq!(
        octets,
        [1, 2, 3, 4, 5, 6, 7, 7, 8],
        "exactly the decodable flows"
    );
    let c = |name: Counter| extra_counter(&files, "127.0.0.21", name.name());
    assert_eq!(c(Counter::PaddedDatagrams), 3);
    assert_eq!(c(Counter::UndecodedSets), 3);
    assert_eq!(c(Counter::TemplatesRefused), 1);
    assert_eq!(c(Counter::EarlyDataExpired), 1);
    let bad: u64 = files
        .iter()
        .flat_map(|f| f.counters())
        .map(|(_, c)| c.bad_datagrams)
        .sum();
    assert_eq!(bad, 0, "no datagram was wholly bad");
    // Logged, not once per datagram.
    assert!(log.iter().any(|l| l.contains("refused")), "{log:#?}");
}
