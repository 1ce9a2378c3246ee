//! The shipper against a real ClickHouse 18.16 (Debian's server, started
//! by the test on 127.0.0.1) with the legacy schema: what the table holds
//! equals what the store holds, per exporter and per block, after a
//! backfill, after a rerun, and after inserts whose outcome was unknown
//! (landed, not landed, landed in part).

mod common;

use std::time::Duration;

use floe_clickhouse::{init, ShipEvent, ShipOptions, Shipper, Step, Target, Timeouts};
use floe_test_support::clickhouse::Server;

fn options(ch: &Server, dir: &std::path::Path) -> ShipOptions {
    let target = Target::parse(&ch.url(), "floe", "flows").unwrap();
    let mut o = ShipOptions::new(target, "test-collector");
    o.batch_flows = 5_000;
    o.batch_interval = Duration::from_millis(10);
    o.state_path = Some(dir.join("state.json"));
    o.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(30),
    };
    o
}

fn ship_all(s: &mut Shipper) -> u64 {
    let mut n = 0;
    while !s.finished() {
        match s.step(true).unwrap() {
            Step::Sent(k) => n += k,
            Step::Idle | Step::Waiting => {}
        }
    }
    n
}

fn legacy(ch: &Server) {
    let (client, schema) = common::init_legacy(&ch.url());
    // Applied twice: nothing to do the second time.
    assert_eq!(init(&client, &schema).unwrap().len(), 1);
}

/// Edits the state file: the last `blocks` shipped blocks of the file with
/// the most blocks are made the in-flight batch again, as if floed had
/// died before recording the insert's outcome.
fn rewind(state: &std::path::Path, blocks: usize) -> Vec<(u64, u64)> {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
    // Every file is done and summed up by done_before: take the file with
    // the most blocks back from there (the files after it stay done).
    let dir = state.parent().unwrap().join("store");
    let files = floe_store::walk(&dir).unwrap();
    let opened: Vec<floe_store::FlowFile> = files
        .iter()
        .map(|f| floe_store::FlowFile::open(&f.path).unwrap())
        .collect();
    let at = (0..files.len())
        .max_by_key(|&i| (opened[i].blocks().len(), std::cmp::Reverse(i)))
        .unwrap();
    let key_of = |i: usize| {
        files[i]
            .path
            .strip_prefix(&dir)
            .unwrap()
            .display()
            .to_string()
    };
    let (ff, key) = (&opened[at], key_of(at));
    let id = floe_clickhouse::ship::file_id(ff.header());
    let all = ff.blocks();
    assert!(all.len() > blocks, "{} blocks", all.len());
    let keep = &all[..all.len() - blocks];
    let sent = &all[all.len() - blocks..];
    let next = keep.last().map_or(0, |b| b.offset + u64::from(b.len));
    v["done_before"] = serde_json::json!({"start_ms": files[at].start_ms, "serial": 0, "key": key});
    let mut map = serde_json::Map::new();
    map.insert(
        key.clone(),
        serde_json::json!({
            "start_ms": files[at].start_ms, "serial": 0, "file_id": id, "next_offset": next,
            "blocks": keep.len(), "flows": keep.iter().map(|b| u64::from(b.records)).sum::<u64>(),
            "done": false
        }),
    );
    for i in at + 1..files.len() {
        map.insert(
            key_of(i),
            serde_json::json!({
                "start_ms": files[i].start_ms, "serial": 0,
                "file_id": floe_clickhouse::ship::file_id(opened[i].header()),
                "next_offset": 0, "blocks": 0, "flows": 0, "done": true
            }),
        );
    }
    v["files"] = serde_json::Value::Object(map);
    let min = sent.iter().map(|b| b.min_start_ms).min().unwrap();
    let max = sent.iter().map(|b| b.max_end_ms).max().unwrap();
    v["in_flight"] = serde_json::json!({
        "query_id": "floe-test-rewound",
        "blocks": sent.iter().map(|b| serde_json::json!({
            "key": key, "file_id": id, "block": b.offset,
            "end_offset": b.offset + u64::from(b.len), "records": b.records
        })).collect::<Vec<_>>(),
        "time_from": floe_clickhouse::rowbinary::time_secs(min),
        "time_to": floe_clickhouse::rowbinary::time_secs(max),
    });
    std::fs::write(state, serde_json::to_string(&v).unwrap()).unwrap();
    sent.iter().map(|b| (id, b.offset)).collect()
}

