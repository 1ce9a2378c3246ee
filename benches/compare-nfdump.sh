#!/usr/bin/env bash
# The side-by-side benchmark against nfdump (ingest, storage, queries) in
# one run: runs benches/compare-nfdump.py (arguments go to it: --flows N
# --repeat K --quick ...). Prints one markdown table; writes JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prereqs.sh
exec python3 benches/compare-nfdump.py "$@"
