#!/usr/bin/env bash
# scripts/bench.sh: gust side by side with its peers, in one run, on the same bytes.
#
# Starts the release gust-sample and its peers, each serving the same directory (--www):
#   nginx  (Debian package, 2 workers, access log off, sendfile on)
#   h2o    (Debian package)
#   hyper  (crates/gust-bench-peer: hyper 1.x + hyper-util auto h1/h2, tokio multi-thread,
#           files read into memory at start)
# pins every server to CPU 0 and every load generator to CPU 1 (taskset), and runs each test
# on each server in turn, A B C D then D C B A, for --rounds rounds. Each sample gets a fresh
# server process and an unmeasured warm-up first. It prints, per test, the median of each
# server and the ratio gust / best peer, and writes the same table as markdown to
# $CARGO_TARGET_DIR/bench/report.md (default target/bench/report.md), with the raw samples in
# results.tsv beside it.
#
# Tests (pick with --only REGEX, matched against these names):
#   h1-small, h1-page, h1-uptime   HTTP/1.1 keep-alive, wrk -t1 -c64: a 13-byte file, a
#                                  2,600-byte page, /uptime (dynamic)
#   h2c-small, h2c-page, h2c-uptime  h2c prior knowledge, h2load -c16 -m32: the same three
#   h1-browser, h2c-browser        the page, each request with a browser's 14 fields (the
#                                  load generators send 2 or 3, which hides per-field costs)
#   h2-tls-page                    HTTPS, h2 chosen by ALPN, h2load -c16 -m32: the page
#   h1-64m, h2c-64m                a 64 MiB file, wrk -c4 / h2load -c4 -m1: MB/s
#   ws-1k, ws-64k                  WebSocket echo (ws-load, 16 connections): gust and hyper
#                                  (tokio-tungstenite) only; nginx and h2o have no echo
#   idle-h1, idle-h2               RSS growth per idle connection, --idle-count of each
#   idle-h1-tls                    the same for HTTP/1.1 over TLS (no target; informative)
#   idle-ws                        the same for WebSocket sessions on /ws_echo after one
#                                  echoed message: gust and hyper only (no target; informative)
# Every load test also reports requests (or MB, or messages) per server CPU-second, from the
# utime+stime of the server's whole process tree (/proc/PID/stat), so that a run where the
# load generator was the bottleneck still compares the servers' costs, and the server's CPU
# use in percent of one CPU (near 100: the server was the bottleneck).
#
# Usage: scripts/bench.sh [--rounds N] [--duration S] [--warmup S] [--only REGEX]
#                         [--servers LIST] [--idle-count N] [--quick] [--keep] [--strict]
#   --rounds N      rounds; odd ones run the servers forward, even ones backward [2]
#   --duration S    seconds per measurement [10]
#   --warmup S      seconds of unmeasured load before each measurement [2]
#   --only REGEX    only the tests whose names match (grep -E)
#   --servers LIST  comma-separated subset of gust,nginx,h2o,hyper [all]
#   --idle-count N  connections per idle-memory sample [5000]
#   --quick         smoke run: 1 round, 3 s per measurement, 1 s warm-up (explicit flags win)
#   --keep          keep the temporary directory (configs, logs) and print its path
#   --strict        exit 1 if any warning was reported (a sample failed, a server did not
#                   start, connections were refused): what CI's smoke run checks
# Needs: wrk, h2load (nghttp2-client), openssl, taskset; nginx and h2o are optional (their
# columns read n/a). Debian: apt-get install -y nginx h2o wrk nghttp2-client
#
# Numbers are only comparable within one run on one machine; on a shared machine, compare
# the ratios rather than the absolute figures, and look at the server CPU % rows.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# ---------------------------------------------------------------------------- options --
rounds="" duration="" warmup="" only="" servers_wanted="gust,nginx,h2o,hyper"
idle_count=5000 quick=0 keep=0 strict=0
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --servers) servers_wanted=$2; shift 2 ;;
    --idle-count) idle_count=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --keep) keep=1; shift ;;
    --strict) strict=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  rounds=${rounds:-1} duration=${duration:-3} warmup=${warmup:-1}
