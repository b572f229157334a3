#!/usr/bin/env bash
# CI smoke of the benchmark harness: gomodel and the direct baseline only, a couple of seconds per
# scenario and a tiny soak, into a temporary folder (bench/results/ and docs/ are left alone).
# Asserts that every scenario ran and produced numbers with zero errors; never an absolute time.
# Last line: "bench smoke: N passed, M failed"; exit status non-zero on any failure.
#
#   bench/smoke.sh [--no-build] [--skip SCENARIO]...
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/gomodel-bench-smoke.XXXXXX")"
run_args=() check_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) run_args+=(--no-build) ;;
    --skip) check_args+=(--skip "$2"); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# The harness bounds every run itself; the outer timeout only guards against a wedged build.
timeout 3000 bash "$ROOT/bench/run.sh" --smoke --results "$OUT" "${run_args[@]}"
run_rc=$?
python3 "$ROOT/bench/report.py" check "$OUT" "${check_args[@]}" >"$OUT/check.txt"
check_rc=$?
sed '$d' "$OUT/check.txt"
summary="$(tail -n1 "$OUT/check.txt")"
if [[ $run_rc != 0 || $check_rc != 0 ]]; then
  echo "harness exit status $run_rc; logs kept in $OUT/logs:" >&2
  tail -n 5 "$OUT"/logs/*.log "$OUT"/logs/*.err 2>/dev/null | tail -n 60 >&2
  if [[ $check_rc == 0 ]]; then
    # The checks passed but the harness itself reported a failed step: count it.
    summary="$(echo "$summary" | sed -E 's/([0-9]+) failed/1 failed/')"
  fi
  echo "$summary"
  exit 1
fi
rm -rf "$OUT"
echo "$summary"
