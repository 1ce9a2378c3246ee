#!/usr/bin/env python3
"""Ingest benchmark: floed against Debian's nfcapd on loopback.

Both collectors get the same traffic from the same sender (`floe send`,
generated realistic flows, 30 flows per datagram) at rising rates, one
collector at a time, alternating at each rate. A collector passes a rate
when it stores every flow sent in a majority of tries (`--tries`, default
3, stopping as soon as the majority is decided): on a 2-core VM one try
of a few seconds is decided by the neighbours as much as by the
collector (the same collector passed and failed the same rate in runs
minutes apart), and a majority keeps one unlucky burst from ending a
collector's ladder early or one lucky one from lifting it. Prints a
markdown table and writes JSON.

Two sender modes, because the result depends on them: one datagram per
system call (as exporters and replay tools send; on loopback every
datagram is then its own delivery, and a receiver that wakes per datagram
pays for each), and up to 32 due datagrams per sendmmsg call (a cheaper
sender, and delivery in bursts, as a busy NIC hands packets over).

Usage: benches/compare-nfcapd.sh [--versions 5,9] [--seconds 2] [--tries 3] [--rates 0.5,1,...]
(the shell wrapper installs nfdump and builds floe in release mode).

To compare two floed builds: `--binary old=PATH --collectors floed@old,floed
--rates 2 --tries 7 --pin`; the last table gives each build's CPU per flow
in every try.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_cpu_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


NFCAPD_COMPRESS = {"none": [], "lzo": ["-z"], "lz4": ["-y"], "bz2": ["-j"]}

# The ClickHouse server that floed-clickhouse ships to (started by main).
CLICKHOUSE = {}


def start_clickhouse(priority="normal"):
    """Debian's clickhouse-server as a plain process on 127.0.0.1, with a
    temporary data directory, and floe's legacy schema applied."""
    d = tempfile.mkdtemp(prefix="ingest-clickhouse-")
    http = free_tcp_port()
    for sub in ("data", "tmp", "log"):
        os.makedirs(os.path.join(d, sub))
    with open(os.path.join(d, "users.xml"), "w") as f:
        f.write('<?xml version="1.0"?><yandex><profiles><default/></profiles><users><default><password></password>'
                '<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>'
                '<quotas><default/></quotas></yandex>')
    with open(os.path.join(d, "config.xml"), "w") as f:
        f.write(f'<?xml version="1.0"?><yandex><logger><level>warning</level><log>{d}/log/server.log</log>'
                f'<errorlog>{d}/log/error.log</errorlog></logger><http_port>{http}</http_port>'
                f'<tcp_port>{free_tcp_port()}</tcp_port><interserver_http_port>{free_tcp_port()}</interserver_http_port>'
                f'<listen_host>127.0.0.1</listen_host><path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>'
                f'<users_config>{d}/users.xml</users_config><mark_cache_size>67108864</mark_cache_size></yandex>')
    server = "/usr/sbin/clickhouse-server" if os.path.exists("/usr/sbin/clickhouse-server") else "clickhouse-server"
    # With --clickhouse-priority idle the server runs under SCHED_IDLE: it
    # gets only the CPU that the sender and the collector leave, as if it
    # had a host of its own (where it belongs); floed's shipping then
    # catches up after each burst from the local store.
    prio = ["chrt", "--idle", "0"] if priority == "idle" else []
    p = subprocess.Popen(prio + [server, f"--config-file={d}/config.xml"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", http), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    subprocess.run([os.path.join(BIN, "floe"), "clickhouse", "init", url, "--legacy"], check=True)
    CLICKHOUSE.update(url=url, proc=p, dir=d)


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# Other floed binaries, by name (--binary NAME=PATH): collectors
# "floed@NAME", run with the default configuration, to set builds side by
# side on the same sends.
BINARIES = {}

# With --pin: the collector's CPUs and the sender's (taskset lists).
PIN = {}


def start(tool, port, d, nfcapd_compress="none"):
    if tool.startswith("floed"):
        cfg = os.path.join(d, "floed.toml")
        with open(cfg, "w") as f:
            f.write('zone = "UTC"\n')
            if tool == "floed-nolive":
                # The same collector without its live view (floe top's feed).
                f.write('[live]\nenabled = false\n')
            if tool == "floed-always":
                # The live view counting its talkers whether anyone looks
                # or not: what floed costs while someone watches.
                f.write('[live]\ntalkers = "always"\n')
            if tool == "floed-clickhouse":
                # The same collector shipping every flow to ClickHouse.
                f.write('[clickhouse]\nurl = "%s"\ncollector = "bench-%d"\n' % (CLICKHOUSE["url"], port))
        floed = BINARIES[tool[len("floed@"):]] if tool.startswith("floed@") else os.path.join(BIN, "floed")
        cmd = [floed, "--config", cfg, "--listen", f"127.0.0.1:{port}",
               "--dir", os.path.join(d, "flows"), "--receive-buffer", "16M"]
        p = subprocess.Popen(PIN.get("collector", []) + cmd, stderr=open(os.path.join(d, "log"), "w"))
        for _ in range(100):
            time.sleep(0.05)
            if "ready" in open(os.path.join(d, "log")).read():
                break
    else:
        os.makedirs(os.path.join(d, "flows"))
        cmd = ["nfcapd", "-w", os.path.join(d, "flows"), "-b", "127.0.0.1", "-p", str(port),
               "-B", str(16 << 20), "-t", "600"] + NFCAPD_COMPRESS[nfcapd_compress]
        p = subprocess.Popen(PIN.get("collector", []) + cmd, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "log"), "w"))
        time.sleep(0.8)
    return p


