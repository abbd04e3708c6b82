#!/usr/bin/env bash
# scripts/profile.sh: where gust-sample spends its time under load, as a flame graph.
#
# Builds gust-sample with the `profiling` cargo profile (release with full debug info),
# starts it pinned to CPU 0 serving a small --www directory, drives it from CPU 1 with wrk,
# h2load or ab, and meanwhile runs `perf stat -p` and then `perf record -p` on it for
# --seconds each. The perf samples become a flame graph through inferno
# (inferno-collapse-perf | inferno-flamegraph), installed with `cargo install inferno
# --locked` if missing. Everything lands in $CARGO_TARGET_DIR/profile (default
# target/profile): flamegraph.svg, stacks.folded, perf-stat.txt, top.txt (the hottest
# functions by self time), load.txt (the load generator's own report), perf.data.
#
# Where perf cannot read hardware counters (a virtual machine, a container), it says so,
# counts software events only (task-clock, context switches, page faults) and samples on
# the cpu-clock timer instead of cycles. If perf is not allowed at all and we are root, it
# lowers kernel.perf_event_paranoid for the run, says so, and restores it at the end.
#
# Usage: scripts/profile.sh [--tool wrk|h2load|ab] [--path PATH] [--seconds N]
#                           [--connections N] [--call-graph dwarf|fp] [--tls]
#   --tool         load generator: wrk (HTTP/1.1 keep-alive), h2load (h2c prior
#                  knowledge, or h2 with --tls), ab (HTTP/1.0 keep-alive) [wrk]
#   --path         request path: /hello.txt (13 bytes), /page.html (2,600 bytes), /uptime,
#                  or any path the sample serves [/hello.txt]
#   --seconds      seconds of perf stat, then as many of perf record [10]
#   --connections  concurrent connections (h2load: clients, 32 streams each) [64; h2load 16]
#   --call-graph   stack unwinding: dwarf (works without frame pointers) or fp [dwarf]
#   --tls          serve and load over HTTPS (h2load only: h2 through ALPN)
# Needs: perf (Debian: linux-perf), the chosen load generator, taskset, openssl for --tls.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tool=wrk path=/hello.txt seconds=10 connections="" call_graph=dwarf tls=0
while [ $# -gt 0 ]; do
  case $1 in
    --tool) tool=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --call-graph) call_graph=$2; shift 2 ;;
    --tls) tls=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
note() { printf 'profile: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { note "--seconds is a whole number >= 1"; exit 2; }
case $tool in
  wrk|ab) connections=${connections:-64} ;;
  h2load) connections=${connections:-16} ;;
  *) note "--tool is wrk, h2load or ab"; exit 2 ;;
esac
case $call_graph in dwarf|fp) ;; *) note "--call-graph is dwarf or fp"; exit 2 ;; esac
[ "$tls" = 0 ] || [ "$tool" = h2load ] || { note "--tls works with --tool h2load only"; exit 2; }
have perf || { note "perf is not installed (Debian: apt-get install linux-perf)"; exit 1; }
have "$tool" || { note "$tool is not installed (Debian: wrk, nghttp2-client or apache2-utils)"; exit 1; }
have taskset || { note "taskset is required (util-linux)"; exit 1; }

target_dir=${CARGO_TARGET_DIR:-$root/target}
out=$target_dir/profile
mkdir -p "$out"
work=$(mktemp -d /tmp/gust-profile.XXXXXX)
server_pid="" load_pid="" paranoid_saved=""
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "$paranoid_saved" ]; then
    echo "$paranoid_saved" >/proc/sys/kernel/perf_event_paranoid &&
      note "kernel.perf_event_paranoid restored to $paranoid_saved"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------- tools and perf --
if ! have inferno-collapse-perf || ! have inferno-flamegraph; then
  if [ -x "$HOME/.cargo/bin/inferno-flamegraph" ]; then
    PATH=$HOME/.cargo/bin:$PATH
  else
    note "installing inferno (cargo install inferno --locked)"
    cargo install inferno --locked -q || { note "cannot install inferno"; exit 1; }
    PATH=$HOME/.cargo/bin:$PATH
  fi
fi

if ! perf stat -e task-clock true >/dev/null 2>&1; then
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)
  if [ "$(id -u)" = 0 ] && [ "$paranoid" != unknown ] && [ "$paranoid" -gt -1 ]; then
    note "perf is not allowed (kernel.perf_event_paranoid = $paranoid): setting it to -1 for this run"
    echo -1 >/proc/sys/kernel/perf_event_paranoid && paranoid_saved=$paranoid
  fi
  perf stat -e task-clock true >/dev/null 2>&1 || {
    note "perf cannot count even software events here (paranoid = $paranoid, not root, or no perf_event_open in this sandbox)"
    exit 1
  }
fi
hardware=1
# Captured first: with pipefail, `grep -q` closing the pipe early would fail the test.
hw_probe=$(perf stat -e cycles,instructions true 2>&1)
if grep -q '<not supported>' <<<"$hw_probe"; then
  hardware=0
  note "perf cannot read hardware counters here (cycles, instructions: <not supported>; typical of a VM):"
  note "  counting software events only and sampling on the cpu-clock timer"
