#!/usr/bin/env bash
# The soak: mixed load against the release sample for a long while, then SIGTERM under
# load. HTTP/1.1 keep-alive clients, h2c, h2 over TLS, WebSocket echo sessions and 8 MiB
# uploads to /dynamic run together; every answer is checked byte for byte. It prints the
# requests served and the errors (must be 0) per kind of client, the server's RSS at the
# start, middle and end (must be flat), and what the stop did: refused new connections,
# finished the uploads and the download in flight, exited 0 within the grace period.
#
# It is crates/gust-sample/tests/soak, the test `cargo test` runs for 6 seconds, built in
# release (the server and the clients) and run for longer.
#
# Usage: scripts/soak.sh [seconds, default 600]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
# Enough descriptors for the clients and the server on a machine with a low default.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "soak: ${seconds}s of mixed load on $(nproc) cores, then SIGTERM"
GUST_SOAK_SECS=$seconds cargo test --release -q -p gust-sample --test soak -- --nocapture