fi
rounds=${rounds:-2} duration=${duration:-10} warmup=${warmup:-2}
for n in "$rounds" "$duration" "$idle_count"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: rounds, duration and idle-count are whole numbers >= 1" >&2; exit 2; }
done
[[ $warmup =~ ^[0-9]+$ ]] || { echo "bench: --warmup is a whole number of seconds" >&2; exit 2; }

all_tests=(h1-small h1-page h1-uptime h2c-small h2c-page h2c-uptime h1-browser h2c-browser
           h2-tls-page
           h1-64m h2c-64m ws-1k ws-64k idle-h1 idle-h2 idle-h1-tls idle-ws)
tests=()
for t in "${all_tests[@]}"; do
  if [ -z "$only" ] || grep -qE -- "$only" <<<"$t"; then tests+=("$t"); fi
done
[ ${#tests[@]} -gt 0 ] || { echo "bench: --only '$only' matches no test: ${all_tests[*]}" >&2; exit 2; }

# ------------------------------------------------------------------------------ tools --
note() { printf 'bench: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
for tool in taskset openssl cargo; do
  have "$tool" || { note "$tool is required"; exit 1; }
done
have wrk || note "wrk not installed: the HTTP/1.1 tests are skipped (apt-get install wrk)"
have h2load || note "h2load not installed: the HTTP/2 tests are skipped (apt-get install nghttp2-client)"

servers=()
IFS=, read -r -a wanted <<<"$servers_wanted"
for s in "${wanted[@]}"; do
  case $s in
    gust|hyper) servers+=("$s") ;;
    nginx|h2o)
      if have "$s"; then servers+=("$s")
      else note "$s not installed: its column reads n/a (apt-get install $s)"; fi ;;
    *) note "unknown server '$s' (gust, nginx, h2o, hyper)"; exit 2 ;;
  esac
done
peers_all=(nginx h2o hyper)
columns=(gust nginx h2o hyper)

# Servers on CPU 0, load generators on CPU 1; a one-CPU machine (a small CI runner) shares
# CPU 0, which still runs every tool but measures nothing worth comparing.
load_cpu=1
if [ "$(nproc)" -lt 2 ]; then
  load_cpu=0
  note "one CPU: servers and load generators share it; the figures mean little"
fi

# The servers may each hold --idle-count connections, and so does the client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((idle_count * 2 + 1000)) ]; then
  note "ulimit -n is $(ulimit -n): too low for --idle-count $idle_count; the idle tests may fail"
fi

# ------------------------------------------------------------------------------ build --
target_dir=${CARGO_TARGET_DIR:-$root/target}
note "building gust-sample and gust-bench-peer (release)"
cargo build --release -q -p gust-sample -p gust-bench-peer || exit 1
gust_bin=$target_dir/release/gust-sample
peer_bin=$target_dir/release/bench-peer
ws_load=$target_dir/release/ws-load
idle_conns=$target_dir/release/idle-conns
out_dir=$target_dir/bench
mkdir -p "$out_dir"

# ----------------------------------------------------------------- work dir, fixtures --
work=$(mktemp -d /tmp/gust-bench.XXXXXX)
chmod 755 "$work"
started_pids=()
cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do stop_tree "$pid"; done
  if [ "$keep" = 1 ]; then note "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/www"
