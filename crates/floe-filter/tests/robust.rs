//! Hostile input never panics the parsers; whatever parses prints and
//! re-parses to the same predicate.

use std::collections::HashMap;

use floe_filter::{Filter, FilterFile};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "proto",
    "tcp",
    "udp",
    "icmp",
    "src",
    "dst",
    "ip",
    "host",
    "net",
    "port",
    "as",
    "mask",
    "in",
    "out",
    "if",
    "next-hop",
    "exporter",
    "flags",
    "SA",
    "tos",
    "packets",
    "bytes",
    "duration",
    "pps",
    "bps",
    "bpp",
    "first",
    "last",
    "and",
    "or",
    "not",
    "any",
    "ipv4",
    "ipv6",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "!=",
    "<",
    ">=",
    "!",
    "#",
    "@include",
    "10.0.0.0/8",
    "2001:db8::/32",
    "192.168.1.1",
    "443",
    "80-90",
    "1M",
    "5s",
    "0x12",
    "-",
    "/",
    "255.0.0.0",
    "2026-11-22T10:00:00",
    "gt",
    "eq",
    "\n",
    "in [1, 2]",
    "mask 0xfc = 0x28",
];

fn expression() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(WORDS).prop_map(str::to_string),
            1 => "[ -~]{0,6}",
        ],
        0..16,
    )
    .prop_map(|v| v.join(" "))
}

const LINES: &[&str] = &[
    "filter-primitive p",
    "filter-primitive q",
    "  type ip-port",
    "  type ip-address-prefix",
    "  type counter",
    "  type ip-tcp-flags",
    "  type time-date",
    "  type as",
    "  mask 0x12",
    "  permit 80",
    "  permit 10.0.0.0/8",
    "  deny 443,8000-9000",
    "  permit gt 100",
    "  permit lt 600 seconds ago",
    "  default permit",
    "  default deny",
    "filter-definition d",
    "  match ip-destination-port p",
    "  match ip-source-address q",
    "  match octets p",
    "  match start-time q",
    "  or",
    "  invert",
    "  permit @{X:-5}",
    "# comment",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn expressions_never_panic_and_round_trip(text in expression()) {
        if let Ok(f) = Filter::parse(&text) {
            let shown = f.to_string();
            let again = Filter::parse(&shown);
            prop_assert!(again.is_ok(), "{text:?} printed as {shown:?}: {again:?}");
            prop_assert_eq!(again.unwrap(), f);
        }
    }

    #[test]
    fn filter_files_never_panic(lines in prop::collection::vec(prop::sample::select(LINES), 0..24)) {
        let text = lines.join("\n");
        if let Ok(ff) = FilterFile::parse(&text, "fuzz.cfg", &HashMap::new(), 0) {
            let names: Vec<String> = ff.definitions().map(str::to_string).collect();
            for d in names {
                let e = ff.compile(&d).unwrap();
                let f = Filter::from_expr(e);
                prop_assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
            }
        }
    }
}
