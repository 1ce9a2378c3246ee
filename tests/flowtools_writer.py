#!/usr/bin/env python3
"""Writes flow-tools files (stream version 3) the way flow-capture does, for
floe's import tests, from flow-tools' own struct layouts (ftlib.h):
a 4-byte magic/byte-order/version, u32 head_off, TLVs, then fixed-size
records, zlib-compressed when the header flags say so. Every integer is in
the file's byte order.

Usage: flowtools_writer.py OUT_DIR
Writes a small archive under OUT_DIR/archive/2026/2026-11/2026-11-22/ and
OUT_DIR/expected.ndjson: every flow floe must read, keyed like
`floe print --format json --fields all`, in file order.
"""
import json
import os
import struct
import sys
import zlib
from datetime import datetime, timezone

# (struct format after the byte-order char, field names) per record layout.
LAYOUTS = {
    (1, 0): ("IIIIIIIHHIIIIHHBBBBI", "unix_secs unix_nsecs sysUpTime exaddr srcaddr dstaddr nexthop input output dPkts dOctets First Last srcport dstport prot tos tcp_flags pad reserved"),
    (5, 0): ("IIIIIIIHHIIIIHHBBBBBBBBHH", "unix_secs unix_nsecs sysUpTime exaddr srcaddr dstaddr nexthop input output dPkts dOctets First Last srcport dstport prot tos tcp_flags pad engine_type engine_id src_mask dst_mask src_as dst_as"),
    (6, 0): ("IIIIIIIHHIIIIHHBBBBBBBBHHBBHI", "unix_secs unix_nsecs sysUpTime exaddr srcaddr dstaddr nexthop input output dPkts dOctets First Last srcport dstport prot tos tcp_flags pad engine_type engine_id src_mask dst_mask src_as dst_as in_encaps out_encaps pad2 peer_nexthop"),
    (7, 0): ("IIIIIIIHHIIIIHHBBBBBBBBHHI", "unix_secs unix_nsecs sysUpTime exaddr srcaddr dstaddr nexthop input output dPkts dOctets First Last srcport dstport prot tos tcp_flags flags engine_type engine_id src_mask dst_mask src_as dst_as router_sc"),
    (8, 1): ("IIIIIIIIIHHHHBBH", "unix_secs unix_nsecs sysUpTime exaddr dFlows dPkts dOctets First Last src_as dst_as input output engine_type engine_id pad"),
    (8, 3): ("IIIIIIIIIIBBHHBB", "unix_secs unix_nsecs exaddr sysUpTime dFlows dPkts dOctets First Last srcaddr src_mask pad src_as input engine_type engine_id"),
    (8, 8): ("IIIIIIIIIIIIHHHHBBBBBBH", "unix_secs unix_nsecs sysUpTime exaddr dPkts dOctets First Last dstaddr srcaddr extra_pkts router_sc dstport srcport output input tos marked_tos engine_type engine_id prot pad1 pad2"),
    (8, 14): ("IIIIIIIIIIIHHHHBBBBBBH", "unix_secs unix_nsecs sysUpTime exaddr dFlows dPkts dOctets First Last srcaddr dstaddr srcport dstport input output dst_mask src_mask engine_type engine_id tos prot pad2"),
}

EXPORT_MS = 1795342500 * 1000  # 2026-11-22 10:15:00 UTC


def ip(n):
    return ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0))


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def record(i, names):
    """A record with every field distinct and the values floe must read."""
    r = {n: 0 for n in names}
    r.update(unix_secs=EXPORT_MS // 1000, unix_nsecs=250_000_000 + i, sysUpTime=3_600_000 + i * 10,
             exaddr=0xC0000201, dPkts=10 + i, dOctets=1500 * (i + 1), First=3_590_000 + i, Last=3_599_000 + i)
    r.update(srcaddr=0x0A000001 + i, dstaddr=0xC6336400 + i, nexthop=0xC0000202, input=3 + i, output=12 + i,
             srcport=40000 + i, dstport=443, prot=6, tos=0x28, tcp_flags=0x1b, engine_type=1, engine_id=2 + i % 2,
             src_mask=24, dst_mask=16, src_as=64512, dst_as=15169 + i, dFlows=5 + i)
    return {n: r[n] for n in names}


