#!/usr/bin/env bash
# Query benchmark, floe vs nfdump on the same stored flows: installs Debian's
# nfdump and GNU time if missing, builds floe in release mode, runs
# benches/compare-query.py (arguments go to it: --flows N --repeat K).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v nfcapd >/dev/null || need+=(nfdump)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; fi
cargo build -q --release -p floed -p floe
exec python3 benches/compare-query.py "$@"
