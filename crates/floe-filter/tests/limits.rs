//! Hostile and out-of-range filter text: nesting deeper than the limit is
//! an error saying where (not a stack overflow), long flat chains never
//! recurse (parsing, evaluating, printing or dropping them), numbers out
//! of their field's range are refused with the range, in expressions and
//! in flow-tools filter files; and times without an offset are read in
//! the zone the filter is compiled with.

use std::collections::HashMap;

use floe_filter::{Filter, FilterFile, Options, WallClock, MAX_NESTING};
use floe_flow::time::utc_ms;
use floe_flow::Flow;

/// Runs `f` on a thread with a small stack: what recursing once per term
/// of a long chain would overflow.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error_saying_where() {
    for (open, close, width) in [
        ("(", ")", 1),
        ("not ", "", 4),
        ("!", "", 1),
        ("! (", ")", 3),
    ] {
        for depth in [MAX_NESTING + 1, 30_000, 200_000] {
            let text = format!("{}any{}", open.repeat(depth), close.repeat(depth));
            let e = Filter::parse(&text).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("nesting deeper than {MAX_NESTING}")),
                "{open:?} x {depth}: {msg}"
            );
            // The opening that goes one level too deep ("! (" opens two).
            let levels = if open == "! (" { 2 } else { 1 };
            let col = MAX_NESTING / levels * width + 1;
            assert_eq!((e.line, e.col), (1, col), "{open:?} x {depth}: {msg}");
        }
        // At the limit: accepted, and it evaluates, prints and parses back.
        let n = if open == "! (" {
            MAX_NESTING / 2
        } else {
            MAX_NESTING
        };
        let text = format!("{}any{}", open.repeat(n), close.repeat(n));
        let f = Filter::parse(&text).unwrap();
        assert!(f.matches(&Flow::default()));
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
    }
    // Lines and columns of a deep expression over several lines.
    let text = format!("proto tcp and\n{}any", "not ".repeat(300));
    let e = Filter::parse(&text).unwrap_err();
    assert_eq!((e.line, e.col), (2, 4 * MAX_NESTING + 1), "{e}");
}

#[test]
fn what_parses_near_the_limit_prints_as_text_that_parses() {
    // Printed, every "and"/"or" group is in parentheses and so is a test
    // of either end: 256 "!" before `mask 1` printed 257 levels, which
    // did not parse back (found by the filter_expression fuzz target).
    let e = Filter::parse(&format!("{}mask 1", "!".repeat(MAX_NESTING))).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("nesting deeper than {MAX_NESTING}")),
        "{e}"
    );
    assert_eq!((e.line, e.col), (1, 1), "{e}");
    for inner in [
        "mask 1",
        "port 80",
        "tcp and port 80 or udp",
        "(in if 3 or host 10.0.0.1) and not (proto 6 and bytes > 5)",
    ] {
        for n in 0..MAX_NESTING {
            for open in ["!", "(", "not ("] {
                let close = if open == "!" { "" } else { ")" };
                let text = format!("{}{inner}{}", open.repeat(n), close.repeat(n));
                let Ok(f) = Filter::parse(&text) else {
                    continue;
                };
                let printed = f.to_string();
                let again = Filter::parse(&printed)
                    .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
                assert_eq!(again, f, "{text:?}");
            }
        }
    }
    // Just under the limit, the either-end test still parses.
    assert!(Filter::parse(&format!("{}mask 1", "!".repeat(MAX_NESTING - 1))).is_ok());
}