#[test]
fn backfill_rerun_and_unknown_outcomes_leave_each_flow_once() {
    let Some(ch) = Server::start() else { return };
    legacy(&ch);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let flows = common::make_store(&dir, 40_000, 7, 500);
    let want = common::sums(&flows);
    let blocks = common::store_blocks(&dir);

    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert_eq!(s.measure(), flows.len() as u64);
    assert_eq!(ship_all(&mut s), flows.len() as u64);
    let st = s.status();
    assert_eq!(
        (st.shipped_flows, st.backlog_flows, st.backlog_files),
        (40_000, 0, 0)
    );
    drop(s);
    assert_eq!(common::table_sums(&ch, "floe.flows"), want);
    assert_eq!(common::table_blocks(&ch, "floe.flows"), blocks);

    // The consolidated tables got each flow once too (with packets; the
    // generator makes none without). (The cases below delete rows of
    // `flows` by hand, which the views do not see: checked here.)
    let f10: u64 = ch
        .query("SELECT sum(flows) FROM floe.flows_10m FORMAT TabSeparated")
        .trim()
        .parse()
        .unwrap();
    let fh: u64 = ch
        .query("SELECT sum(flows) FROM floe.flows_1h FORMAT TabSeparated")
        .trim()
        .parse()
        .unwrap();
    let hosts: u64 = ch
        .query(
            "SELECT sum(flows) FROM floe.flows_hosts_10m WHERE direction = 0 FORMAT TabSeparated",
        )
        .trim()
        .parse()
        .unwrap();
    assert_eq!((f10, fh, hosts), (40_000, 40_000, 40_000));

    // A rerun ships nothing: the state says it is all there.
    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert_eq!(ship_all(&mut s), 0);
    drop(s);

    // The insert landed but floed died before recording it: the check
    // finds it whole and nothing is sent again.
    rewind(&tmp.path().join("state.json"), 3);
    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert_eq!(ship_all(&mut s), 0);
    assert!(matches!(
        s.take_events()[..],
        [ShipEvent::Landed { flows: 1500, .. }]
    ));
    drop(s);
    assert_eq!(common::table_blocks(&ch, "floe.flows"), blocks);

    // It did not land at all: sent again.
    let sent = rewind(&tmp.path().join("state.json"), 2);
    let cond: Vec<String> = sent.iter().map(|(f, b)| format!("({f}, {b})")).collect();
    ch.query(&format!(
        "ALTER TABLE floe.flows DELETE WHERE (file_id, block) IN ({})",
        cond.join(", ")
    ));
    wait_mutations(&ch);
    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert_eq!(ship_all(&mut s), 1_000);
    assert!(matches!(
        s.take_events()[..],
        [ShipEvent::NotLanded { flows: 1000, .. }]
    ));
    drop(s);
    assert_eq!(common::table_blocks(&ch, "floe.flows"), blocks);

    // Part of it landed (a batch cut between partitions, say): the part is
    // deleted and the batch sent again.
    let sent = rewind(&tmp.path().join("state.json"), 2);
    ch.query(&format!(
        "ALTER TABLE floe.flows DELETE WHERE file_id = {} AND block = {} AND src_port % 2 = 0",
        sent[0].0, sent[0].1
    ));
    wait_mutations(&ch);
    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert_eq!(ship_all(&mut s), 1_000);
    let ev = s.take_events();
    assert!(
        matches!(ev[..], [ShipEvent::Repaired { expected: 1000, found, .. }] if found < 1000 && found > 500),
        "{ev:?}"
    );
    assert_eq!(s.status().repairs, 1);
    drop(s);
    assert_eq!(common::table_sums(&ch, "floe.flows"), want);
    assert_eq!(common::table_blocks(&ch, "floe.flows"), blocks);
}

fn wait_mutations(ch: &Server) {
    for _ in 0..600 {
        if ch
            .query("SELECT count() FROM system.mutations WHERE is_done = 0 FORMAT TabSeparated")
            .trim()
            == "0"
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mutations did not finish");
}

#[test]
fn a_server_that_is_down_costs_a_retry_not_a_flow() {
    let Some(mut ch) = Server::start() else {
        return;
    };
    legacy(&ch);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let flows = common::make_store(&dir, 12_000, 9, 1_000);
    let mut s = Shipper::open(&dir, options(&ch, tmp.path())).unwrap();
    assert!(matches!(s.step(true).unwrap(), Step::Sent(5_000)));
    ch.stop();
    let e = s.step(true).unwrap_err();
    assert!(e.is_transport(), "{e}");
    // Still down: the check of the unknown insert fails too, and waits.
    assert!(s.step(true).unwrap_err().is_transport());
    assert!(s.status().backlog_flows >= 7_000);
    ch.start_again();
    assert_eq!(ship_all(&mut s), 7_000);
    drop(s);
    assert_eq!(common::table_sums(&ch, "floe.flows"), common::sums(&flows));
    assert_eq!(
        common::table_blocks(&ch, "floe.flows"),
        common::store_blocks(&dir)
    );
}
