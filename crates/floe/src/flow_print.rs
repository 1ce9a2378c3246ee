//! flow-tools' `flow-print -f 3` and `-f 5` line layouts, for the scripts
//! that cut their columns by position or split them on blanks.
//!
//! The layouts follow flow-print's printf formats field for field (column
//! widths, the double blanks, the trailing padding of the last column, the
//! blank line after the `-f 5` header, `-f 5` showing only the low three
//! TCP flag bits and times as `MMDD.HH:MM:SS.mmm` in the local zone).
//! Where flow-tools could not hold a value floe does, floe prints the whole
//! value rather than cutting it: flow-print truncates addresses to 15
//! characters (`%-15.15s`), so an IPv6 address widens its column here, and
//! counters are 64-bit. Both keep every line splittable on blanks.

use std::fmt::Write;

use floe_flow::Flow;
use floe_store::Zone;

/// `flow-print -f 3`: addresses, protocol, ports, octets, packets.
pub const FORMAT3_HEADER: &str =
    "srcIP            dstIP            prot  srcPort  dstPort  octets      packets\n";

/// `flow-print -f 5`: times, interfaces, addresses, ports, protocol, flags,
/// packets, octets. flow-print writes it with `puts("...\n")`, hence the
/// empty line after it.
pub const FORMAT5_HEADER: &str = "Start             End               Sif   SrcIPaddress    SrcP  DIf   DstIPaddress    DstP    P Fl Pkts       Octets\n\n";

/// C's `%-W.Ws` for a string that is never cut: left-justified, padded to W.
fn pad(out: &mut String, s: impl std::fmt::Display, w: usize) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{s:<w$}");
}

/// Appends one `-f 3` line for `f`.
pub fn format3(out: &mut String, f: &Flow) {
    pad(out, f.src_addr, 15);
    out.push_str("  ");
    pad(out, f.dst_addr, 15);
    out.push_str("  ");
    pad(out, f.protocol, 4);
    out.push_str("  ");
    pad(out, f.src_port, 7);
    out.push_str("  ");
    pad(out, f.dst_port, 7);
    out.push_str("  ");
    pad(out, f.octets, 10);
    out.push_str("  ");
    pad(out, f.packets, 10);
    out.push('\n');
}

/// `%-2.2d%-2.2d.%-2.2d:%-2.2d:%-2.2d.%-3.3lu ` of flow-print: month, day,
/// hour, minute, second with two digits, milliseconds with three.
fn ft_time(out: &mut String, zone: &Zone, ms: i64) {
    use chrono::{Datelike, Timelike};
    let t = zone.at(ms);
    let _ = write!(
        out,
        "{:02}{:02}.{:02}:{:02}:{:02}.{:03} ",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        ms.rem_euclid(1000)
    );
}

/// Appends one `-f 5` line for `f`, times in `zone`.
pub fn format5(out: &mut String, f: &Flow, zone: &Zone) {
    ft_time(out, zone, f.start_ms);
    ft_time(out, zone, f.end_ms);
    let _ = writeln!(
        out,
        "{:<5} {:<15} {:<5} {:<5} {:<15} {:<5} {:<3} {:<2} {:<10} {:<10}",
        f.input_if,
        f.src_addr,
        f.src_port,
        f.output_if,
        f.dst_addr,
        f.dst_port,
        f.protocol,
        f.tcp_flags & 0x7,
        f.packets,
        f.octets
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Flow {
        Flow {
            start_ms: floe_flow::time::utc_ms(2026, 1, 2, 3, 4, 5) + 7,
            end_ms: floe_flow::time::utc_ms(2026, 11, 22, 13, 14, 15) + 250,
            src_addr: "10.1.2.3".parse().unwrap(),
            dst_addr: "192.168.100.200".parse().unwrap(),
            src_port: 51234,
            dst_port: 443,
            protocol: 6,
            tcp_flags: 0x1b,
            input_if: 3,
            output_if: 12,
            packets: 10,
            octets: 1500,
            ..Flow::default()
        }
    }

    #[test]
    fn format3_matches_flow_print_columns() {
        let mut s = String::new();
        format3(&mut s, &flow());
        assert_eq!(
            s,
            "10.1.2.3         192.168.100.200  6     51234    443      1500        10        \n"
        );
        // The header's columns start where the values do.
        let head_cols: Vec<usize> = column_starts(FORMAT3_HEADER);
        assert_eq!(head_cols, column_starts(&s));
    }

    fn column_starts(line: &str) -> Vec<usize> {
        let b = line.trim_end().as_bytes();
        (0..b.len())
            .filter(|&i| b[i] != b' ' && (i == 0 || b[i - 1] == b' '))
            .collect()
    }

    #[test]
    fn format5_times_flags_and_order() {
        let mut s = String::new();
        format5(&mut s, &flow(), &Zone::Utc);
        assert_eq!(
            s,
            "0102.03:04:05.007 1122.13:14:15.250 3     10.1.2.3        51234 12    192.168.100.200 443   6   3  10         1500      \n"
        );
    }

    #[test]
    fn ipv6_is_printed_whole() {
        let mut f = flow();
        f.src_addr = "2001:db8:ffff:1234:5678:9abc:def0:1".parse().unwrap();
        let mut s = String::new();
        format3(&mut s, &f);
        assert!(s.starts_with("2001:db8:ffff:1234:5678:9abc:def0:1  192.168.100.200  6 "));
    }
}
