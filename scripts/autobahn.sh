#!/usr/bin/env bash
# Runs the Autobahn TestSuite's cases against a running WebSocket echo server and prints a
# summary; the JSON and HTML report (open index.html) goes to target/autobahn/sections-.../.
# The same check as `cargo test -p gust-sample --test websocket autobahn`, for a server you
# started yourself, e.g.:
#
#   cargo run -p gust-sample -- --no-tls --listen 127.0.0.1:9001 &
#   scripts/autobahn.sh ws://127.0.0.1:9001/ws_echo            # sections 1 to 10
#   scripts/autobahn.sh ws://127.0.0.1:9001/ws_echo 12 13      # permessage-deflate
#
# Usage: scripts/autobahn.sh URL [SECTION...]
#   URL      a ws:// URL on this machine (127.0.0.0/8, localhost or [::1]): the cases flood
#            their target, so no other address is accepted.
#   SECTION  Autobahn sections; default 1 2 3 4 5 6 7 9 10 (Autobahn has no section 8).
#
# The runner is kosoku (pip install kosoku; Python 3.10+), which drives Autobahn's own case
# files. With WSTEST=/path/to/wstest the original runner is used instead (PyPI's
# autobahntestsuite, Python 2.7 only): about four times slower, and it also fails a server
# that leaves the TCP connection open after the closing handshake ("FAILED BY CLIENT"),
# which kosoku 0.1 does not check.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${1:?usage: scripts/autobahn.sh ws://127.0.0.1:PORT/ws_echo [SECTION...]}
shift
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(1 2 3 4 5 6 7 9 10)

host=$(sed -E 's#^wss?://(\[[^]]*\]|[^/:]*).*#\1#' <<<"$url")
case "$host" in
  127.*|localhost|'[::1]') ;;
  *) echo "autobahn: $url is not on this machine; give a loopback URL" >&2; exit 2 ;;
esac

name=sections-$(IFS=-; echo "${sections[*]}")
outdir=target/autobahn/$name
rm -rf "$outdir"
mkdir -p "$outdir"
started=$(date +%s)

if [ -n "${WSTEST:-}" ]; then
  cases=$(printf '"%s.*",' "${sections[@]}")
  cat >"$outdir/spec.json" <<EOF
{"outdir": "$outdir", "servers": [{"agent": "server", "url": "$url"}],
 "cases": [${cases%,}], "exclude-cases": [], "exclude-agent-cases": {}}
EOF
  timeout --kill-after=10 3600 "$WSTEST" -m fuzzingclient -s "$outdir/spec.json" \
    >"$outdir/wstest.log" 2>&1 || true
else
  command -v kosoku >/dev/null \
    || { echo "autobahn: kosoku not installed (python3 -m pip install kosoku)" >&2; exit 1; }
  args=()
  for section in "${sections[@]}"; do args+=(-i "$section.*"); done
  # kosoku exits 1 when a case fails; the summary below says which.
  timeout --kill-after=10 3600 kosoku "${args[@]}" -o "$outdir" "$url" \
    >"$outdir/kosoku.log" 2>&1 || true
fi

[ -f "$outdir/index.json" ] || {
  echo "autobahn: no report in $outdir:" >&2
  cat "$outdir"/*.log >&2
  exit 1
}
python3 - "$outdir" "$(( $(date +%s) - started ))" <<'EOF'
import json, os, sys
outdir, took = sys.argv[1], sys.argv[2]
index = json.load(open(os.path.join(outdir, "index.json")))
passing = {"OK", "NON-STRICT", "INFORMATIONAL"}
counts, failed = {}, []
for agent, cases in index.items():
    for case_id, case in cases.items():
        behavior, close = case["behavior"], case["behaviorClose"]
        if behavior in passing and close in passing:
            counts[behavior] = counts.get(behavior, 0) + 1
        else:
            failed.append(f"  {case_id}: behavior {behavior}, close {close}, "
                          f"remote close code {case.get('remoteCloseCode')}")
total = sum(len(cases) for cases in index.values())
failed.sort(key=lambda line: [int(p) for p in line.split(":")[0].split(".")])
for line in failed[:50]:
    print(line)
if len(failed) > 50:
    print(f"  ... and {len(failed) - 50} more")
print(f"autobahn: {total} cases, OK {counts.get('OK', 0)}, NON-STRICT {counts.get('NON-STRICT', 0)}, "
      f"INFORMATIONAL {counts.get('INFORMATIONAL', 0)}, FAILED {len(failed)} ({took} s); "
      f"report in {outdir}/index.html")
sys.exit(1 if failed or total == 0 else 0)
EOF
