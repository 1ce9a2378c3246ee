#!/usr/bin/env bash
# Query benchmark, floe vs nfdump on the same stored flows (part of
# compare-nfdump.sh): runs benches/compare-query.py (arguments go to it:
# --flows N --repeat K --workdir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prereqs.sh
exec python3 benches/compare-query.py "$@"
