#!/usr/bin/env python3
"""Where a floe file's bytes go, plane by plane: for each column and byte
plane of its first blocks, the bytes per flow before and after zstd, the
largest number of distinct byte values in a block, the plane's entropy,
and what a dictionary with bit-packing would take instead. It is the
baseline for choices between zstd's Huffman coding (what floe writes),
storing a plane raw, and bit-packing a low-cardinality plane.

    scripts/test --install-only    # once: target/test-venv has zstandard
    target/test-venv/bin/python3 benches/plane-figures.py FILE [BLOCKS]

It reads the format as schemas/floe-file-format.md gives it (no floe
code), and the zstd block headers of each column's frame (one block per
plane piece, as floe writes them; see crates/floe-store/src/planes.rs).
"""

import collections
import math
import struct
import sys

import zstandard

COLUMNS = {
    0: "start", 1: "duration", 2: "source-id", 3: "src-port", 4: "dst-port",
    5: "protocol", 6: "tcp-flags", 7: "tos", 8: "packets", 9: "octets",
    10: "input-if", 11: "output-if", 12: "src-as", 13: "dst-as",
    14: "src-mask", 15: "dst-mask", 16: "sampling", 17: "engine-type",
    18: "engine-id", 19: "exporter-family", 20: "exporter-v4",
    21: "exporter-v6", 22: "src-family", 23: "src-v4", 24: "src-v6",
    25: "dst-family", 26: "dst-v4", 27: "dst-v6", 28: "hop-family",
    29: "hop-v4", 30: "hop-v6", 31: "statistics",
}
BLOCK_HEADER = 40
CHUNK_HEADER = 12
# A plane that Huffman shrinks by less than this share is "poor".
POOR = 15 / 16
# Planes with at most this many values are "few-valued".
FEW = 16


def zstd_block_sizes(frame):
    """The stored size (header included) of each block of a zstd frame."""
    fhd = frame[4]
    fcs_flag, single, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    at = 5 + (0 if single else 1) + [0, 1, 2, 4][dict_flag]
    at += [1 if single else 0, 2, 4, 8][fcs_flag]
    sizes = []
    while at + 3 <= len(frame):
        h = frame[at] | frame[at + 1] << 8 | frame[at + 2] << 16
        kind, size = (h >> 1) & 3, h >> 3
        stored = 1 if kind == 1 else size
        sizes.append(3 + stored)
        at += 3 + stored
        if h & 1:
            break
    return sizes


def main():
    path = sys.argv[1]
    most = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    data = open(path, "rb").read()
    meta = struct.unpack_from("<I", data, 12)[0]
    at = 16 + meta + 4
    dec = zstandard.ZstdDecompressor()
    raw = collections.Counter()
    stored = collections.Counter()
    entropy = collections.Counter()
    packed = collections.Counter()
    distinct = collections.Counter()
    flows = blocks = 0
    while at + 16 <= len(data) and blocks < most:
        kind = data[at]
        length = struct.unpack_from("<I", data, at + 4)[0]
        body = data[at + 16:at + 16 + length]
        at += 16 + length
        if kind != 0x42:
            continue
        blocks += 1
        n, chunks = struct.unpack_from("<IH", body, 0)
        flows += n
        q = BLOCK_HEADER
        for _ in range(chunks):
            col, enc, width = body[q], body[q + 1], body[q + 2]
            k, size = struct.unpack_from("<II", body, q + 4)
            chunk = body[q + CHUNK_HEADER:q + CHUNK_HEADER + size]
            q += CHUNK_HEADER + size
            if enc == 0 or col == 31:
                continue
            planes = chunk if enc == 2 else dec.decompress(chunk, max_output_size=k * width)
            sizes = zstd_block_sizes(chunk) if enc == 1 else None
            if sizes is not None and len(sizes) != width:
                sizes = None  # planes over 128 KiB: split in several blocks
            for p in range(width):
                plane = planes[p * k:(p + 1) * k]
                key = (col, p)
                raw[key] += k
                stored[key] += sizes[p] if sizes else (k if enc == 2 else k * size // len(planes))
                counts = collections.Counter(plane)
                distinct[key] = max(distinct[key], len(counts))
                entropy[key] += -sum(c * math.log2(c / k) for c in counts.values()) / 8
                bits = math.ceil(math.log2(len(counts))) if len(counts) > 1 else 0
                packed[key] += bits * k / 8
    if not flows:
        sys.exit(f"{path}: no block")
    print(f"{path}: {flows} flows in {blocks} blocks")
    print("| column | plane | raw B/flow | zstd B/flow | ratio | distinct (most) | entropy B/flow | bit-packed B/flow |")
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(raw):
        col, p = key
        r, s = raw[key] / flows, stored[key] / flows
        print(f"| {COLUMNS.get(col, col)} | {p} | {r:.2f} | {s:.2f} | {s / r:.3f} | {distinct[key]} | "
              f"{entropy[key] / flows:.2f} | {packed[key] / flows:.2f} |")
    total_raw, total_stored = sum(raw.values()) / flows, sum(stored.values()) / flows
    poor = [k for k in raw if stored[k] >= POOR * raw[k]]
    few = [k for k in raw if distinct[k] <= FEW and stored[k] < POOR * raw[k]]
    print(f"\nplanes: {total_raw:.2f} B/flow raw, {total_stored:.2f} after zstd")
    print(f"poor (zstd saves under {1 - POOR:.0%}): {sum(raw[k] for k in poor) / flows:.2f} B/flow raw")
    print(f"few-valued (at most {FEW} values; not poor): {sum(raw[k] for k in few) / flows:.2f} B/flow raw, "
          f"{sum(stored[k] for k in few) / flows:.2f} after zstd, "
          f"{sum(packed[k] for k in few) / flows:.2f} bit-packed")


if __name__ == "__main__":
    main()
