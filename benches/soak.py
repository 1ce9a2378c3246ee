#!/usr/bin/env python3
"""Soak test: floed under sustained load with frequent rotations.

Starts the release floed on a free loopback port with a short rotation
period, drives it with `floe send` (v5 and v9 alternating, from two source
addresses) at a steady rate for --seconds, samples floed's resident memory
every second, then stops it and reports flows sent and stored, drops
(receive queue, socket), files written, and RSS over time, as text and JSON.

With --check it fails unless every flow sent was stored and memory stayed
flat (the highest RSS of the second half within 10% + 8 MiB of the first
half's). CI runs a one-minute version; a real soak is e.g.
`benches/soak.py --seconds 3600 --rate 200000`.

Usage: benches/soak.py [--seconds 60] [--rate 50000] [--period 5s] [--check] [--json FILE]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib
ingest = importlib.import_module("compare-ingest")
ROOT, BIN, free_port = ingest.ROOT, ingest.BIN, ingest.free_port


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--rate", type=int, default=50_000, help="flows per second in all")
    ap.add_argument("--period", default="5s", help="floed rotation period")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "floed", "-p", "floe"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="floe-soak-")
    port = free_port()
    cfg = os.path.join(work, "floed.toml")
    with open(cfg, "w") as f:
        f.write('zone = "UTC"\nreceive_buffer = "32M"\n')
    log = open(os.path.join(work, "floed.log"), "w")
    floed = subprocess.Popen([os.path.join(BIN, "floed"), "--config", cfg, "--listen", f"127.0.0.1:{port}",
                              "--dir", os.path.join(work, "flows"), "--period", a.period], stderr=log)
    time.sleep(1.0)
    samples = []
    done = threading.Event()

    def sample():
        t0 = time.time()
        while not done.is_set():
            samples.append((round(time.time() - t0, 1), rss_kib(floed.pid)))
            done.wait(1.0)

    sampler = threading.Thread(target=sample)
    sampler.start()
    # Senders in 10-second slices, v5 from 127.0.0.2 and v9 from 127.0.0.3
    # alternating, each at the full rate, so the load is steady.
    sent = 0
    slice_s = 10
    t_end = time.time() + a.seconds
    i = 0
    while time.time() < t_end:
        secs = max(1, min(slice_s, int(round(t_end - time.time()))))
        version, src = ("5", "127.0.0.2") if i % 2 == 0 else ("9", "127.0.0.3")
        n = a.rate * secs
        subprocess.run([os.path.join(BIN, "floe"), "send", "--to", f"127.0.0.1:{port}", "--netflow-version", version,
                        "--from", src, "--count", str(n), "--rate", str(a.rate), "--seed", str(i)],
                       check=True, capture_output=True)
        sent += n
        i += 1
    time.sleep(2.0)
    done.set()
    sampler.join()
    floed.send_signal(signal.SIGTERM)
    floed.wait(timeout=30)
    log.close()
    info = json.loads(subprocess.run([os.path.join(BIN, "floe"), "info", "--json", os.path.join(work, "flows")],
                                     capture_output=True, text=True, check=True).stdout)
    stored = sum(e["flows"] for e in info["entries"])
    files = sum(e["files"] for e in info["entries"])
    lost = sum(x["lost_flows"] for e in info["entries"] for x in e["exporters"])
    queue_drops = sum(x["extra"].get("queue_drops", 0) for e in info["entries"] for x in e["exporters"])
    rss = [r for _, r in samples if r > 0]
    half = len(rss) // 2
    first, second = max(rss[:half] or [0]), max(rss[half:] or [0])
    result = {
        "seconds": a.seconds, "rate": a.rate, "period": a.period,
        "flows_sent": sent, "flows_stored": stored, "lost_flows_by_sequence": lost,
        "queue_drops": queue_drops, "files": files,
        "rss_kib_first_half_max": first, "rss_kib_second_half_max": second,
        "rss_kib_samples": samples,
    }
    print(f"soak: {a.seconds} s at {a.rate} flows/s, rotation every {a.period}")
    print(f"  flows sent {sent}, stored {stored}, lost by sequence {lost}, queue drops {queue_drops}, files {files}")
    print(f"  RSS max first half {first / 1024:.1f} MiB, second half {second / 1024:.1f} MiB")
    print("  RSS over time (s: MiB): " + ", ".join(f"{t:.0f}: {r / 1024:.0f}" for t, r in samples[:: max(1, len(samples) // 12)]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    problems = []
    if a.check:
        if stored != sent:
            problems.append(f"stored {stored} of {sent} flows")
        if second > first * 1.10 + 8 * 1024:
            problems.append(f"memory grew: {first} KiB then {second} KiB")
    subprocess.run(["rm", "-rf", work])
    if problems:
        print("SOAK FAILED: " + "; ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
