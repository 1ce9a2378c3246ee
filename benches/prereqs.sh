# Sourced by the benchmark wrappers (compare-nfdump.sh, compare-query.sh,
# compare-nfcapd.sh): installs Debian's nfdump and GNU time if missing and
# builds floe in release mode.
need=()
command -v nfcapd >/dev/null || need+=(nfdump)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
cargo build -q --release -p floed -p floe -p floe-benches