printf 'Hello, world\n' >"$work/www/hello.txt"                    # 13 bytes
# A 2,600-byte HTML page.
{
  printf '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>gust bench page</title></head>\n<body>\n'
  for i in $(seq 1 200); do
    printf '<p>Line %03d of the benchmark page: the same bytes for every server.</p>\n' "$i"
  done
} | head -c 2584 >"$work/www/page.html"
printf '\n</body></html>\n' >>"$work/www/page.html"
[ "$(stat -c %s "$work/www/page.html")" = 2600 ] || { note "page fixture is not 2600 bytes"; exit 1; }
# Random bytes: nothing on the way can compress them.
head -c $((64 * 1024 * 1024)) /dev/urandom >"$work/www/big.bin"
chmod -R a+rX "$work/www"

# One certificate for every server: ECDSA P-256, for localhost and 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || { note "openssl failed"; exit 1; }
chmod 644 "$work/key.pem" "$work/cert.pem"

# wrk prints exact totals through a Lua hook instead of rounded human units.
cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT requests=%d duration_us=%d bytes=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

results=$work/results.tsv   # test, metric, better (hi|lo), server, round, value
warnings=$work/warnings.txt
: >"$results"; : >"$warnings"
warn() { note "$*"; printf '%s\n' "$*" >>"$warnings"; }
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

# ---------------------------------------------------------------- process bookkeeping --
clk_tck=$(getconf CLK_TCK)

# The pid and every descendant of it, one per line.
tree_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      n = 1; list[1] = root; print root
      for (i = 1; i <= n; i++)
        for (p in parent) if (parent[p] == list[i]) { list[++n] = p; print p }
    }'
}

# utime + stime of a process tree, in clock ticks. /proc/PID/stat of a process covers all
# its threads; the fields after the command name (which may hold spaces) start at field 3.
cpu_ticks() {
  local pid total=0 t
  for pid in $(tree_pids "$1"); do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

# Stops a process we started and its descendants: TERM, then KILL after 5 s.
stop_tree() {
  local pid=$1 pids p
  pids=$(tree_pids "$pid")
  kill -TERM $pids 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
}

# Ports for nginx and h2o, which must be told one. They are drawn below the kernel's
# ephemeral range, where thousands of closed client connections (the idle tests) linger,
# and must be unused in any state.
used_ports=" "
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$ephemeral_low" -gt 12000 ] || ephemeral_low=61000
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    case $used_ports in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
      used_ports="$used_ports$p "
      echo "$p"
      return
    fi
  done
}

wait_port() {
  local port=$1
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------------------- servers --
# start_SERVER sets srv_pid and the addresses srv_h1 (HTTP/1.1), srv_h2c (h2c prior
# knowledge) and srv_tls (HTTPS with ALPN); it returns non-zero if the server did not start.

# Reads the `listening on http://` and `https://` lines gust-sample and bench-peer print.
start_announcing() {
  local name=$1; shift
  : >"$work/$name.out"
  taskset -c 0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  srv_pid=$!
  started_pids+=("$srv_pid")
  for _ in $(seq 1 100); do
    srv_h1=$(sed -n 's#^listening on http://##p' "$work/$name.out")
    srv_tls=$(sed -n 's#^listening on https://##p' "$work/$name.out")
    if [ -n "$srv_h1" ] && [ -n "$srv_tls" ]; then
      srv_h2c=$srv_h1
      return 0
    fi
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  warn "$name did not start: $(tail -n 1 "$work/$name.err")"
  return 1
}

start_gust() {
  start_announcing gust "$gust_bin" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --cert "$work/cert.pem" --key "$work/key.pem" --www "$work/www" --log warn \
    --max-clients $((idle_count + 1000)) --inactivity-timeout 600s \
    --max-websockets $((idle_count + 1000)) --ws-idle-timeout 600s --ws-ping-interval 0
}

start_hyper() {
  start_announcing hyper "$peer_bin" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --cert "$work/cert.pem" --key "$work/key.pem" --www "$work/www"
}

# nginx 1.22 speaks h2c only on a `listen ... http2` port without ssl, and only HTTP/2
# there: HTTP/1.1 and h2c need two ports.
start_nginx() {
  local d=$work/nginx p1 p2 p3 user_line=""
  mkdir -p "$d"
  p1=$(free_port) p2=$(free_port) p3=$(free_port)
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes 2;
worker_rlimit_nofile 65536;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $((idle_count + 1000)); }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 600s;    # since nginx 1.19.7 also the HTTP/2 idle timeout
  keepalive_requests 100000000;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  types { text/html html; text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  root $work/www;
  server { listen 127.0.0.1:$p1; location = /uptime { default_type text/plain; return 200 "\$msec\n"; } }
  server { listen 127.0.0.1:$p2 http2; location = /uptime { default_type text/plain; return 200 "\$msec\n"; } }
  server {
    listen 127.0.0.1:$p3 ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    location = /uptime { default_type text/plain; return 200 "\$msec\n"; }
  }
}
EOF
  taskset -c 0 nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout" 2>&1 &
  srv_pid=$!
  started_pids+=("$srv_pid")
  srv_h1=127.0.0.1:$p1 srv_h2c=127.0.0.1:$p2 srv_tls=127.0.0.1:$p3
  wait_port "$p1" && wait_port "$p2" && wait_port "$p3" && return 0
  warn "nginx did not start: $(tail -n 1 "$d/stdout")"
  return 1
}