def stored(tool, d):
    if tool.startswith("floed"):
        out = subprocess.run([os.path.join(BIN, "floe"), "info", "--json", os.path.join(d, "flows")],
                             capture_output=True, text=True, check=True).stdout
        return sum(e["flows"] for e in json.loads(out)["entries"])
    out = subprocess.run(["nfdump", "-R", os.path.join(d, "flows"), "-I"], capture_output=True, text=True).stdout
    m = re.search(r"^Flows:\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else 0


def run(tool, version, rate, seconds, seed, nfcapd_compress="none", per_call=1):
    d = tempfile.mkdtemp(prefix=f"ingest-{tool}-")
    port = free_port()
    p = start(tool, port, d, nfcapd_compress)
    cpu0, _ = proc_cpu_rss(p.pid)
    count = int(rate * seconds)
    s = subprocess.run(PIN.get("sender", []) + [os.path.join(BIN, "floe"), "send", "--to", f"127.0.0.1:{port}", "--netflow-version",
                        str(version), "--count", str(count), "--rate", str(int(rate)), "--seed", str(seed),
                        "--per-call", str(per_call)],
                       capture_output=True, text=True, check=True)
    m = re.search(r"(\d+) flows in (\d+) datagrams .* in ([\d.]+) s", s.stderr)
    sent, secs = int(m.group(1)), float(m.group(3))
    time.sleep(2.5)  # longer than the flush interval
    cpu1, rss = proc_cpu_rss(p.pid)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    got = stored(tool, d)
    subprocess.run(["rm", "-rf", d])
    shipped = None
    if tool == "floed-clickhouse":
        # How much of the burst reached the server before floed stopped
        # (the rest stays in the local store, shipped at the next start).
        import urllib.request
        ch = lambda q: urllib.request.urlopen(CLICKHOUSE["url"] + "/?query=" + urllib.parse.quote(q)).read().decode()
        shipped = int(ch(f"SELECT count() FROM floe.flows WHERE collector = 'bench-{port}'"))
        # Emptied after each try: a ladder ships hundreds of millions of
        # flows, tens of GB in the legacy schema with its views.
        for t in ch("SELECT name FROM system.tables WHERE database = 'floe' "
                    "AND engine NOT IN ('MaterializedView', 'View')").split():
            # A statement: POST (a GET is read-only).
            urllib.request.urlopen(CLICKHOUSE["url"] + "/", data=f"TRUNCATE TABLE floe.`{t}`".encode()).read()
    return {"shipped": shipped, "tool": tool, "version": version, "per_call": per_call, "rate": rate, "sent": sent, "send_rate": sent / secs,
            "stored": got, "lossless": got == sent, "cpu_s_per_mflow": (cpu1 - cpu0) / max(sent, 1) * 1e6,
            "rss_bytes": rss}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", default="5,9")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rates", default="1,1.5,2,2.25,2.5,2.75,3,3.25,3.5,3.75,4,4.5,5,5.5,6,6.5,7,8,9,10")
    ap.add_argument("--tries", type=int, default=3,
                    help="tries per collector and rate; a rate passes when a majority is lossless")
    ap.add_argument("--json", default="ingest-results.json")
    ap.add_argument("--per-call", default="1,32",
                    help="sender modes: datagrams per system call (floe send --per-call), each run in turn")
    ap.add_argument("--collectors", default="nfcapd,floed",
                    help="which to run: nfcapd, floed, floed-nolive (floed without its live view), "
                         "floed-always (its view counting the talkers whether anyone looks or not), "
                         "floed-clickhouse (floed shipping to a clickhouse-server this script starts)")
    ap.add_argument("--binary", action="append", default=[], metavar="NAME=PATH",
                    help="another floed build, run as collector floed@NAME with the default configuration "
                         "(e.g. --binary old=/tmp/floed-old --collectors floed@old,floed --rates 2 --tries 7: "
                         "the builds alternate try by try on the same sends; on a noisy machine that is "
                         "the only fair way to compare them)")
    ap.add_argument("--pin", action="store_true",
                    help="the collector on one CPU and the sender on another (taskset, the first two this "
                         "script may use): where the threads land otherwise moved a collector's CPU per flow "
                         "by a quarter between tries on a 2-core VM. Every floed thread then shares one CPU, "
                         "so pinned lossless rates do not compare with unpinned ones")
    ap.add_argument("--clickhouse-priority", choices=["normal", "idle"], default="normal",
                    help="idle: run the ClickHouse server under SCHED_IDLE, a stand-in for a server on another host")
    ap.add_argument("--nfcapd-compress", choices=sorted(NFCAPD_COMPRESS), default="none",
                    help="nfcapd's file compression (floed always compresses with zstd)")
    a = ap.parse_args()
    rates = [float(r) * 1e6 for r in a.rates.split(",")]
    versions = [int(x) for x in a.versions.split(",")]
    modes = [int(x) for x in a.per_call.split(",")]
    tools = a.collectors.split(",")
    if a.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            ap.error(f"--pin needs two CPUs; this process may use {cpus}")
        PIN.update(collector=["taskset", "-c", str(cpus[0])], sender=["taskset", "-c", str(cpus[1])])
    for b in a.binary:
        name, _, path = b.partition("=")
        if not re.fullmatch(r"[\w.-]+", name) or not os.access(path, os.X_OK):
            ap.error(f"--binary {b}: want NAME=PATH, NAME of letters, digits, '.', '-' or '_', "
                     "PATH an executable floed")
        if name in BINARIES:
            ap.error(f"--binary {name}: given twice")
        BINARIES[name] = os.path.abspath(path)
    known = {"nfcapd", "floed", "floed-nolive", "floed-always", "floed-clickhouse"}
    for t in tools:
        if t.startswith("floed@"):
            if t[len("floed@"):] not in BINARIES:
                ap.error(f"collector {t}: no --binary {t[len('floed@'):]}=PATH")
        elif t not in known:
            ap.error(f"collector {t}: one of {', '.join(sorted(known))} or floed@NAME")
    if "floed-clickhouse" in tools:
        start_clickhouse(a.clickhouse_priority)
    results = []
    best = {}
    for pc in modes:
        for v in versions:
            failed = set()
            for i, rate in enumerate(rates):
                tries = {tool: [] for tool in tools if tool not in failed}
                need = a.tries // 2 + 1
                # Alternate the collectors try by try, until each has a
                # majority one way or the other.
                while True:
                    undecided = [t for t, rs in tries.items()
                                 if sum(r["lossless"] for r in rs) < need
                                 and sum(not r["lossless"] for r in rs) < need]
                    if not undecided:
                        break
                    for tool in undecided:
                        r = run(tool, v, rate, a.seconds, seed=i + 1 + 100 * len(tries[tool]),
                                nfcapd_compress=a.nfcapd_compress, per_call=pc)
                        r["try"] = len(tries[tool]) + 1
                        results.append(r)
                        tries[tool].append(r)
                        print(f"v{v} sender {pc:2}/call {tool:6} rate {rate/1e6:4.2f} M/s try {r['try']}: sent {r['sent']} at "
                              f"{r['send_rate']/1e6:.2f} M/s, stored {r['stored']} ({'lossless' if r['lossless'] else 'LOSS'}), "
                              f"{r['cpu_s_per_mflow']:.2f} CPU s/M flows, RSS {r['rss_bytes']/2**20:.0f} MiB"
                              + (f", shipped {r['shipped']} before stop" if r["shipped"] is not None else ""), flush=True)
                for tool, rs in tries.items():
                    passed = [r for r in rs if r["lossless"]]
                    if len(passed) >= need:
                        # The figures of the lossless tries: the slowest send
                        # rate, the median CPU, the highest RSS.
                        cpu = sorted(r["cpu_s_per_mflow"] for r in passed)[len(passed) // 2]
                        best[(pc, tool, v)] = {**min(passed, key=lambda r: r["send_rate"]),
                                               "cpu_s_per_mflow": cpu,
                                               "rss_bytes": max(r["rss_bytes"] for r in passed),
                                               "tries": f"{len(passed)}/{len(rs)}"}
                    else:
                        failed.add(tool)
                if len(failed) == len(tools):
                    break
    print()
    print(f"| version | datagrams per send call | collector | highest rate lossless in most of {a.tries} tries (flows/s) "
          "| CPU s per M flows | peak RSS |")
    print("|---|---|---|---|---|---|")
    for pc in modes:
        for v in versions:
            for tool in tools:
                r = best.get((pc, tool, v))
                if r:
                    print(f"| v{v} | {pc} | {tool} | {r['send_rate']/1e6:.2f} M | {r['cpu_s_per_mflow']:.2f} | "
                          f"{r['rss_bytes']/2**20:.0f} MiB |")
                else:
                    print(f"| v{v} | {pc} | {tool} | none | | |")
            n, f = best.get((pc, "nfcapd", v)), best.get((pc, "floed", v))
            if n and f:
                print(f"| v{v} | {pc} | floed/nfcapd | {f['send_rate']/n['send_rate']:.2f}x | | |")
            c = best.get((pc, "floed-clickhouse", v))
            if f and c:
                print(f"| v{v} | {pc} | floed shipping to ClickHouse / not | {c['send_rate']/f['send_rate']:.2f}x | "
                      f"{c['cpu_s_per_mflow']/f['cpu_s_per_mflow']:.2f}x | |")
            o = best.get((pc, "floed-nolive", v))
            if f and o:
                print(f"| v{v} | {pc} | floed with live / without | {f['send_rate']/o['send_rate']:.2f}x | "
                      f"{f['cpu_s_per_mflow']/o['cpu_s_per_mflow']:.2f}x | |")
    # Every try's CPU, lossless or not: the figure to compare builds by
    # (the table's is the median of the lossless tries at the top rate).
    print()
    print("| version | datagrams per send call | rate (flows/s) | collector | CPU s per M flows, median of every try | tries |")
    print("|---|---|---|---|---|---|")
    runs = {}
    for r in results:
        runs.setdefault((r["per_call"], r["version"], r["rate"], r["tool"]), []).append(r["cpu_s_per_mflow"])
    for (pc, v, rate, tool), cpus in runs.items():
        print(f"| v{v} | {pc} | {rate/1e6:.2f} M | {tool} | {sorted(cpus)[len(cpus) // 2]:.3f} | "
              f"{', '.join(f'{c:.3f}' for c in cpus)} |")
    if CLICKHOUSE:
        CLICKHOUSE["proc"].kill()
        subprocess.run(["rm", "-rf", CLICKHOUSE["dir"]])
    with open(a.json, "w") as f:
        # "best": per sender mode, version and collector, the decided
        # highest rate (what the table shows); "runs": every try.
        json.dump({"tries": a.tries,
                   "best": [{**r, "per_call": pc, "tool": tool, "version": v} for (pc, tool, v), r in best.items()],
                   "runs": results}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
