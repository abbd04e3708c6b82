#!/usr/bin/env bash
# The attack battery's full form: builds the release sample, runs every attack of
# crates/gust-sample/tests/attacks.rs against it with thousands of connections and longer
# timeouts (GUST_ATTACK_SCALE=full), one attack at a time, and prints the figures as a
# Markdown table. The short form of the same attacks runs in `cargo test`.
#
# The figures come from a shared machine: the attacker, the control client and the server
# run on the same cores. Time-to-free figures follow the timeouts the attacks set; memory
# figures are the server's VmRSS before, its peak (VmHWM, and VmRSS sampled every 50 ms) and
# after, in KiB.
#
# Usage: scripts/attack.sh [test name filter, e.g. slowloris]
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-}
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac

# Each attack opens up to a few thousand sockets in this process and as many in the
# server; take as many descriptors as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 9000 ]; then
  echo "attack: only $(ulimit -n) file descriptors; the full form needs about 9000" >&2
  exit 1
fi

cargo build --release -q -p gust-sample
export GUST_SAMPLE_BIN="$target_dir/release/gust-sample"
export GUST_ATTACK_SCALE=full

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "attack: $GUST_SAMPLE_BIN, $(nproc) cores, ulimit -n $(ulimit -n); log in $log while it runs"
status=0
cargo test --release -p gust-sample --test attacks -- --test-threads=1 --nocapture $filter \
  2>&1 | tee "$log" | grep -v 'FIGURES' || status=$?

echo
echo "| attack | connections | RSS before / peak / after (KiB) | server descriptors at peak (over before) | control requests served | slowest control request | longest an attacker was held | what the attackers got | the limit that stops it |"
echo "|---|---|---|---|---|---|---|---|---|"
# libtest prints "test NAME ... " before a test's own output: a FIGURES line may follow it.
awk -F'\t' '/FIGURES\t/ {
  sub(/^.*FIGURES\t/, "FIGURES\t")
  printf "| %s | %s | %s / %s / %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
}' "$log"
exit "$status"
