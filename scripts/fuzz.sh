#!/usr/bin/env bash
# Builds every cargo-fuzz target of fuzz/ once, then runs each for a fixed time and prints
# what it did: executions, executions per second, coverage (libFuzzer's `cov:` edges and
# `ft:` features) and corpus size. Fails on any crash, leak, timeout or out-of-memory.
#
#   scripts/fuzz.sh [seconds per target, default 30] [target...]   (default: every target)
#
# Each run starts from the committed seeds (fuzz/corpus/<target>/seed-*) copied into a
# scratch directory, so the repository is never written to; logs, the grown corpora and any
# crashing input stay there (GUST_FUZZ_WORK chooses it, default a new directory in /tmp).
# Extra libFuzzer flags can be given in GUST_FUZZ_ARGS (e.g. "-max_len=16384").
# GUST_FUZZ_JOBS targets run at once (default 1; .ci/run uses 2, one per core): each still
# gets its full time, the whole run takes that much less.
#
# cargo-fuzz is installed if missing. The stable toolchain is enough: RUSTC_BOOTSTRAP=1
# lets it take the sanitizer flags cargo-fuzz passes. A crash is reproduced with
#   <binary> <artifact>   and minimised with   cargo fuzz tmin <target> <artifact>
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(h1_head h1_body h2_frame hpack_decode h2_connection ws_frame ws_message
  ws_session router_path)

seconds=${1:-30}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${ALL_TARGETS[@]}"); fi
case $seconds in
  '' | *[!0-9]*) echo "fuzz.sh: seconds must be a number, got '$seconds'" >&2; exit 2 ;;
esac

# The dictionary each target gets (fuzz/dict/).
dict_for() {
  case $1 in
    h1_*) echo fuzz/dict/http1.dict ;;
    h2_* | hpack_*) echo fuzz/dict/http2.dict ;;
    ws_*) echo fuzz/dict/websocket.dict ;;
    router_*) echo fuzz/dict/router.dict ;;
  esac
}

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

target_dir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=$target_dir/$triple/release

build_started=$(date +%s)
# -O: optimised, as fuzzing needs speed; -a: debug assertions and overflow checks on, so an
# arithmetic overflow is a crash rather than a silent wrap.
cargo fuzz build -O -a --target-dir "$target_dir"
build_secs=$(( $(date +%s) - build_started ))
echo "fuzz.sh: built in ${build_secs}s"

work=${GUST_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gust-fuzz.XXXXXX")}
mkdir -p "$work"
summary=$work/summary.txt
printf '%-14s %6s %12s %8s %6s %7s %8s %10s  %s\n' target secs execs exec/s cov ft corpus \
  peak_rss result | tee "$summary"

jobs=${GUST_FUZZ_JOBS:-1}
case $jobs in
  '' | *[!0-9]* | 0) echo "fuzz.sh: GUST_FUZZ_JOBS must be a positive number, got '$jobs'" >&2; exit 2 ;;
esac
for t in "${targets[@]}"; do
  if [ ! -x "$bin_dir/$t" ]; then
    echo "fuzz.sh: no target named $t (have: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# Runs one target; its summary line goes to $work/<target>.result, "ok" or the failure to
# $work/<target>.status.
run_target() {
  local t=$1
  local bin=$bin_dir/$t
  local corpus=$work/corpus/$t
  local artifacts=$work/artifacts/$t/
  local log=$work/$t.log
  local flags extra dict started rc secs status_line cov ft corp execs rate rss result
  mkdir -p "$corpus" "$artifacts"
  cp fuzz/corpus/"$t"/seed-* "$corpus"/
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$artifacts")
  dict=$(dict_for "$t")
  if [ -n "$dict" ]; then flags+=(-dict="$dict"); fi
  # shellcheck disable=SC2206 # word splitting of the extra flags is wanted
  extra=(${GUST_FUZZ_ARGS:-})
  started=$(date +%s)
  set +e
  "$bin" "${flags[@]}" "${extra[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - started ))

  # Figures from libFuzzer's last status line and its final statistics.
  status_line=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$status_line")
  execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: //p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: //p' "$log" | tail -n 1)

  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=TIMEOUT
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then result=LEAK
    elif grep -qE 'out-of-memory|malloc\(.*\) exceeds' "$log"; then result=OOM
    else result=CRASH; fi
  fi
  printf '%-14s %6s %12s %8s %6s %7s %8s %8sMb  %s\n' "$t" "$secs" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$result" >"$work/$t.result"
  echo "$result" >"$work/$t.status"
  if [ "$result" != ok ]; then
    echo "fuzz.sh: $t: $result (exit $rc); log: $log" >&2
    grep -E 'panicked at|ERROR: |SUMMARY: ' "$log" | head -n 5 >&2 || true
    for a in "$artifacts"*; do
      [ -e "$a" ] && echo "fuzz.sh: reproduce with: $bin $a" >&2
    done
  fi
}

running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
  if [ -f "$work/$t.result" ]; then
    tee -a "$summary" <"$work/$t.result"
  else
    echo "$t: no result" | tee -a "$summary"
  fi
  [ "$(cat "$work/$t.status" 2>/dev/null)" = ok ] || failed+=("$t")
done

echo "fuzz.sh: logs, corpora and artifacts in $work (build ${build_secs}s)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
