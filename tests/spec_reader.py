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

# "Limits a reader enforces" in the specification.
MAX_HEADER_META = 1 << 20
MAX_FRAME_BODY = 256 << 20
MAX_META = 64 << 20
MAX_BLOCK_RECORDS = 1 << 20
MAX_COLUMNS = 256
KNOWN_COLUMNS = 31
STATS_COLUMN = 31


class Corrupt(Exception):
    """A frame whose checksums hold but whose content breaks the format."""


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
        if len(b) > MAX_META:
            raise Corrupt(f"metadata of {len(b)} bytes; at most {MAX_META}")
        self.b, self.at = b, 0

    def take(self, n):
        if n > len(self.b) - self.at:
            raise Corrupt(f"metadata claims {n} bytes at {self.at}; {len(self.b) - self.at} are left")
        v = self.b[self.at:self.at + n]
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
        n = self.u64()
        # Every element takes at least one byte.
        if n > len(self.b) - self.at:
            raise Corrupt(f"metadata claims {n} elements at {self.at}; {len(self.b) - self.at} bytes are left")
        return [item() for _ in range(n)]

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


def max_width(cid):
    return 8 if cid < 19 else [1, 4, 16][(cid - 19) % 3]


def is_value_column(cid):
    return cid >= 19 and (cid - 19) % 3 != 0


def read_block(body):
    if len(body) < 40:
        raise Corrupt("block header cut short")
    n, ncols = struct.unpack_from("<IH", body, 0)
    min_start = struct.unpack_from("<q", body, 8)[0]
    if n > MAX_BLOCK_RECORDS:
        raise Corrupt(f"block claims {n} flows; a block holds at most {MAX_BLOCK_RECORDS}")
    if ncols * 12 > len(body) - 40 or ncols > MAX_COLUMNS:
        raise Corrupt(f"block claims {ncols} columns in {len(body)} bytes")
    cols, at = {}, 40
    for _ in range(ncols):
        if at + 12 > len(body):
            raise Corrupt(f"column header at body offset {at} is cut short")
        cid, enc, width, _r, count, stored = struct.unpack_from("<BBBBII", body, at)
        if stored > len(body) - at - 12:
            raise Corrupt(f"column {cid} claims {stored} stored bytes past the end of the block")
        data = body[at + 12:at + 12 + stored]
        at += 12 + stored
        if cid in cols:
            raise Corrupt(f"column {cid} appears twice")
        if cid == STATS_COLUMN:
            if enc != 2 or width != 1 or count != stored:
                raise Corrupt(f"statistics chunk of encoding {enc}, width {width}, {count} values in {stored} bytes")
            cols[cid] = read_stats(data)
            continue
        if cid >= KNOWN_COLUMNS:
            cols[cid] = None  # a later version's column: skipped
            continue
        if not 1 <= width <= max_width(cid):
            raise Corrupt(f"column {cid} has width {width}")
        if count > n if is_value_column(cid) else count != n:
            raise Corrupt(f"column {cid} claims {count} values in a block of {n} flows")
        if enc == 0:
            if stored != width:
                raise Corrupt(f"constant column {cid} stores {stored} bytes")
            values = [int.from_bytes(data, "little")] * count
        elif enc in (1, 2):
            if enc == 2:
                raw = data
            else:
                try:
                    declared = zstandard.frame_content_size(data)
                    if declared >= 0 and declared != count * width:
                        raise Corrupt(f"column {cid}'s zstd frame declares {declared} bytes, not {count * width}")
                    raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=count * width)
                except zstandard.ZstdError as e:
                    raise Corrupt(f"column {cid} does not decompress to {count * width} bytes: {e}")
            if len(raw) != count * width:
                raise Corrupt(f"column {cid} holds {len(raw)} bytes, not {count * width}")
            values = [sum(raw[b * count + i] << (8 * b) for b in range(width)) for i in range(count)]
        else:
            raise Corrupt(f"column {cid} has unknown encoding {enc}")
        cols[cid] = values
    for cid in range(KNOWN_COLUMNS):
        if cid not in cols:
            raise Corrupt(f"column {cid} is missing")
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
            if fam not in (0, 1):
                raise Corrupt(f"address family column {first} holds {fam}")
            if cursors[name][fam] >= len(cols[first + 1 + fam]):
                raise Corrupt(f"address column {first + 1 + fam} has too few values")
            v = cols[first + 1 + fam][cursors[name][fam]]
            cursors[name][fam] += 1
            f[name] = str(ipaddress.ip_address(v.to_bytes(4 if fam == 0 else 16, "big")))
        flows.append(f)
    for name, first in addr_fields:
        if cursors[name] != [len(cols[first + 1]), len(cols[first + 2])]:
            raise Corrupt(f"address columns of {first} hold values the family column does not use")
    if cols.get(STATS_COLUMN):
        check_stats(cols[STATS_COLUMN], cols, flows, addr_fields)
        STATISTICS_READ[0] += 1
    return flows