# h2o serves HTTP/1.1 and h2c (prior knowledge or upgrade) on its plain port. /uptime is an
# mruby handler (the Debian package is built with mruby).
start_h2o() {
  local d=$work/h2o p1 p2 user_line=""
  mkdir -p "$d"
  p1=$(free_port) p2=$(free_port)
  [ "$(id -u)" = 0 ] && user_line="user: root"
  cat >"$d/h2o.conf" <<EOF
$user_line
pid-file: $d/h2o.pid
error-log: $d/error.log
num-threads: 2
max-connections: $((idle_count + 1000))
http1-request-timeout: 600
http2-idle-timeout: 600
listen:
  host: 127.0.0.1
  port: $p1
listen:
  host: 127.0.0.1
  port: $p2
  ssl:
    certificate-file: $work/cert.pem
    key-file: $work/key.pem
    ocsp-update-interval: 0
file.mime.addtypes:
  text/plain: .txt
  application/octet-stream: .bin
hosts:
  "default":
    paths:
      /uptime:
        mruby.handler: |
          Proc.new do |env|
            [200, {"content-type" => "text/plain"}, ["#{(Time.now.to_f * 1000).to_i}\n"]]
          end
      /:
        file.dir: $work/www
EOF
  taskset -c 0 h2o -c "$d/h2o.conf" >"$d/stdout" 2>&1 &
  srv_pid=$!
  started_pids+=("$srv_pid")
  srv_h1=127.0.0.1:$p1 srv_h2c=127.0.0.1:$p1 srv_tls=127.0.0.1:$p2
  wait_port "$p1" && wait_port "$p2" && return 0
  warn "h2o did not start: $(tail -n 1 "$d/stdout")"
  return 1
}

stop_server() {
  local pid=$1 kept=() p
  stop_tree "$pid"
  for p in "${started_pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  started_pids=("${kept[@]}")
}

# ------------------------------------------------------------------------ load tools --
# Each measure_* runs an unmeasured warm-up, then the measurement bracketed by the server
# tree's CPU ticks, and records its figures. Arguments: test server round.

load() { taskset -c "$load_cpu" "$@"; }

# Records the throughput, its value per server CPU-second and the server's CPU use.
record_load() {
  local test=$1 server=$2 round=$3 metric=$4 amount=$5 seconds=$6 ticks=$7
  local cpu_s
  cpu_s=$(awk -v t="$ticks" -v h="$clk_tck" 'BEGIN { printf "%.3f", t / h }')
  record "$test" "$metric" hi "$server" "$round" \
    "$(awk -v a="$amount" -v s="$seconds" 'BEGIN { printf "%.1f", a / s }')"
  if awk -v c="$cpu_s" 'BEGIN { exit !(c > 0) }'; then
    record "$test" "${metric%/s}/CPU-s" hi "$server" "$round" \
      "$(awk -v a="$amount" -v c="$cpu_s" 'BEGIN { printf "%.1f", a / c }')"
  fi
  record "$test" "server CPU %" info "$server" "$round" \
    "$(awk -v c="$cpu_s" -v s="$seconds" 'BEGIN { printf "%.0f", 100 * c / s }')"
}

