#!/usr/bin/env python3
"""Query benchmark: floe against nfdump on the same stored flows.

The same generated traffic (`floe send`, v9, 20% IPv6) goes to nfcapd and to
floed on loopback at a rate both store without loss; the script checks that
both stored every flow, then runs each query with each tool alternately
(median of --repeat runs), checks that both give the same answer, and
prints wall time, CPU time, peak RSS and flows/s, as markdown and JSON.

Usage: benches/compare-query.sh [--flows 2000000] [--repeat 3] [--workdir DIR]

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


def timed(cmd):
    """Runs a shell pipeline under /usr/bin/time -v; returns (stdout, wall, cpu, rss)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v", "bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {cmd}\n{p.stderr[-2000:]}")
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
    a = ap.parse_args()
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
    queries = [
        ("dump all flows to CSV",
         f"nfdump -R {nf} -q -o csv | wc -l",
         f"{floe} print {fl} --format csv | tail -n +2 | wc -l", same, same),
        ("filter proto tcp and dst port 443 (count)",
         f"nfdump -R {nf} -q -o csv 'proto tcp and dst port 443' | wc -l",
         f"{floe} filter 'proto tcp and dst port 443' {fl} | {floe} print --format csv | tail -n +2 | wc -l", same, same),
        ("one-hour window (count)",
         f"TZ=UTC nfdump -R {nf} -q -o csv -t {nf_win} | wc -l",
         f"{floe} filter '{fl_win}' --zone UTC --start '{t(w0, '%Y-%m-%d %H:%M')}' --end '{t(w0 + 3600, '%Y-%m-%d %H:%M')}' "
         f"--slack {a.span} {fl} "
         f"| {floe} print --format csv | tail -n +2 | wc -l", same, same),
        ("top 15 source addresses by bytes",
         f"nfdump -R {nf} -q -s srcip/bytes -n 15 -o csv",
         f"{floe} report -r ip-source-address --sort +octets --records 15 --format csv {fl}",
         lambda out: top(out, (4,), 9, 1), lambda out: top(out, (0,), 2, 1)),
        ("top 15 (src ip, dst ip, dst port) by bytes",
         f"nfdump -R {nf} -q -A srcip,dstip,dstport -O bytes -n 15 -o csv",
         f"{floe} report -r ip-source/destination-address/ip-destination-port --sort +octets --records 15 --max-keys 100000000 --format csv {fl}",
         lambda out: top(out, (3, 4, 6), 12, 0), lambda out: top(out, (0, 1, 2), 4, 1)),
    ]
    rows = []
    for name, nq, fq, nnorm, fnorm in queries:
        res = {"nfdump": [], "floe": []}
        answers = {}
        for _ in range(a.repeat):
            for tool, q in (("nfdump", nq), ("floe", fq)):
                out, wall, cpu, rss = timed(q)
                out = (nnorm if tool == "nfdump" else fnorm)(out)
                answers.setdefault(tool, out)
                if out != answers[tool]:
                    raise SystemExit(f"{tool} gave different answers on repeat for {name}")
                res[tool].append((wall, cpu, rss))
        if answers["nfdump"] != answers["floe"]:
            raise SystemExit(f"ANSWERS DIFFER for {name}: nfdump {answers['nfdump']} floe {answers['floe']}")
        row = {"query": name, "answer": answers["floe"][:200]}
        for tool in ("nfdump", "floe"):
            wall = statistics.median(r[0] for r in res[tool])
            cpu = statistics.median(r[1] for r in res[tool])
            rss = max(r[2] for r in res[tool])
            row[tool] = {"wall_s": wall, "cpu_s": cpu, "rss_bytes": rss, "flows_per_s": a.flows / wall}
        rows.append(row)
        print(f"{name}: answer {row['answer'][:60]}; nfdump {row['nfdump']['wall_s']:.2f} s, floe {row['floe']['wall_s']:.2f} s", flush=True)
    print()
    print(f"{a.flows} flows (v9, 20% IPv6), median of {a.repeat}")
    print("| query | nfdump flows/s | floe flows/s | floe/nfdump | nfdump CPU s | floe CPU s | nfdump peak RSS | floe peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        n, f = r["nfdump"], r["floe"]
        print(f"| {r['query']} | {n['flows_per_s']/1e6:.2f} M | {f['flows_per_s']/1e6:.2f} M | {f['flows_per_s']/n['flows_per_s']:.2f}x "
              f"| {n['cpu_s']:.2f} | {f['cpu_s']:.2f} | {n['rss_bytes']/2**20:.0f} MiB | {f['rss_bytes']/2**20:.0f} MiB |")
    with open(a.json, "w") as fh:
        json.dump(rows, fh, indent=1)
    if not a.workdir:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