# Blocks whose statistics were read and checked.
STATISTICS_READ = [0]


def read_stats(data):
    """The entries of a block statistics chunk: {(column, kind): value}."""
    entries, at = {}, 0
    while at < len(data):
        if at + 3 > len(data):
            raise Corrupt("a statistics entry is cut short")
        cid, kind, length = data[at], data[at + 1], data[at + 2]
        v = data[at + 3:at + 3 + length]
        if len(v) != length:
            raise Corrupt("a statistics entry runs past its chunk")
        at += 3 + length
        if kind in (1, 3):
            if length == 0 or length % 2 or length > 32:
                raise Corrupt(f"a statistics entry of kind {kind} and length {length}")
            w = length // 2
            a, b = int.from_bytes(v[:w], "little"), int.from_bytes(v[w:], "little")
            if kind == 1 and cid in (0, 1):
                a, b = wrap64(a), wrap64(b)
            entries[(cid, kind)] = (a, b)
        elif kind == 2:
            if length != 32:
                raise Corrupt("a value set that is not 32 bytes")
            entries[(cid, kind)] = {i for i in range(256) if v[i // 8] >> (i % 8) & 1}
    return entries


def check_stats(entries, cols, flows, addr_fields):
    """The statistics must hold for every flow of the block: this reader
    checks the writer's word rather than trusting it."""
    for (cid, kind), v in entries.items():
        if cid == 0:
            values = [f["start_ms"] for f in flows]
        elif cid == 1:
            values = [f["end_ms"] for f in flows]
        elif cid < KNOWN_COLUMNS and cid in cols and cols[cid] is not None:
            values = cols[cid]
        else:
            continue
        if not values:
            continue
        if kind == 1 and not (v[0] <= min(values) and max(values) <= v[1]):
            raise Corrupt(f"column {cid}'s values are not within its statistics' range {v}")
        if kind == 2 and not set(values) <= v:
            raise Corrupt(f"column {cid} holds values its statistics' set lacks")
        if kind == 3:
            ored, anded = 0, (1 << 128) - 1
            for x in values:
                ored, anded = ored | x, anded & x
            if ored & ~v[0] or ~anded & v[1]:
                raise Corrupt(f"column {cid}'s bits disagree with its statistics")


def read_trailer(body):
    t = Meta(body)
    trailer = {"closed_ms": t.i64(), "recovered": bool(t.u8()),
               "totals": {k: t.u64() for k in ["flows", "packets", "octets"]}}
    trailer["totals"]["first_ms"], trailer["totals"]["last_ms"] = t.i64(), t.i64()
    trailer["exporters"] = t.exporters()
    trailer["blocks"] = t.seq(lambda: [t.u64(), t.u32(), t.u32(), t.i64(), t.i64()])
    if t.at != len(body):
        raise Corrupt(f"{len(body) - t.at} unexpected trailing bytes")
    return trailer


def main(path):
    b = open(path, "rb").read()
    if b[:8] != MAGIC:
        sys.exit(f"{path}: not a floe file")
    version, _flags, m = struct.unpack_from("<HHI", b, 8)
    if version != 1:
        sys.exit(f"{path}: format version {version} unsupported")
    if m > MAX_HEADER_META:
        sys.exit(f"{path}: corrupt at byte offset 12: header metadata claims {m} bytes")
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
        assert blen <= MAX_FRAME_BODY, f"frame length at {at} is absurd"
        body = b[at + 16:at + 16 + blen]
        assert crc32c(body) == bcrc, f"frame body CRC at {at}"
        frame_at = at
        at += 16 + blen
        if kind == 0x42:
            try:
                flows = read_block(body)
            except Corrupt as e:
                sys.exit(f"{path}: corrupt block at byte offset {frame_at}: {e}")
            for f in flows:
                out.write(json.dumps(f, sort_keys=True) + "\n")
        elif kind == 0x54:
            try:
                trailer = read_trailer(body)
            except Corrupt as e:
                sys.exit(f"{path}: corrupt trailer at byte offset {frame_at}: {e}")
            foot = b[at:at + 24]
            assert foot[16:] == b"FLOETAIL" and struct.unpack_from("<Q", foot)[0] == frame_at
            assert crc32c(foot[:8]) == struct.unpack_from("<I", foot, 8)[0]
            out.write(json.dumps({"trailer": trailer, "header": header,
                                  "blocks_with_statistics": STATISTICS_READ[0]}, sort_keys=True) + "\n")
            at += 24
        # counters frames ('C') are read by floe for crash recovery; skipped here.


if __name__ == "__main__":
    main(sys.argv[1])