# The fields Chrome 131 sends when it loads a page (a session cookie made up), for the
# *-browser tests: HTTP/1.1 spells the names as a browser does, h2load gets them lowercase.
browser_fields=(
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8'
  'Accept-Language: en-GB,en;q=0.9'
  'Accept-Encoding: gzip, deflate, br, zstd'
  'Cache-Control: max-age=0'
  'Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"'
  'Sec-Ch-Ua-Mobile: ?0'
  'Sec-Ch-Ua-Platform: "Linux"'
  'Sec-Fetch-Dest: document'
  'Sec-Fetch-Mode: navigate'
  'Sec-Fetch-Site: none'
  'Sec-Fetch-User: ?1'
  'Upgrade-Insecure-Requests: 1'
  'Cookie: session=3f9a8b7c6d5e4f3a2b1c; theme=dark'
)
wrk_browser=() h2load_browser=()
for field in "${browser_fields[@]}"; do
  name=${field%%:*}
  wrk_browser+=(-H "$field")
  h2load_browser+=(-H "${name,,}:${field#*:}")
done

# wrk: URL CONNECTIONS UNIT (req|MB) [-H FIELD]...
measure_wrk() {
  local test=$1 server=$2 round=$3 url=$4 conns=$5 unit=$6 out c0 c1 line
  local requests duration_us bytes errors non2xx amount metric
  shift 6
  [ "$warmup" -gt 0 ] && load wrk -t1 -c"$conns" -d"${warmup}s" --timeout 30s "$@" "$url" >/dev/null 2>&1
  c0=$(cpu_ticks "$srv_pid")
  out=$(load wrk -t1 -c"$conns" -d"${duration}s" --timeout 30s -s "$work/report.lua" "$@" "$url" 2>&1)
  c1=$(cpu_ticks "$srv_pid")
  line=$(grep '^WRK_RESULT' <<<"$out") || { warn "$test $server round $round: wrk failed: $(tail -n 2 <<<"$out")"; return; }
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  requests=$(field requests) duration_us=$(field duration_us) bytes=$(field bytes)
  errors=$(field errors) non2xx=$(field non2xx)
  [ "$errors" -gt 0 ] || [ "$non2xx" -gt 0 ] &&
    warn "$test $server round $round: $errors socket errors, $non2xx non-2xx answers (of $requests)"
  local seconds
  seconds=$(awk -v d="$duration_us" 'BEGIN { printf "%.6f", d / 1e6 }')
  if [ "$unit" = MB ]; then amount=$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }'); metric=MB/s
  else amount=$((requests - non2xx)); metric=req/s; fi
  record_load "$test" "$server" "$round" "$metric" "$amount" "$seconds" $((c1 - c0))
}

