#!/usr/bin/env python3
"""Runs one SQL query with DuckDB over the Parquet tree of `floe export
--format parquet`, as the query benchmark's third tool
(benches/compare-query.py). Prints the answer rows as CSV on stdout (16-byte
addresses written as addresses, after the timing) and, on stderr,
`seconds: S`, the time of the query alone (after `import duckdb` and
connecting, which are not the query's), so that DuckDB is measured at its
best.

Usage: duckdb_query.py TREE THREADS SQL
(the view `flows` has first, last, src, dst, src_port, dst_port, proto,
packets, octets)
"""
import ipaddress
import sys
import time

import duckdb

parquet, threads, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads TO {threads}")
con.execute(f"""CREATE VIEW flows AS
    SELECT start_time AS first, end_time AS last, src_addr AS src, dst_addr AS dst, src_port, dst_port,
           protocol AS proto, packets, octets
    FROM read_parquet('{parquet}/**/*.parquet', hive_partitioning = true)""")
t0 = time.perf_counter()
rows = con.execute(sql).fetchall()
secs = time.perf_counter() - t0


def text(x):
    if isinstance(x, (bytes, bytearray)) and len(x) == 16:
        a = ipaddress.IPv6Address(bytes(x))
        return str(a.ipv4_mapped or a)
    return str(x)


for r in rows:
    print(",".join(text(x) for x in r))
print(f"seconds: {secs:.6f}", file=sys.stderr)
