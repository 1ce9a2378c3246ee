#!/usr/bin/env bash
# Ingest benchmark, floed vs nfcapd on loopback: installs Debian's nfdump if
# missing, builds floe in release mode, runs benches/compare-ingest.py.
# Arguments go to the Python driver (--versions 5,9 --seconds 2 --rates ...).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nfcapd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nfdump; }
cargo build -q --release -p floed -p floe
exec python3 benches/compare-ingest.py "$@"