# h2load: URL CLIENTS STREAMS UNIT (req|MB) [-H FIELD]...
measure_h2load() {
  local test=$1 server=$2 round=$3 url=$4 clients=$5 streams=$6 unit=$7 out c0 c1
  local seconds succeeded failed bytes non2xx amount metric
  shift 7
  [ "$warmup" -gt 0 ] && load h2load -c"$clients" -m"$streams" -D "$warmup" "$@" "$url" >/dev/null 2>&1
  c0=$(cpu_ticks "$srv_pid")
  out=$(load h2load -c"$clients" -m"$streams" -D "$duration" "$@" "$url" 2>&1)
  c1=$(cpu_ticks "$srv_pid")
  seconds=$(sed -n 's/^finished in \([0-9.]*\)s.*/\1/p' <<<"$out")
  if [ -z "$seconds" ]; then
    warn "$test $server round $round: h2load failed: $(tail -n 2 <<<"$out")"
    return
  fi
  succeeded=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
  failed=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3/p' <<<"$out")
  non2xx=$(sed -n 's/^status codes: [0-9]* 2xx, \([0-9]*\) 3xx, \([0-9]*\) 4xx, \([0-9]*\) 5xx.*/\1 \2 \3/p' <<<"$out")
  bytes=$(sed -n 's/^traffic: [^(]*(\([0-9]*\)) total.*/\1/p' <<<"$out")
  failed=$(awk '{ print $1 + $2 + $3 }' <<<"${failed:-0 0 0}")
  non2xx=$(awk '{ print $1 + $2 + $3 }' <<<"${non2xx:-0 0 0}")
  if [ "${succeeded:-0}" = 0 ]; then
    warn "$test $server round $round: h2load: no request succeeded: $(grep -m2 -iE 'error|fail' <<<"$out" | tr '\n' ' ')"
    return
  fi
  [ "$failed" -gt 0 ] || [ "$non2xx" -gt 0 ] &&
    warn "$test $server round $round: $failed failed or errored requests, $non2xx non-2xx answers"
  if [ "$unit" = MB ]; then amount=$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }'); metric=MB/s
  else amount=$((succeeded - non2xx)); metric=req/s; fi
  record_load "$test" "$server" "$round" "$metric" "$amount" "$seconds" $((c1 - c0))
}

# ws-load: SIZE INFLIGHT
measure_ws() {
  local test=$1 server=$2 round=$3 size=$4 inflight=$5 out c0 c1 url
  url=ws://$srv_h1/ws_echo
  [ "$warmup" -gt 0 ] && load "$ws_load" --url "$url" --size "$size" --inflight "$inflight" --seconds "$warmup" >/dev/null 2>&1
  c0=$(cpu_ticks "$srv_pid")
  out=$(load "$ws_load" --url "$url" --size "$size" --inflight "$inflight" --seconds "$duration" 2>&1)
  c1=$(cpu_ticks "$srv_pid")
  local line messages seconds errors
  line=$(grep '^ws-load:' <<<"$out") || { warn "$test $server round $round: ws-load failed: $out"; return; }
  messages=$(sed -n 's/.* messages=\([0-9]*\).*/\1/p' <<<"$line")
  seconds=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$errors" -gt 0 ] && warn "$test $server round $round: ws-load: $errors errors"
  record_load "$test" "$server" "$round" msg/s "$messages" "$seconds" $((c1 - c0))
  record "$test" MB/s hi "$server" "$round" \
    "$(awk -v m="$messages" -v z="$size" -v s="$seconds" 'BEGIN { printf "%.1f", m * z / s / 1e6 }')"
}

# idle-conns: PROTO ADDRESS [idle-conns options]
measure_idle() {
  local test=$1 server=$2 round=$3 proto=$4 addr=$5 out line per opened open_after
  shift 5
  out=$(load "$idle_conns" --addr "$addr" --proto "$proto" --count "$idle_count" --pid "$srv_pid" "$@" 2>&1)
  line=$(grep '^idle-conns:' <<<"$out") || { warn "$test $server round $round: idle-conns failed: $(tail -n 2 <<<"$out")"; return; }
  per=$(sed -n 's/.* per_conn_kib=\([-0-9.]*\).*/\1/p' <<<"$line")
  opened=$(sed -n 's/.* opened=\([0-9]*\).*/\1/p' <<<"$line")
  open_after=$(sed -n 's/.* open_after=\([0-9]*\).*/\1/p' <<<"$line")
  [ "$opened" = "$idle_count" ] && [ "$open_after" = "$idle_count" ] ||
    warn "$test $server round $round: $opened of $idle_count connections opened, $open_after still open at the measurement ($(grep -v '^idle-conns:' <<<"$out" | head -n 1))"
  record "$test" "KiB/conn" lo "$server" "$round" "$per"
}

