#!/usr/bin/env python3
"""The web benchmark: floe web's graph against the way FlowGraph draws it.

A day of generated flows (`floe send`, v9, 20% IPv6) is stored by nfcapd
and by floed, ten minutes at a time, each ten-minute batch in its own file
named for its period (as a collector running that day would have filed
them by arrival). Then, on the same flows in the same run:

* FlowGraph's way: for each of the day's 144 intervals, one
  `nfdump -R <that interval's file> -t <interval> -s srcip/bytes -n 10`
  (FlowGraph runs nfdump per interval and caches the result);
* floe: the top 10 source addresses per 10 minutes over the day, asked of
  `floe web` (`/api/graph.json`): cold (new process, empty cache), warm
  from the on-disk cache of per-file partial answers (new process), and
  warm in memory (the same process again); and `floe report --series 10`,
  the same code from the command line without a cache;
* a host's month (`/hosts/host`) over a month of ten-minute files
  (`month-store`), cold and warm from the on-disk cache.

Prints one markdown table (wall time, CPU time, peak RSS) and writes JSON.

Usage: benches/compare-web.sh [--flows 10000000] [--month-flows 3000000]
       [--days 30] [--repeat 3] [--workdir DIR] [--quick]

With --workdir the stored flows are kept and reused by the next run with
the same parameters.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib
ingest = importlib.import_module("compare-ingest")

BIN = ingest.BIN
FLOE = os.path.join(BIN, "floe")
DAY = 1_795_305_600  # 2026-11-22T00:00:00Z
INTERVALS = 144  # of the day; --hours changes it


def slot_names(i, extra):
    """Names for the interval's file (and any extra file a batch made)."""
    t = time.gmtime(DAY + i * 600 + extra * 60)
    return (time.strftime("nfcapd.%Y%m%d%H%M", t),
            time.strftime("%Y/%Y-%m/%Y-%m-%d/floe.%Y-%m-%d.%H%M%S+0000", t))


def store_day(work, flows):
    """Sends the day, batch by batch, to a fresh nfcapd and floed per
    batch, moving each batch's files to the interval's name."""
    nf, fl = os.path.join(work, "nfcapd"), os.path.join(work, "floed")
    for d in (nf, fl):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    per = flows // INTERVALS
    for i in range(INTERVALS):
        count = per + (flows - per * INTERVALS if i == INTERVALS - 1 else 0)
        for tool in ("nfcapd", "floed"):
            d = tempfile.mkdtemp(prefix=f"web-bench-{tool}-", dir=work)
            port = ingest.free_port()
            p = ingest.start(tool, port, d)
            subprocess.run([FLOE, "send", "--to", f"127.0.0.1:{port}", "--netflow-version", "9", "--count",
                            str(count), "--rate", "300000", "--seed", str(1000 + i), "--span", "10m",
                            "--until", str(DAY + (i + 1) * 600)], capture_output=True, text=True, check=True)
            time.sleep(0.5)
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
            if tool == "nfcapd":
                files = sorted(f for f in os.listdir(os.path.join(d, "flows")) if f.startswith("nfcapd.2"))
                for extra, f in enumerate(files):
                    os.rename(os.path.join(d, "flows", f), os.path.join(nf, slot_names(i, extra)[0]))
            else:
                files = sorted(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(d, "flows"))
                               for f in fs if f.startswith("floe."))
                for extra, f in enumerate(files):
                    to = os.path.join(fl, slot_names(i, extra)[1])
                    os.makedirs(os.path.dirname(to), exist_ok=True)
                    os.rename(f, to)
            shutil.rmtree(d)
        print(f"\rstored interval {i + 1}/{INTERVALS}", end="", flush=True)
    print()
    return nf, fl


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def flowgraph_way(nf):
    """Every interval's top 10 by nfdump, one run per interval."""
    files = sorted(os.listdir(nf))
    t0, c0 = time.time(), children_cpu()
    rss = 0
    for i in range(INTERVALS):
        a, b = DAY + i * 600, DAY + (i + 1) * 600
        lo, hi = slot_names(i, 0)[0], slot_names(i, 9)[0]
        mine = [f for f in files if lo <= f <= hi]
        if not mine:
            continue
        win = time.strftime("%Y/%m/%d.%H:%M:%S", time.gmtime(a)) + "-" + time.strftime(
            "%Y/%m/%d.%H:%M:%S", time.gmtime(b))
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "nfdump", "-R", f"{nf}/{mine[0]}:{mine[-1]}", "-t", win,
                            "-s", "srcip/bytes", "-n", "10", "-q"], capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"nfdump failed: {p.stderr[-500:]}")
        rss = max(rss, int(p.stderr.strip().splitlines()[-1]) * 1024)
    return time.time() - t0, children_cpu() - c0, rss


class Web:
    """A `floe web` process on a free loopback port."""

    def __init__(self, store, cache):
        self.p = subprocess.Popen([FLOE, "web", "--listen", "127.0.0.1:0", "--zone", "UTC", "--cache", cache,
                                   "--time-limit", "600", store], stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        m = re.search(r"http://([\d.:]+)/", line)
        if not m:
            raise SystemExit(f"floe web did not start: {line}")
        self.base = f"http://{m.group(1)}"
        self.cpu0 = self.cpu()

    def cpu(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) * 1024

    def get(self, path):
        c0, t0 = self.cpu(), time.time()
        with urllib.request.urlopen(self.base + path, timeout=900) as r:
            body = r.read()
        return body, time.time() - t0, self.cpu() - c0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


def web_runs(store, path, repeat, work):
    """(cold, warm from disk, warm in memory): each (wall, cpu, rss, body)."""
    cold, disk, memory = [], [], []
    for _ in range(repeat):
        cache = tempfile.mkdtemp(prefix="web-cache-", dir=work)
        w = Web(store, cache)
        body, wall, cpu = w.get(path)
        cold.append((wall, cpu, w.rss(), body))
        w.stop()
        w = Web(store, cache)
        body, wall, cpu = w.get(path)
        disk.append((wall, cpu, w.rss(), body))
        body, wall, cpu = w.get(path)
        memory.append((wall, cpu, w.rss(), body))
        w.stop()
        shutil.rmtree(cache)
    med = lambda runs: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                        max(r[2] for r in runs), runs[0][3])
    return med(cold), med(disk), med(memory)


