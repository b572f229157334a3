#!/usr/bin/env bash
# Heap allocations per non-stream chat request, counted with uprobes on mimalloc's entry points.
#
#   bench/allocs.sh [REQUESTS]        default 10,000 requests at concurrency 10, storage on
#
# Needs `perf` with uprobe support (run as root) and a symbolised build, which this script makes
# in target/bench-profile (release profile, symbols kept, line tables only):
#   CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#     cargo build --release -p gomodel -p bedrock-emulator -p gomodel-bench --target-dir target/bench-profile
# Counts `_mi_page_malloc_zero` (mimalloc's fast path) + `_mi_malloc_generic` (its slow path) and
# `mi_free` in the gateway process only, after a 3,000-request warm-up. Results: bench/notes.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-10000}"
BIN="$ROOT/target/bench-profile/release"
MODEL="anthropic.claude-3-5-sonnet-20240620-v1:0"
EMU_PORT=18111
GW_PORT=18112

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$ROOT" && CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release -p gomodel -p bedrock-emulator -p gomodel-bench --target-dir target/bench-profile)
fi

perf probe -q -d 'probe_gomodel:*' 2>/dev/null || true
for fn in _mi_page_malloc_zero _mi_malloc_generic mi_free; do
  perf probe -q -x "$BIN/gomodel" -a "$fn"
done

WORK="$(mktemp -d)"
cleanup() {
  kill "${EMU_PID:-}" "${GW_PID:-}" 2>/dev/null || true
  perf probe -q -d 'probe_gomodel:*' 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

EMULATOR_FAST=true "$BIN/gomodel-bedrock-emulator" --port "$EMU_PORT" >"$WORK/emulator.log" 2>&1 &
EMU_PID=$!
sleep 0.5
(cd "$WORK" && exec env PORT="$GW_PORT" BEDROCK_BASE_URL="http://127.0.0.1:$EMU_PORT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDEMULATOR AWS_SECRET_ACCESS_KEY=emulator-secret GOMODEL_MASTER_KEY=k \
  BEDROCK_MODELS="$MODEL" RUST_LOG=warn "$BIN/gomodel") >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$GW_PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done

LOAD=("$BIN/gomodel-bench" load --target openai-chat --url "http://127.0.0.1:$GW_PORT" --model "$MODEL"
  -H "authorization: Bearer k" -c 10 --duration 120 --out "$WORK/load.json")
"${LOAD[@]}" --requests 3000 --warmup-duration 0.5 >/dev/null
perf stat -x, -e probe_gomodel:_mi_page_malloc_zero,probe_gomodel:_mi_malloc_generic,probe_gomodel:mi_free \
  -p "$GW_PID" -o "$WORK/stat.csv" -- "${LOAD[@]}" --requests "$N" --warmup-duration 0 >/dev/null
python3 - "$WORK/stat.csv" "$WORK/load.json" "$N" <<'PY'
import csv, json, sys
counts = {row[2].split(":")[1]: int(row[0]) for row in csv.reader(open(sys.argv[1])) if len(row) > 2 and row[0].isdigit()}
n = int(sys.argv[3])
ok = json.load(open(sys.argv[2]))["ok"]
allocs = counts.get("_mi_page_malloc_zero", 0) + counts.get("_mi_malloc_generic", 0)
print(f"{ok} of {n} requests ok; per request: {allocs / n:.1f} allocations, {counts.get('mi_free', 0) / n:.1f} frees")
PY
