#!/usr/bin/env bash
# Ingest benchmark, floed vs nfcapd on loopback (part of compare-nfdump.sh):
# runs benches/compare-ingest.py (arguments go to it: --versions 5,9
# --seconds 2 --rates ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/prereqs.sh
exec python3 benches/compare-ingest.py "$@"