def main():
    global INTERVALS
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--month-flows", type=int, default=3_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--hours", type=int, default=24, help="of the day stored (ten-minute files)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir")
    ap.add_argument("--json", default="web-results.json")
    ap.add_argument("--quick", action="store_true", help="a small run (CI): 288k flows, 3 days")
    a = ap.parse_args()
    if a.quick:
        a.flows, a.month_flows, a.days, a.hours, a.repeat = 120_000, 200_000, 3, 2, 1
    work = a.workdir or tempfile.mkdtemp(prefix="web-bench-")
    os.makedirs(work, exist_ok=True)
    marker = os.path.join(work, "stored.json")
    INTERVALS = a.hours * 6
    params = {"flows": a.flows, "month_flows": a.month_flows, "days": a.days, "hours": a.hours}
    nf, fl, month = (os.path.join(work, d) for d in ("nfcapd", "floed", "month"))
    old = json.load(open(marker)) if os.path.exists(marker) else {}
    if old.get("params") == params:
        top_host = old["top_host"]
        print(f"reusing the stores in {work}", flush=True)
    else:
        store_day(work, a.flows)
        shutil.rmtree(month, ignore_errors=True)
        out = subprocess.run([os.path.join(BIN, "month-store"), month, str(a.month_flows), str(a.days)],
                             capture_output=True, text=True, check=True).stdout.split()
        top_host = out[1]
        json.dump({"params": params, "top_host": top_host}, open(marker, "w"))
    for tool, d in (("nfcapd", nf), ("floed", fl)):
        n = ingest.stored(tool, work_store(tool, d))
        if n != a.flows:
            raise SystemExit(f"{tool} stored {n} of {a.flows} flows")

    day_end = time.strftime("%Y-%m-%d %H:%M", time.gmtime(DAY + INTERVALS * 600))
    rows = []
    wall, cpu, rss = flowgraph_way(nf)
    rows.append((f"graph, FlowGraph's way ({INTERVALS} nfdump runs)", wall, cpu, rss))
    t0, c0 = time.time(), children_cpu()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", FLOE, "report", "-r", "time-series/ip-source-address",
                        "--interval", "600", "--series", "10", "--zone", "UTC", "-t", "2026-11-22", "-T",
                        day_end, "-f", "json", fl], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    rows.append(("graph, floe report --series 10 (no cache)", time.time() - t0, children_cpu() - c0,
                 int(p.stderr.strip().splitlines()[-1]) * 1024))
    graph = "/api/graph.json?" + urllib.parse.urlencode({
        "key": "ip-source-address", "from": "2026-11-22 00:00", "to": day_end, "interval": "10m",
        "n": "10", "unit": "bytes"})
    cold, disk, memory = web_runs(fl, graph, a.repeat, work)
    answer = json.loads(cold[3])["answer"]
    report = json.loads(p.stdout)["answer"]
    for k in ("series", "other", "total", "starts"):
        if answer[k] != report[k]:
            raise SystemExit(f"floe web and floe report --series disagree on {k}")
    rows.append(("graph, floe web cold (new process, empty cache)",) + cold[:3])
    rows.append(("graph, floe web warm (new process, on-disk cache)",) + disk[:3])
    rows.append(("graph, floe web warm (same process)",) + memory[:3])
    month_path = "/hosts/host?" + urllib.parse.urlencode({"addr": top_host, "net": "10.0.0.0/16",
                                                        "month": "2026-11"})
    mcold, mdisk, mmem = web_runs(month, month_path, a.repeat, work)
    rows.append((f"host month ({a.days} days of 10-min files), cold",) + mcold[:3])
    rows.append((f"host month ({a.days} days of 10-min files), warm (on-disk cache)",) + mdisk[:3])
    rows.append((f"host month ({a.days} days of 10-min files), warm (same process)",) + mmem[:3])

    fg = rows[0][1]
    print(f"\n{a.flows} flows over {a.hours} h ({INTERVALS} ten-minute files); month: {a.month_flows} flows over "
          f"{a.days} days; median of {a.repeat}\n")
    print("| question | wall s | CPU s | peak RSS MB | FlowGraph's way / this |")
    print("|---|---|---|---|---|")
    for name, wall, cpu, rss in rows:
        ratio = f"{fg / wall:.1f}x" if name.startswith("graph") else ""
        print(f"| {name} | {wall:.3f} | {cpu:.2f} | {rss / 1e6:.0f} | {ratio} |")
    json.dump({"params": params, "rows": [dict(zip(("question", "wall_s", "cpu_s", "rss_bytes"), r)) for r in rows]},
              open(a.json, "w"), indent=1)


def work_store(tool, d):
    """`ingest.stored` takes the collector's directory (it adds flows/)."""
    link = d + ".dir"
    os.makedirs(link, exist_ok=True)
    target = os.path.join(link, "flows")
    if not os.path.islink(target):
        os.symlink(d, target)
    return link


if __name__ == "__main__":
    main()