#[test]
fn nesting_counts_across_included_files() {
    let dir = std::env::temp_dir().join(format!("floe-filter-nesting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("inner.flt"),
        format!("{}any{}", "(".repeat(100), ")".repeat(100)),
    )
    .unwrap();
    let outer = dir.join("outer.flt");
    std::fs::write(
        &outer,
        format!("{}@include inner.flt{}", "(".repeat(200), ")".repeat(200)),
    )
    .unwrap();
    let e = Filter::from_file(&outer).unwrap_err().to_string();
    assert!(e.contains("inner.flt:1:57: nesting deeper than 256"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `a or b or c ...` with 200 000 terms (and the same with `and`, and
/// both mixed) is a flat list: parsing, matching, printing, comparing,
/// cloning and dropping it never recurse per term, here on a 256 KiB stack.
#[test]
fn long_flat_chains_never_recurse_per_term() {
    for op in ["or", "and", "mixed"] {
        let mut text = String::from("dst port 1");
        for i in 1..200_000 {
            let join = match op {
                "mixed" if i % 2 == 0 => "and",
                "mixed" => "or",
                other => other,
            };
            text.push_str(&format!(" {join} dst port {}", 1 + i % 60_000));
        }
        on_small_stack(move || {
            let f = Filter::parse(&text).unwrap();
            // Port 0 is in no term: every term of the chain is tried.
            let flow = Flow::default();
            assert!(!f.matches(&flow));
            let shown = f.to_string();
            if op == "or" {
                let again = Filter::parse(&shown).unwrap();
                assert!(again == f);
            }
            let copy = f.clone();
            assert_eq!(copy.fields(), ["ip-destination-port"]);
            drop(copy);
            drop(f);
        });
    }
}

#[test]
fn out_of_range_numbers_are_refused_with_the_range() {
    let cases: &[(&str, &str, usize)] = &[
        ("tos 300", "\"300\" is not a ToS (0-255)", 5),
        ("tos > 256", "is not a ToS (0-255)", 7),
        ("tos 1-256", "is not a ToS (0-255)", 5),
        ("tos in [1, 2, 256]", "is not a ToS (0-255)", 15),
        ("as 4294967296", "is not an AS number (0-4294967295)", 4),
        (
            "src as > 4294967296",
            "is not an AS number (0-4294967295)",
            10,
        ),
        (
            "dst as in [1, 99999999999999999999999999999999999999999]",
            "is not an AS number",
            15,
        ),
        ("as 5G", "is not an AS number (0-4294967295)", 4),
        (
            "in if 4294967296",
            "is not an interface index (0-4294967295)",
            7,
        ),
        ("out if > 4294967296", "is not an interface index", 10),
        ("if 4294967296", "is not an interface index", 4),
        ("mask 129", "is not a prefix length (0-128)", 6),
        ("src mask > 200", "is not a prefix length (0-128)", 12),
        ("proto 256", "is not a protocol", 7),
        ("proto > 300", "is not a protocol", 9),
        ("port 65536", "is not a port (0-65535", 6),
        ("dst port > 70000", "is not a port", 12),
        ("src port in [80, 65536]", "is not a port", 18),
        (
            "bytes > 18446744073709551616",
            "is not a byte count (0-18446744073709551615)",
            9,
        ),
        ("bytes > 20000000T", "is not a byte count", 9),
        ("packets 0x10000000000000000", "is not a packet count", 9),
        ("packets > 1e400k", "is not a number", 11),
        (
            "duration > 18446744073709551616",
            "is not a duration in ms",
            12,
        ),
        (
            "duration > 9999999999999999h",
            "is not a duration in ms",
            12,
        ),
        ("pps > 18446744073709551616", "is not a packet rate", 7),
        ("bps > 99999999999999999999", "is not a bit rate", 7),
        (
            "bpp > 18446744073709551616",
            "is not a byte per packet count",
            7,
        ),
        ("engine-type 256", "is not an engine type (0-255)", 13),
        ("engine-id > 300", "is not an engine id (0-255)", 13),
        (
            "source-id 4294967296",
            "is not a source id (0-4294967295)",
            11,
        ),
        (
            "sampling 4294967296",
            "is not a sampling interval (0-4294967295)",
            10,
        ),
        ("tos mask 0x1ff = 0", "is not a ToS (0-255)", 10),
        ("tos mask 0xfc = 0x100", "is not a ToS (0-255)", 17),
        (
            "flags mask 0x10000 = 1",
            "is not a TCP flags value (0-65535)",
            12,
        ),
        ("flags 65536", "more than 16 bits", 7),
        ("flags 0x10000", "more than 16 bits", 7),
    ];
    for (text, needle, col) in cases {
        let e = Filter::parse(text).expect_err(text);
        let msg = e.to_string();
        assert!(msg.contains(needle), "{text:?}: {msg}");
        assert_eq!((e.line, e.col), (1, *col), "{text:?}: {msg}");
    }
    // The largest values are accepted, and print and parse back.
    for text in [
        "tos 255",
        "as 4294967295",
        "src as 0-4294967295",
        "in if 4294967295",
        "mask 128",
        "proto 255",
        "port 65535",
        "bytes > 18446744073709551615",
        "packets 0xffffffffffffffff",
        "duration < 18446744073709551615",
        "engine-type 255",
        "engine-id 255",
        "source-id 4294967295",
        "sampling 4294967295",
        "tos mask 0xff = 0xff",
        "flags mask 0xffff = 0xffff",
        "flags 65535",
    ] {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f, "{text}");
    }
}

fn filter_file(prim: &str, key: &str) -> Result<floe_filter::Expr, String> {
    let text = format!("filter-primitive p\n{prim}\nfilter-definition d\n  match {key} p\n");
    FilterFile::parse(&text, "t.cfg", &HashMap::new(), 0)
        .and_then(|ff| ff.compile("d"))
        .map_err(|e| e.to_string())
}

#[test]
fn flow_tools_filter_files_refuse_out_of_range_values() {
    let cases = [
        ("type as\n  permit 4294967296", "source-as", "t.cfg:3:"),
        (
            "type as\n  permit 1-4294967296",
            "destination-as",
            "t.cfg:3:",
        ),
        ("type ip-port\n  permit 65536", "ip-source-port", "t.cfg:3:"),
        (
            "type counter\n  permit gt 70000",
            "ip-destination-port",
            "t.cfg:3:",
        ),
        ("type ip-protocol\n  permit 256", "ip-protocol", "t.cfg:3:"),
        ("type ip-tos\n  permit 256", "ip-tos", "t.cfg:3:"),
        (
            "type ip-tos\n  mask 0x1ff\n  permit 1",
            "ip-tos",
            "t.cfg:3:",
        ),
        (
            "type ip-tcp-flags\n  permit 0x10000",
            "ip-tcp-flags",
            "t.cfg:3:",
        ),
        (
            "type ifindex\n  permit 4294967296",
            "input-interface",
            "t.cfg:3:",
        ),
        ("type engine\n  permit 256", "engine-id", "t.cfg:3:"),
        (
            "type ip-address-prefix-len\n  permit 129",
            "ip-source-address-prefix-len",
            "t.cfg:3:",
        ),
        (
            "type counter\n  permit gt 18446744073709551616",
            "octets",
            "t.cfg:3:",
        ),
        ("type counter\n  permit gt 1e30", "packets", "t.cfg:3:"),
        ("type rate\n  permit gt 1e300", "bps", "t.cfg:3:"),
        (
            "type time-date\n  permit gt 99999999999999999 weeks ago",
            "start-time",
            "t.cfg:3:",
        ),
    ];
    for (prim, key, at) in cases {
        let e = filter_file(prim, key).expect_err(prim);
        assert!(e.contains(at) && e.contains("out of range"), "{prim}: {e}");
    }
    for (prim, key) in [
        ("type as\n  permit 4294967295", "source-as"),
        ("type ip-port\n  permit 65535", "ip-source-port"),
        ("type ip-tos\n  mask 0xff\n  permit 255", "ip-tos"),
        ("type counter\n  permit ge 18446744073709551615", "octets"),
        (
            "type ip-address-prefix-len\n  permit 128",
            "ip-source-address-prefix-len",
        ),
    ] {
        let e = filter_file(prim, key).unwrap_or_else(|e| panic!("{prim}: {e}"));
        let printed = Filter::parse(&e.to_string()).unwrap();
        let all = Flow {
            src_as: u32::MAX,
            src_port: u16::MAX,
            tos: u8::MAX,
            octets: u64::MAX,
            src_mask: 128,
            ..Flow::default()
        };
        assert!(
            Filter::from_expr(e).matches(&all) && printed.matches(&all),
            "{prim}"
        );
    }
}

/// A primitive's permit/deny alternations nest its expression once each:
/// more than the nesting limit is refused, with the line.
#[test]
fn flow_tools_primitives_alternate_at_most_the_nesting_limit() {
    let entries = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "  {} {}\n",
                    if i % 2 == 0 { "permit" } else { "deny" },
                    i % 60_000
                )
            })
            .collect()
    };
    let ok = filter_file(
        &format!("type ip-port\n{}", entries(MAX_NESTING)),
        "ip-source-port",
    );
    let f = Filter::from_expr(ok.unwrap());
    assert!(f.matches(&Flow::default()));
    let e = filter_file(
        &format!("type ip-port\n{}", entries(100_000)),
        "ip-source-port",
    )
    .unwrap_err();
    assert!(
        e.contains("alternate between permit and deny more than 256"),
        "{e}"
    );
}