# Whether SERVER takes part in TEST.
applies() {
  case $1 in
    ws-*|idle-ws) [ "$2" = gust ] || [ "$2" = hyper ] ;;
    *) true ;;
  esac
}
# Whether the load generator of TEST is installed.
test_needs_tool() {
  case $1 in
    h1-*) have wrk ;;
    h2c-*|h2-tls-*) have h2load ;;
    *) true ;;
  esac
}

run_one() {
  local test=$1 server=$2 round=$3
  "start_$server" || { stop_server "$srv_pid"; return; }
  case $test in
    h1-small)    measure_wrk "$@" "http://$srv_h1/hello.txt" 64 req ;;
    h1-page)     measure_wrk "$@" "http://$srv_h1/page.html" 64 req ;;
    h1-uptime)   measure_wrk "$@" "http://$srv_h1/uptime" 64 req ;;
    h2c-small)   measure_h2load "$@" "http://$srv_h2c/hello.txt" 16 32 req ;;
    h2c-page)    measure_h2load "$@" "http://$srv_h2c/page.html" 16 32 req ;;
    h2c-uptime)  measure_h2load "$@" "http://$srv_h2c/uptime" 16 32 req ;;
    h1-browser)  measure_wrk "$@" "http://$srv_h1/page.html" 64 req "${wrk_browser[@]}" ;;
    h2c-browser) measure_h2load "$@" "http://$srv_h2c/page.html" 16 32 req "${h2load_browser[@]}" ;;
    h2-tls-page) measure_h2load "$@" "https://$srv_tls/page.html" 16 32 req ;;
    h1-64m)      measure_wrk "$@" "http://$srv_h1/big.bin" 4 MB ;;
    h2c-64m)     measure_h2load "$@" "http://$srv_h2c/big.bin" 4 1 MB ;;
    ws-1k)       measure_ws "$@" 1024 8 ;;
    ws-64k)      measure_ws "$@" 65536 2 ;;
    idle-h1)     measure_idle "$@" h1 "$srv_h1" ;;
    idle-h2)     measure_idle "$@" h2 "$srv_h2c" ;;
    idle-h1-tls) measure_idle "$@" h1-tls "$srv_tls" ;;
    idle-ws)     measure_idle "$@" ws "$srv_h1" --path /ws_echo ;;
  esac
  stop_server "$srv_pid"
}

# ---------------------------------------------------------------------------- run it --
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
  echo "gust: commit $commit, $(rustc --version 2>/dev/null)"
  have nginx && echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
  have h2o && echo "h2o: $(h2o --version | head -n 1)"
  echo "hyper: $(awk '/^name = "hyper"$/ { getline; gsub(/[^0-9.]/, ""); print "hyper " $0 }' Cargo.lock), $(awk '/^name = "hyper-util"$/ { getline; gsub(/[^0-9.]/, ""); print "hyper-util " $0 }' Cargo.lock)"
  have wrk && echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  have h2load && echo "h2load: $(h2load --version | head -n 1)"
  echo "settings: ${rounds} round(s), ${duration} s per measurement after ${warmup} s of warm-up, idle tests with $idle_count connections"
  echo "pinning: servers on CPU 0, load generators on CPU $load_cpu (taskset)"
} >"$work/header.txt"
cat "$work/header.txt" >&2
note "tests: ${tests[*]}; servers: ${servers[*]}"

for test in "${tests[@]}"; do
  if ! test_needs_tool "$test"; then warn "$test skipped: its load generator is not installed"; continue; fi
  for round in $(seq 1 "$rounds"); do
    order=("${servers[@]}")
    if [ $((round % 2)) = 0 ]; then
      order=(); for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[i]}"); done
    fi
    for server in "${order[@]}"; do
      applies "$test" "$server" || continue
      note "$test, round $round: $server"
      run_one "$test" "$server" "$round"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $load_before at the start, $load_after at the end" >>"$work/header.txt"

