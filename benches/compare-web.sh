#!/usr/bin/env bash
# floe web's graph and host month against FlowGraph's way (nfdump per
# interval) on the same flows: runs benches/compare-web.py (arguments go
# to it: --flows N --repeat K --workdir DIR --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prereqs.sh
exec python3 benches/compare-web.py "$@"
