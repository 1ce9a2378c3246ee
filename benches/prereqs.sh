# Sourced by the benchmark wrappers (compare-nfdump.sh, compare-query.sh,
# compare-nfcapd.sh): installs Debian's nfdump and GNU time if missing,
# DuckDB (PyPI `duckdb`, the query benchmark's third tool) in the benches'
# own virtual environment (target/bench-venv, never the system's Python),
# and builds floe in release mode.
need=()
command -v nfcapd >/dev/null || need+=(nfdump)
[ -x /usr/bin/time ] || need+=(time)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if ! target/bench-venv/bin/python -c 'import duckdb' 2>/dev/null; then
  echo "prereqs: installing duckdb in target/bench-venv (the query benchmark compares with it)"
  python3 -m venv target/bench-venv && target/bench-venv/bin/pip install -q duckdb
fi
cargo build -q --release -p floed -p floe -p floe-benches