# ---------------------------------------------------------------------------- report --
# Medians per test, metric and server; ratio gust / best peer (highest for "hi" metrics,
# lowest for "lo" ones). FORMAT is text or md.
report() {
  awk -F'\t' -v format="$1" -v columns="${columns[*]}" -v peers="${peers_all[*]}" '
    function median(list,   n, a, i, j, t) {
      n = split(list, a, " ")
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function num(x) { return (x >= 1000) ? sprintf("%.0f", x) : (x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x)) }
    {
      key = $1 SUBSEP $2
      if (!(key in better)) { order[++rows] = key; better[key] = $3 }
      samples[key, $4] = samples[key, $4] " " $6
    }
    END {
      nc = split(columns, col, " "); np = split(peers, peer, " ")
      head = sprintf("%-12s %-14s", "test", "metric")
      for (c = 1; c <= nc; c++) head = head sprintf(" %10s", col[c])
      head = head sprintf(" %16s", "gust/best peer")
      if (format == "md") {
        line = "| test | metric |"; rule = "|---|---|"
        for (c = 1; c <= nc; c++) { line = line " " col[c] " |"; rule = rule "---:|" }
        print line " gust / best peer |"; print rule "---:|"
      } else { print head }
      for (r = 1; r <= rows; r++) {
        key = order[r]; split(key, k, SUBSEP)
        best = ""
        for (c = 1; c <= nc; c++) {
          s = col[c]; cell[s] = "n/a"; val[s] = ""
          if ((key, s) in samples) { val[s] = median(samples[key, s]); cell[s] = num(val[s]) }
        }
        for (p = 1; p <= np; p++) {
          v = val[peer[p]]; if (v == "") continue
          if (best == "" || (better[key] == "hi" && v + 0 > best + 0) || (better[key] == "lo" && v + 0 < best + 0)) best = v
        }
        ratio = "-"
        if (better[key] != "info" && val["gust"] != "" && best != "" && best + 0 != 0)
          ratio = sprintf("%.2f", val["gust"] / best)
        metric = k[2] (better[key] == "lo" ? " (lower is better)" : "")
        if (format == "md") {
          line = "| " k[1] " | " metric " |"
          for (c = 1; c <= nc; c++) line = line " " cell[col[c]] " |"
          print line " " ratio " |"
        } else {
          line = sprintf("%-12s %-14s", k[1], k[2])
          for (c = 1; c <= nc; c++) line = line sprintf(" %10s", cell[col[c]])
          print line sprintf(" %16s", ratio)
        }
      }
    }' "$results"
}

echo
cat "$work/header.txt"
echo
report text
if [ -s "$warnings" ]; then echo; echo "warnings:"; sed 's/^/  /' "$warnings"; fi

{
  echo "# gust benchmark report"
  echo
  sed 's/^/- /' "$work/header.txt"
  echo
  echo "Medians over the rounds; per CPU-s: per second of server CPU time (utime + stime of"
  echo "the server's process tree); server CPU %: of one CPU (near 100 %: the server was the"
  echo "bottleneck). gust / best peer: above 1 is better for gust, except on rows marked lower"
  echo "is better. ws-* and idle-ws tests: nginx and h2o have no WebSocket echo."
  echo
  report md
  if [ -s "$warnings" ]; then
    echo; echo "Warnings:"; echo; sed 's/^/- /' "$warnings"
  fi
} >"$out_dir/report.md"
cp "$results" "$out_dir/results.tsv"
note "report: $out_dir/report.md, samples: $out_dir/results.tsv"
if [ "$strict" = 1 ] && [ -s "$warnings" ]; then
  note "--strict: $(wc -l <"$warnings") warning(s), see above"
  exit 1
fi