/// UTC+2, for the tests.
#[derive(Debug)]
struct PlusTwo;

impl WallClock for PlusTwo {
    fn instant(&self, local: chrono::NaiveDateTime) -> i64 {
        local.and_utc().timestamp_millis() - 2 * 3_600_000
    }
}

#[test]
fn times_without_an_offset_are_read_in_the_filters_zone() {
    let zoned = Options::default().with_zone(PlusTwo);
    let at = |h: u32, m: u32| Flow {
        start_ms: utc_ms(2026, 11, 22, h, m, 0),
        end_ms: utc_ms(2026, 11, 22, h, m, 0),
        ..Flow::default()
    };
    // 10:00 at UTC+2 is 08:00 UTC.
    for text in [
        "first >= 2026-11-22 10:00",
        "first >= 2026-11-22 10:00:00",
        "first >= 2026-11-22T10:00",
        "first >= 2026-11-22T10:00:00.000",
    ] {
        let utc = Filter::parse(text).unwrap();
        let local = Filter::parse_with(text, &zoned).unwrap();
        assert!(!utc.matches(&at(9, 0)) && utc.matches(&at(10, 0)), "{text}");
        assert!(
            !local.matches(&at(7, 59)) && local.matches(&at(8, 0)),
            "{text}"
        );
        // Printed with its offset, it means the same in any zone.
        assert_eq!(Filter::parse(&local.to_string()).unwrap(), local, "{text}");
    }
    // A date alone is midnight in the zone.
    let f = Filter::parse_with("first < 2026-11-22", &zoned).unwrap();
    let before = Flow {
        start_ms: utc_ms(2026, 11, 21, 21, 59, 0),
        ..Flow::default()
    };
    assert!(f.matches(&before) && !f.matches(&at(0, 0)));
    // Times with an offset, or Z, are absolute whatever the zone.
    for text in [
        "first >= 2026-11-22T10:00:00Z",
        "first >= 2026-11-22T12:00:00+02:00",
        "first >= 2026-11-22T10:00Z",
    ] {
        assert_eq!(
            Filter::parse_with(text, &zoned).unwrap(),
            Filter::parse(text).unwrap(),
            "{text}"
        );
    }
    // flow-tools time-date primitives too.
    let text = "filter-primitive t\n  type time-date\n  permit ge 2026-11-22 10:00:00\nfilter-definition d\n  match start-time t\n";
    let ff = FilterFile::parse_with(text, "t.cfg", &HashMap::new(), 0, &zoned).unwrap();
    let f = Filter::from_expr(ff.compile("d").unwrap());
    assert!(!f.matches(&at(7, 59)) && f.matches(&at(8, 0)));
}
