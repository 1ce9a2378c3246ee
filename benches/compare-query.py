#!/usr/bin/env python3
"""Query benchmark: floe against nfdump and DuckDB on the same flows.

The same generated traffic (`floe send`, v9, 20% IPv6) goes to nfcapd and to
floed on loopback at a rate both store without loss; the script checks that
both stored every flow, exports floe's flows to Parquet for DuckDB (`floe
export --format parquet`: addresses as 16-byte values, times as
timestamps, counters as unsigned integers), then runs each query with each tool
alternately (median of --repeat runs), checks that all give the same
answer, and prints wall time, CPU time, peak RSS and flows/s, as markdown
and JSON. DuckDB (the PyPI package, in benches' virtual environment, see
prereqs.sh) runs with as many threads as floe uses, and its time is the
query's alone, measured inside its process (not Python's start, the import
or the connection); its CPU and peak RSS are its whole process's.

Usage: benches/compare-query.sh [--flows 2000000] [--repeat 3] [--workdir DIR]
       [--tools nfdump,floe,duckdb] [--only 1,3]

With --workdir, the stored flows are kept in DIR and reused by the next run
with the same DIR (and --flows), so queries can be re-measured without
re-sending.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib
ingest = importlib.import_module("compare-ingest")

BIN = ingest.BIN


HERE = os.path.dirname(os.path.abspath(__file__))
VENV_PY = os.path.join(os.path.dirname(HERE), "target", "bench-venv", "bin", "python")


def timed(cmd):
    """Runs a shell pipeline under /usr/bin/time -v; returns (stdout, wall, cpu, rss).
    A command that says `seconds: S` on stderr (DuckDB's query time) has S as its wall time."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v", "bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {cmd}\n{p.stderr[-2000:]}")
    own = re.search(r"^seconds: ([\d.]+)$", p.stderr, re.M)
    if own:
        wall = float(own.group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return p.stdout, wall, user + sys_, rss


def top(out, key_cols, bytes_col, skip):
    """A top-N answer as text both tools can be compared on: the byte sums
    in order, and each key with its sum (addresses normalised). Keys whose
    sum ties another's may legitimately come in either order."""
    import ipaddress
    rows = []
    for line in out.strip().splitlines()[skip:]:
        c = [x.strip() for x in line.split(",")]
        if len(c) <= max(key_cols + (bytes_col,)):
            continue
        key = []
        for i in key_cols:
            try:
                key.append(str(ipaddress.ip_address(c[i])))
            except ValueError:
                key.append(str(int(float(c[i]))))
        rows.append((" ".join(key), int(float(c[bytes_col]))))
    return "; ".join(f"{k}={b}" for k, b in sorted(rows, key=lambda r: (-r[1], r[0])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default="query-results.json")
    ap.add_argument("--workdir", help="keep the stored flows here, and reuse them if already there")
    ap.add_argument("--span", default="24h", help="flows spread over this span before now (floe send --span)")
    ap.add_argument("--load-rate", type=int, default=300_000,
                    help="flows/s at which the data set is sent to each collector (low enough for both to keep all)")
    ap.add_argument("--tools", default="nfdump,floe,duckdb", help="the tools to run (floe always)")
    ap.add_argument("--only", help="the queries to run, by number from 1 (default: all)")
    a = ap.parse_args()
    tools = [t for t in ("nfdump", "floe", "duckdb") if t in a.tools.split(",") or t == "floe"]
    work = a.workdir or tempfile.mkdtemp(prefix="query-bench-")
    # Both collectors get the very same flows: one seed, one span, one end
    # time (floe send --until), so that time windows select the same flows.
    params = {"flows": a.flows, "span": a.span, "seed": 7}
    dirs = {tool: os.path.join(work, tool) for tool in ("nfcapd", "floed")}
    markers = {}
    for tool, d in dirs.items():
        m = os.path.join(d, "sent.json")
        markers[tool] = json.load(open(m)) if os.path.exists(m) else {}
    reuse = (a.workdir and all({k: mk.get(k) for k in params} == params for mk in markers.values())
             and markers["floed"].get("until") is not None
             and markers["nfcapd"].get("until") == markers["floed"].get("until")
             and all(ingest.stored(t, d) == a.flows for t, d in dirs.items()))
    if reuse:
        until = markers["floed"]["until"]
        print(f"reusing the {a.flows} flows both collectors stored in {work}", flush=True)
    else:
        until = int(time.time())
        for tool, d in dirs.items():
            subprocess.run(["rm", "-rf", d])
            os.makedirs(d)
            port = ingest.free_port()
            p = ingest.start(tool, port, d)
            subprocess.run([os.path.join(BIN, "floe"), "send", "--to", f"127.0.0.1:{port}", "--netflow-version", "9",
                            "--count", str(a.flows), "--rate", str(a.load_rate), "--seed", "7", "--span", a.span,
                            "--until", str(until)], capture_output=True, text=True, check=True)
            time.sleep(2.5)
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
            stored = ingest.stored(tool, d)
            if stored != a.flows:
                raise SystemExit(f"{tool} stored {stored} of {a.flows} flows; lower --load-rate")
            with open(os.path.join(d, "sent.json"), "w") as fh:
                json.dump({**params, "until": until}, fh)
    dirs = {tool: os.path.join(d, "flows") for tool, d in dirs.items()}
    floe = os.path.join(BIN, "floe")
    nf, fl = dirs["nfcapd"], dirs["floed"]
    # A one-hour window in the middle of the span: nfdump -t keeps the flows
    # that lie within it (first >= start and last <= end, measured: not the
    # ones that overlap it), so floe is asked the same with a filter. floe
    # picks files by their names (receive time) widened by --slack; this
    # data set is a day of flow times sent in seconds, so every flow sits in
    # the files of the last minutes, and the slack must cover the whole span
    # (a live collector's files hold flows within minutes of their names).
    span_s = int(a.span[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[a.span[-1]]
    w0 = (until - span_s // 2) // 3600 * 3600
    t = lambda s, f: time.strftime(f, time.gmtime(s))
    nf_win = f"{t(w0, '%Y/%m/%d.%H:%M:%S')}-{t(w0 + 3600, '%Y/%m/%d.%H:%M:%S')}"
    fl_win = f"first >= {t(w0, '%Y-%m-%dT%H:%M:%S')} and last <= {t(w0 + 3600, '%Y-%m-%dT%H:%M:%S')}"
    same = lambda out: out.strip()
    count = lambda out: str(int(out.strip().splitlines()[-1].split(",")[0]))
    nf_count = lambda out: re.search(r"total flows: (\d+)", out).group(1)
    threads = min(os.cpu_count() or 1, 8)
    parquet = os.path.join(work, "parquet")
    if "duckdb" in tools:
        marker = os.path.join(work, "parquet.json")
        if not (os.path.exists(parquet) and os.path.exists(marker) and json.load(open(marker)) == {**params, "until": until}):
            # floe's own Parquet export: addresses as 16-byte values (IPv4
            # mapped), times as timestamps, counters as unsigned integers;
            # one file per floe file, one row group per block.
            print("exporting floe's flows to Parquet for DuckDB (floe export)", flush=True)
            subprocess.run(["rm", "-rf", parquet])
            subprocess.run([floe, "export", "--format", "parquet", "--dir", parquet, fl],
                           check=True, stdout=subprocess.DEVNULL)
            n = subprocess.run([VENV_PY, os.path.join(HERE, "duckdb_query.py"), parquet, "1",
                                "SELECT count(*) FROM flows"], capture_output=True, text=True, check=True).stdout.strip()
            if int(n) != a.flows:
                raise SystemExit(f"the Parquet tree holds {n} of {a.flows} flows")
            json.dump({**params, "until": until}, open(marker, "w"))
    duck = lambda sql: f"{VENV_PY} {os.path.join(HERE, 'duckdb_query.py')} {parquet} {threads} \"{sql}\""
    ts = lambda s: t(s, "%Y-%m-%d %H:%M:%S")
    queries = [
        ("dump all flows to CSV", {
            "nfdump": (f"nfdump -R {nf} -q -o csv | wc -l", same),
            # The header line is not a flow.
            "floe": (f"{floe} print {fl} --format csv | wc -l", lambda out: str(int(out.strip()) - 1)),
            "duckdb": (duck("COPY (SELECT * FROM flows) TO '/dev/null' (FORMAT csv, HEADER false)"), count)}),
        ("filter proto tcp and dst port 443 (count)", {
            "nfdump": (f"nfdump -R {nf} -o null 'proto tcp and dst port 443'", nf_count),
            "floe": (f"{floe} filter --count-only 'proto tcp and dst port 443' {fl}", same),
            "duckdb": (duck("SELECT count(*) FROM flows WHERE proto = 6 AND dst_port = 443"), count)}),
        ("one-hour window (count)", {
            "nfdump": (f"TZ=UTC nfdump -R {nf} -o null -t {nf_win}", nf_count),
            "floe": (f"{floe} filter --count-only '{fl_win}' --zone UTC --start '{t(w0, '%Y-%m-%d %H:%M')}' "
                     f"--end '{t(w0 + 3600, '%Y-%m-%d %H:%M')}' --slack {a.span} {fl}", same),
            "duckdb": (duck(f"SELECT count(*) FROM flows WHERE first >= TIMESTAMPTZ '{ts(w0)}+00' "
                            f"AND last <= TIMESTAMPTZ '{ts(w0 + 3600)}+00'"), count)}),
        ("top 15 source addresses by bytes", {
            "nfdump": (f"nfdump -R {nf} -q -s srcip/bytes -n 15 -o csv", lambda out: top(out, (4,), 9, 1)),
            "floe": (f"{floe} report -r ip-source-address --sort +octets --records 15 --format csv {fl}",
                     lambda out: top(out, (0,), 2, 1)),
            "duckdb": (duck("SELECT src, sum(octets) AS b FROM flows GROUP BY src ORDER BY b DESC, src LIMIT 15"),
                       lambda out: top(out, (0,), 1, 0))}),
        ("top 15 (src ip, dst ip, dst port) by bytes", {
            "nfdump": (f"nfdump -R {nf} -q -A srcip,dstip,dstport -O bytes -n 15 -o csv",
                       lambda out: top(out, (3, 4, 6), 12, 0)),
            "floe": (f"{floe} report -r ip-source/destination-address/ip-destination-port --sort +octets --records 15 "
                     f"--max-keys 100000000 --format csv {fl}", lambda out: top(out, (0, 1, 2), 4, 1)),
            "duckdb": (duck("SELECT src, dst, dst_port, sum(octets) AS b FROM flows GROUP BY src, dst, dst_port "
                            "ORDER BY b DESC, src, dst, dst_port LIMIT 15"), lambda out: top(out, (0, 1, 2), 3, 0))}),
    ]
    if a.only:
        keep = {int(x) for x in a.only.split(",")}
        queries = [q for i, q in enumerate(queries, 1) if i in keep]
    rows = []
    for name, per_tool in queries:
        res = {tool: [] for tool in tools}
        answers = {}
        for _ in range(a.repeat):
            for tool in tools:
                q, norm = per_tool[tool]
                out, wall, cpu, rss = timed(q)
                out = norm(out)
                answers.setdefault(tool, out)
                if out != answers[tool]:
                    raise SystemExit(f"{tool} gave different answers on repeat for {name}")
                res[tool].append((wall, cpu, rss))
        for tool in tools:
            if answers[tool] != answers["floe"]:
                raise SystemExit(f"ANSWERS DIFFER for {name}: {tool} {answers[tool]} floe {answers['floe']}")
        row = {"query": name, "answer": answers["floe"][:200], "threads": threads}
        for tool in tools:
            wall = statistics.median(r[0] for r in res[tool])
            cpu = statistics.median(r[1] for r in res[tool])
            rss = max(r[2] for r in res[tool])
            row[tool] = {"wall_s": wall, "cpu_s": cpu, "rss_bytes": rss, "flows_per_s": a.flows / wall,
                         "walls": [r[0] for r in res[tool]]}
        rows.append(row)
        print(f"{name}: answer {row['answer'][:60]}; " + ", ".join(f"{tool} {row[tool]['wall_s']:.3f} s" for tool in tools),
              flush=True)
    print()
    print(f"{a.flows} flows (v9, 20% IPv6), median of {a.repeat}, {threads} threads")
    print("| query | " + " | ".join(f"{t} flows/s (CPU s, peak RSS)" for t in tools) + " | floe/nfdump | floe/DuckDB |")
    print("|---|" + "---|" * (len(tools) + 2))
    for r in rows:
        cells = [f"{r[t]['flows_per_s']/1e6:.2f} M ({r[t]['cpu_s']:.2f}, {r[t]['rss_bytes']/2**20:.0f} MiB)" for t in tools]
        ratio = lambda t: f"{r['floe']['flows_per_s']/r[t]['flows_per_s']:.2f}x" if t in r else ""
        print(f"| {r['query']} | " + " | ".join(cells) + f" | {ratio('nfdump')} | {ratio('duckdb')} |")
    with open(a.json, "w") as fh:
        json.dump(rows, fh, indent=1)
    if not a.workdir:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
