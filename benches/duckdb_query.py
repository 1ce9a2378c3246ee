#!/usr/bin/env python3
"""Runs one SQL query with DuckDB over a Parquet file of flows, as the
query benchmark's third tool (benches/compare-query.py). Prints the
answer rows as CSV on stdout and, on stderr, `seconds: S`, the time of the
query alone (after `import duckdb` and connecting, which are not the
query's), so that DuckDB is measured at its best.

Usage: duckdb_query.py PARQUET THREADS SQL      (the table is `flows`)
       duckdb_query.py --load CSV PARQUET       (CSV from `floe print -f csv`)
"""
import sys
import time

import duckdb

if sys.argv[1] == "--load":
    csv, parquet = sys.argv[2], sys.argv[3]
    con = duckdb.connect()
    # Addresses stay strings (as a user would load them); times become
    # timestamps, numbers integers.
    con.execute(f"""
        COPY (
          SELECT CAST(replace("start-time", 'Z', '') AS TIMESTAMP) AS first,
                 CAST(replace("end-time", 'Z', '') AS TIMESTAMP) AS last,
                 "ip-source-address" AS src, "ip-destination-address" AS dst,
                 CAST("ip-source-port" AS USMALLINT) AS src_port,
                 CAST("ip-destination-port" AS USMALLINT) AS dst_port,
                 CAST("ip-protocol" AS UTINYINT) AS proto,
                 CAST(packets AS UBIGINT) AS packets, CAST(octets AS UBIGINT) AS octets
          FROM read_csv('{csv}', header = true, all_varchar = true)
        ) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)
    """)
    print(con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0])
    sys.exit(0)

parquet, threads, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads TO {threads}")
con.execute(f"CREATE VIEW flows AS SELECT * FROM read_parquet('{parquet}')")
t0 = time.perf_counter()
rows = con.execute(sql).fetchall()
secs = time.perf_counter() - t0
for r in rows:
    print(",".join(str(x) for x in r))
print(f"seconds: {secs:.6f}", file=sys.stderr)
