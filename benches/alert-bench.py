#!/usr/bin/env python3
"""floe alert's cost: 20 rules evaluated on one 10-minute file of N flows,
against one `floe report` over the same file (target: less than twice).

Two sets of 20 rules: "typical", where the distinct counts watch what
they are for (a worm's fan-out on SSH, telnet, SMB and RDP; a SYN flood's
fan-in), and "heavy", where they count every TCP flow's destinations and
every UDP flow's sources: two more tables as large as the traffic.

    benches/alert-bench.sh [--flows 1000000] [--repeat 5] [--workdir DIR]

Writes the file with the period-file bench binary (realistic flows,
fixed seed, 20% IPv6), then runs each command --repeat times, alternating,
and prints the median wall time, CPU time and peak RSS of each, and the
ratio. The rules are the mix an operator would run: presets (quota,
SYN scan, UDP amplification, silent exporter, lost flows), per-host and
per-port volumes, fan-out and fan-in counts, protocol watches, an
average.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")

RULES = """
zone = "UTC"

[[rule]]
name = "quota-day"
preset = "quota"
limit = "50G"
window = "day"

[[rule]]
name = "quota-month"
preset = "quota"
limit = "500G"
window = "month"
filter = "src net 10.0.0.0/8"
by = "ip-source-address"

[[rule]]
name = "syn-scan"
preset = "syn-scan"
ports = 100
hosts = 100

[[rule]]
name = "amplification"
preset = "udp-amplification"
sources = 50

[[rule]]
name = "silent"
preset = "silent-exporter"

[[rule]]
name = "lost"
preset = "lost-flows"
above = 1000

[[rule]]
name = "heavy-source"
metric = "octets"
by = "ip-source-address"
above = "5G"

[[rule]]
name = "heavy-destination"
metric = "octets"
by = "ip-destination-address"
above = "5G"

[[rule]]
name = "many-flows"
metric = "flows"
by = "ip-source-address"
above = 100000

[[rule]]
name = "total-pps"
metric = "packets/s"
above = "10M"

[[rule]]
name = "port-bps"
metric = "bits/s"
by = "ip-destination-port"
above = "5G"

[[rule]]
name = "fan-out"
metric = "destination-hosts"
by = "ip-source-address"
filter = "FAN_OUT"
above = 5000

[[rule]]
name = "fan-in"
metric = "sources"
by = "ip-destination-address"
filter = "FAN_IN"
above = 5000

[[rule]]
name = "per-as"
metric = "octets"
by = "source-as"
above = "20G"

[[rule]]
name = "per-protocol"
metric = "flows"
by = "ip-protocol"
above = 900000

[[rule]]
name = "dns-clients"
filter = "proto udp and dst port 53"
metric = "flows"
by = "ip-source-address"
above = 10000

[[rule]]
name = "smtp-senders"
filter = "proto tcp and dst port 25"
metric = "flows"
by = "ip-source-address"
above = 100

[[rule]]
name = "icmp-flood"
filter = "proto icmp"
metric = "packets"
by = "ip-destination-address"
above = "1M"

[[rule]]
name = "ssh-guessing"
filter = "proto tcp and dst port 22"
metric = "flows"
by = "ip-source-address"
above = 200

[[rule]]
name = "traffic-spike"
metric = "octets"
above_average = 3
average_over = "day"
"""


def measure(cmd):
    """Wall seconds, CPU seconds, peak RSS (MiB) of one run."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode()
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}): {err}")
    # ru_maxrss is in KiB.
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="floe-alert-bench-")
    store = os.path.join(work, "flows")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([os.path.join(RELEASE, "period-file"), store, str(a.flows)], check=True)
    floe = os.path.join(RELEASE, "floe")
    window = ["-t", "2026-11-22 10:00", "-T", "2026-11-22 10:10", "--zone", "UTC"]
    commands = {
        "report -r ip-source-address": [floe, "report", "-r", "ip-source-address", store],
    }
    for name, fan_out, fan_in in [
        ("typical", "proto tcp and dst port in [22,23,445,3389]", "proto tcp and flags S and not flags A"),
        ("heavy", "proto tcp", "proto udp"),
    ]:
        rules = os.path.join(work, f"{name}.toml")
        with open(rules, "w") as f:
            f.write(RULES.replace("FAN_OUT", fan_out).replace("FAN_IN", fan_in))
        check = subprocess.run([floe, "alert", "--check", rules], capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit(check.stderr)
        n_rules = check.stdout.count("(line ")
        commands[f"alert, {n_rules} rules, {name}"] = [floe, "alert", "--rules", rules] + window + [store]
    runs = {k: [] for k in commands}
    for _ in range(a.repeat):
        for k, cmd in commands.items():
            runs[k].append(measure(cmd))
    print(f"{a.flows} flows in one 10-minute file, median of {a.repeat}, {os.cpu_count()} cores")
    print("| command | wall s | CPU s | peak RSS MiB |")
    print("|---|---|---|---|")
    med = {}
    for k, rs in runs.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        rss = max(r[2] for r in rs)
        med[k] = (wall, cpu)
        print(f"| {k} | {wall:.3f} | {cpu:.3f} | {rss:.0f} |")
    base = list(med.values())[0]
    for k, (aw, ac) in list(med.items())[1:]:
        print(f"{k} / report: wall {aw / base[0]:.2f}x, CPU {ac / base[1]:.2f}x (target: below 2x)")
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
