#!/usr/bin/env bash
# floe alert's cost (20 rules on one 10-minute file of 1 M flows) against
# one floe report over the same file: builds in release mode, then runs
# benches/alert-bench.py (arguments go to it: --flows N --repeat K
# --workdir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p floe -p floe-benches --bin floe --bin period-file
exec python3 benches/alert-bench.py "$@"