fi

# -------------------------------------------------------------------- build and serve --
note "building gust-sample with --profile profiling"
cargo build --profile profiling -q -p gust-sample || exit 1
bin=$target_dir/profiling/gust-sample

mkdir -p "$work/www"
printf 'Hello, world\n' >"$work/www/hello.txt"
{
  printf '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>gust bench page</title></head>\n<body>\n'
  for i in $(seq 1 200); do
    printf '<p>Line %03d of the benchmark page: the same bytes for every server.</p>\n' "$i"
  done
} | head -c 2584 >"$work/www/page.html"
printf '\n</body></html>\n' >>"$work/www/page.html"

tls_flags=(--no-tls)
if [ "$tls" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || { note "openssl failed"; exit 1; }
  tls_flags=(--tls-listen 127.0.0.1:0 --cert "$work/cert.pem" --key "$work/key.pem")
fi
taskset -c 0 "$bin" --listen 127.0.0.1:0 "${tls_flags[@]}" --www "$work/www" --log warn \
  --max-clients 4096 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
scheme=http
[ "$tls" = 1 ] && scheme=https
addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n "s#^listening on $scheme://##p" "$work/server.out")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { note "gust-sample did not start: $(cat "$work/server.err")"; exit 1; }
url=$scheme://$addr$path
status=$(curl -s -o /dev/null -w '%{http_code}' -k "$url" 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = 200 ] || note "warning: GET $path answers $status, not 200"

# One load run covers a warm-up second, perf stat, perf record and a second of slack.
total=$((2 * seconds + 2))
note "gust-sample pid $server_pid on $addr; $tool with $connections connections on $url for ${total} s"
case $tool in
  wrk) taskset -c 1 wrk -t1 -c"$connections" -d"${total}s" "$url" >"$out/load.txt" 2>&1 & ;;
  h2load) taskset -c 1 h2load -c"$connections" -m32 -D "$total" "$url" >"$out/load.txt" 2>&1 & ;;
  ab) taskset -c 1 ab -q -k -c "$connections" -t "$total" -n 100000000 "$url" >"$out/load.txt" 2>&1 & ;;
esac
load_pid=$!
sleep 1

# ------------------------------------------------------------------------------- perf --
events=task-clock,context-switches,cpu-migrations,page-faults
[ "$hardware" = 1 ] && events=$events,cycles,instructions,branches,branch-misses,cache-misses
note "perf stat for $seconds s"
perf stat -p "$server_pid" -e "$events" -- sleep "$seconds" 2>"$out/perf-stat.txt"
[ "$hardware" = 1 ] || printf '\n(hardware counters are not supported on this machine: software events only)\n' >>"$out/perf-stat.txt"

record_event=()
[ "$hardware" = 1 ] || record_event=(-e cpu-clock)
call_graph_flag=(--call-graph fp)
[ "$call_graph" = dwarf ] && call_graph_flag=(--call-graph dwarf,16384)
note "perf record (${call_graph} call graphs) for $seconds s"
rm -f "$out/perf.data"
perf record -q -F 999 "${record_event[@]}" "${call_graph_flag[@]}" -p "$server_pid" \
  -o "$out/perf.data" -- sleep "$seconds" 2>"$work/record.err" ||
  { note "perf record failed: $(cat "$work/record.err")"; exit 1; }

wait "$load_pid" 2>/dev/null
load_pid=""
kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
server_pid=""

# ------------------------------------------------------------------------ flame graph --
note "rendering the flame graph"
perf script -i "$out/perf.data" 2>/dev/null | inferno-collapse-perf >"$out/stacks.folded" ||
  { note "inferno-collapse-perf failed"; exit 1; }
inferno-flamegraph --title "gust-sample: $tool $url (${call_graph} stacks)" \
  <"$out/stacks.folded" >"$out/flamegraph.svg" || { note "inferno-flamegraph failed"; exit 1; }
perf report -i "$out/perf.data" --no-children -g none --sort dso,symbol --stdio --percent-limit 0.5 \
  2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60 |
  # Some perf versions pad each line with empty columns ("-  -") to the terminal's width.
  sed -E 's/([[:space:]]+-)*[[:space:]]*$//' >"$out/top.txt"

echo "== load ($tool) =="
case $tool in
  wrk) grep -E 'Requests/sec|Transfer/sec|Non-2xx|Socket errors' "$out/load.txt" ;;
  h2load) grep -E '^finished in|^requests:|^status codes:' "$out/load.txt" ;;
  ab) grep -E 'Requests per second|Failed requests|Non-2xx' "$out/load.txt" ;;
esac
echo "== perf stat (server, $seconds s) =="
grep -vE '^\s*$' "$out/perf-stat.txt"
echo "== hottest functions by self time (perf report) =="
head -n 25 "$out/top.txt"
echo "== files =="
ls -1 "$out"/flamegraph.svg "$out"/stacks.folded "$out"/perf-stat.txt "$out"/top.txt "$out"/load.txt
