#!/usr/bin/env bash
# A first benchmark: builds the release sample, starts it on 127.0.0.1 (a free port), loads
# /uptime and / with wrk (or ab when wrk is missing), and prints requests per second and the
# server's peak RSS. Numbers from a shared 2-core machine are noisy: compare runs made side
# by side, not against numbers from elsewhere.
#
# Usage: scripts/bench.sh [seconds per run, default 10] [connections, default 50]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-50}

cargo build --release -q -p gust-sample
bin=target/release/gust-sample
log=$(mktemp)
"$bin" --listen 127.0.0.1:0 --log warn --max-clients 1024 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's#^listening on http://##p' "$log" | head -n1)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "bench: server did not start:"; cat "$log"; exit 1; }
echo "gust-sample pid $pid on $addr; $(nproc) cores; ${duration}s per run, $connections connections"

rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }

run() {
  local path=$1; shift
  if command -v wrk >/dev/null; then
    local out
    out=$(wrk -t2 -c"$connections" -d"${duration}s" "$@" "http://$addr$path")
    printf '%-10s %12s req/s  (wrk: %s)\n' "$path" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
      "$(awk '/Latency/ {print "latency avg " $2 ", max " $4}' <<<"$out")"
  else
    local out
    out=$(ab -q -k -c "$connections" -t "$duration" -n 10000000 "$@" "http://$addr$path")
    printf '%-10s %12s req/s  (ab; failed: %s)\n' "$path" \
      "$(awk '/Requests per second/ {print $4}' <<<"$out")" \
      "$(awk '/Failed requests/ {print $3}' <<<"$out")"
  fi
}

echo "idle RSS: $(rss_kib) KiB"
run /uptime
run / -H 'Accept-Encoding: gzip'
echo "peak RSS: $(rss_kib) KiB"
