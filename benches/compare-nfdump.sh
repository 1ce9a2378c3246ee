#!/usr/bin/env bash
# The side-by-side benchmark against nfdump (ingest, storage, queries) in
# one run: installs Debian's nfdump and GNU time if missing, builds floe in
# release mode, runs benches/compare-nfdump.py (arguments go to it:
# --flows N --repeat K --quick ...). Prints one markdown table; writes JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v nfcapd >/dev/null || need+=(nfdump)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; fi
cargo build -q --release -p floed -p floe -p floe-benches
exec python3 benches/compare-nfdump.py "$@"