def expected(r):
    """What floe must make of record r (a dict holding only its layout's fields)."""
    g = lambda n: r.get(n, 0)
    export_ms = g("unix_secs") * 1000 + g("unix_nsecs") // 1_000_000
    up = g("sysUpTime")
    def t(x):
        d = (up - x) & 0xFFFFFFFF
        if d >= 1 << 31:
            d -= 1 << 32
        return export_ms - d
    return {
        "start-time": iso(t(g("First"))), "end-time": iso(t(g("Last"))),
        "ip-exporter-address": ip(g("exaddr")), "source-id": (g("engine_type") << 8) | g("engine_id"),
        "ip-source-address": ip(g("srcaddr")), "ip-destination-address": ip(g("dstaddr")),
        "ip-next-hop-address": ip(g("nexthop")), "ip-source-port": g("srcport"),
        "ip-destination-port": g("dstport"), "ip-protocol": g("prot"), "ip-tcp-flags": g("tcp_flags"),
        "ip-tos": g("tos"), "packets": g("dPkts"), "octets": g("dOctets"),
        "input-interface": g("input"), "output-interface": g("output"), "source-as": g("src_as"),
        "destination-as": g("dst_as"), "source-mask": g("src_mask"), "destination-mask": g("dst_mask"),
        "sampling-interval": 0, "engine-type": g("engine_type"), "engine-id": g("engine_id"),
    }


def tlv(bo, t, value):
    return struct.pack(bo + "HH", t, len(value)) + value


def write(path, version, method, n, big, compressed, cut=0):
    bo = ">" if big else "<"
    fmt, names = LAYOUTS[(version, method)]
    names = names.split()
    assert struct.calcsize(bo + fmt) == struct.calcsize("=" + fmt)
    recs = [record(i, names) for i in range(n)]
    body = b"".join(struct.pack(bo + fmt, *[r[k] for k in names]) for r in recs)
    flags = 0x1 | (0x2 if compressed else 0)
    tlvs = b"".join([
        tlv(bo, 0x1, b"\x01"),
        tlv(bo, 0x2, struct.pack(bo + "H", version)),
        tlv(bo, 0x3, bytes([2 if version == 8 else 0])),
        tlv(bo, 0x4, bytes([method])),
        tlv(bo, 0x5, struct.pack(bo + "I", 0xC0000201)),
        tlv(bo, 0x6, struct.pack(bo + "I", EXPORT_MS // 1000 - 300)),
        tlv(bo, 0x7, struct.pack(bo + "I", EXPORT_MS // 1000)),
        tlv(bo, 0x8, struct.pack(bo + "I", flags)),
        tlv(bo, 0xA, struct.pack(bo + "I", n)),
        tlv(bo, 0xB, struct.pack(bo + "I", 7)),
        tlv(bo, 0xF, b"router1.example\x00"),
        tlv(bo, 0x10, b"imported by test\x00"),
    ])
    head_off = 8 + len(tlvs)
    data = zlib.compress(body) if compressed else body
    if cut:
        data = data[:len(data) - cut]
    with open(path, "wb") as f:
        f.write(bytes([0xCF, 0x10, 2 if big else 1, 3]) + struct.pack(bo + "I", head_off) + tlvs + data)
    return recs


def main():
    out = sys.argv[1]
    day = os.path.join(out, "archive", "2026", "2026-11", "2026-11-22")
    os.makedirs(day, exist_ok=True)
    expect = []
    # One file per layout and byte order / compression combination, five
    # minutes apart, in name order (the order floe reads them in).
    cases = [((5, 0), False, True), ((5, 0), True, False), ((1, 0), True, True), ((6, 0), False, False),
             ((7, 0), True, True), ((8, 1), False, True), ((8, 3), True, False), ((8, 8), False, True),
             ((8, 14), True, True)]
    for k, ((version, method), big, compressed) in enumerate(cases):
        name = "ft-v%02d.2026-11-22.%02d%02d00+0000" % (version, 9 + k // 12, (k % 12) * 5)
        recs = write(os.path.join(day, name), version, method, 3 + k, big, compressed)
        for r in recs:
            e = expected(r)
            if "exaddr" not in r:
                e["ip-exporter-address"] = ip(0xC0000201)
            expect.append(e)
    # A file cut short, after the others: its whole records only.
    recs = write(os.path.join(day, "ft-v05.2026-11-22.110000+0000"), 5, 0, 20, False, False, cut=10)
    expect.extend(expected(r) for r in recs[:19])
    with open(os.path.join(out, "expected.ndjson"), "w") as f:
        for e in expect:
            f.write(json.dumps(e) + "\n")


if __name__ == "__main__":
    main()
