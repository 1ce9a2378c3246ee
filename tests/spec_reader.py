#!/usr/bin/env python3
"""An independent reader of floe files, written from schemas/floe-file-format.md
alone (no floe code), to show that the specification is enough to read the
format from another language. The floe-store test `spec_reader` runs it and
compares its output with floe's own reader.

Usage: spec_reader.py FILE   -> one JSON object per flow on stdout, then a
                                final {"trailer": ...} object.
Needs the `zstandard` package (pip install zstandard).
"""
import ipaddress
import json
import struct
import sys

import zstandard

MAGIC = b"\x89FLOE\r\n\x1a"


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


class Meta:
    """bincode 'legacy' decoding, as the specification describes it."""

    def __init__(self, b):
        self.b, self.at = b, 0

    def take(self, n):
        v = self.b[self.at:self.at + n]
        if len(v) != n:
            raise ValueError("metadata cut short")
        self.at += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def string(self):
        return self.take(self.u64()).decode("utf-8")

    def ip(self):
        return str(ipaddress.ip_address(self.take(4 if self.u32() == 0 else 16)))

    def seq(self, item):
        return [item() for _ in range(self.u64())]

    def counters(self):
        keys = ["datagrams", "flows", "lost_flows", "sequence_resets",
                "bad_datagrams", "reordered_datagrams"]
        c = {k: self.u64() for k in keys}
        c["extra"] = dict(self.seq(lambda: (self.string(), self.u64())))
        return c

    def exporters(self):
        return self.seq(lambda: ({"address": self.ip(), "source_id": self.u32()}, self.counters()))


def unzigzag(v):
    return (v >> 1) ^ -(v & 1)


def wrap64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def read_block(body):
    n, ncols = struct.unpack_from("<IH", body, 0)
    min_start = struct.unpack_from("<q", body, 8)[0]
    cols, at = {}, 40
    for _ in range(ncols):
        cid, enc, width, _r, count, stored = struct.unpack_from("<BBBBII", body, at)
        data = body[at + 12:at + 12 + stored]
        at += 12 + stored
        if enc == 0:
            values = [int.from_bytes(data, "little")] * count
        else:
            raw = data if enc == 2 else zstandard.ZstdDecompressor().decompress(data, max_output_size=count * width)
            assert len(raw) == count * width
            values = [sum(raw[b * count + i] << (8 * b) for b in range(width)) for i in range(count)]
        cols[cid] = values
    names = ["source_id", "src_port", "dst_port", "protocol", "tcp_flags", "tos", "packets", "octets",
             "input_if", "output_if", "src_as", "dst_as", "src_mask", "dst_mask", "sampling_interval",
             "engine_type", "engine_id"]
    addr_fields = [("exporter", 19), ("src_addr", 22), ("dst_addr", 25), ("next_hop", 28)]
    cursors = {name: [0, 0] for name, _ in addr_fields}
    flows = []
    for i in range(n):
        start = wrap64(min_start + cols[0][i])
        f = {"start_ms": start, "end_ms": wrap64(start + unzigzag(cols[1][i]))}
        for k, name in enumerate(names):
            f[name] = cols[2 + k][i]
        for name, first in addr_fields:
            fam = cols[first][i]
            v = cols[first + 1 + fam][cursors[name][fam]]
            cursors[name][fam] += 1
            f[name] = str(ipaddress.ip_address(v.to_bytes(4 if fam == 0 else 16, "big")))
        flows.append(f)
    return flows


def main(path):
    b = open(path, "rb").read()
    if b[:8] != MAGIC:
        sys.exit(f"{path}: not a floe file")
    version, _flags, m = struct.unpack_from("<HHI", b, 8)
    if version != 1:
        sys.exit(f"{path}: format version {version} unsupported")
    if crc32c(b[8:16 + m]) != struct.unpack_from("<I", b, 16 + m)[0]:
        sys.exit(f"{path}: header checksum mismatch")
    h = Meta(b[16:16 + m])
    header = {"created_ms": h.i64()}
    header["period"] = [h.i64(), h.i64()] if h.u8() else None
    header["host"], header["zone"], header["writer"] = h.string(), h.string(), h.string()
    at = 16 + m + 4
    out = sys.stdout
    while at < len(b):
        kind, _fl, blen, bcrc, hcrc = struct.unpack_from("<BBxxIII", b, at)
        assert crc32c(b[at:at + 12]) == hcrc, f"frame header CRC at {at}"
        body = b[at + 16:at + 16 + blen]
        assert crc32c(body) == bcrc, f"frame body CRC at {at}"
        trailer_at = at
        at += 16 + blen
        if kind == 0x42:
            for f in read_block(body):
                out.write(json.dumps(f, sort_keys=True) + "\n")
        elif kind == 0x54:
            t = Meta(body)
            trailer = {"closed_ms": t.i64(), "recovered": bool(t.u8()),
                       "totals": {k: t.u64() for k in ["flows", "packets", "octets"]}}
            trailer["totals"]["first_ms"], trailer["totals"]["last_ms"] = t.i64(), t.i64()
            trailer["exporters"] = t.exporters()
            trailer["blocks"] = t.seq(lambda: [t.u64(), t.u32(), t.u32(), t.i64(), t.i64()])
            foot = b[at:at + 24]
            assert foot[16:] == b"FLOETAIL" and struct.unpack_from("<Q", foot)[0] == trailer_at
            assert crc32c(foot[:8]) == struct.unpack_from("<I", foot, 8)[0]
            out.write(json.dumps({"trailer": trailer, "header": header}, sort_keys=True) + "\n")
            at += 24
        # counters frames ('C') are read by floe for crash recovery; skipped here.


if __name__ == "__main__":
    main(sys.argv[1])
