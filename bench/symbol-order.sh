#!/usr/bin/env bash
# Regenerates crates/gomodel/symbol-order.txt: the functions a gateway actually runs (start-up,
# health checks, every endpoint, errors, a short load), hottest first. The release link puts them
# side by side at the front of .text (see crates/gomodel/build.rs and docs/symbol-order.md), so
# the pages the process touches are few and dense instead of spread over the whole binary.
#
#   bench/symbol-order.sh              # builds the release binaries (with a linker map), profiles
#   bench/symbol-order.sh --no-build   # profiles target/release/* and the map as they are
#   KEEP=1 bench/symbol-order.sh       # keeps the callgrind profile and logs (path printed)
#
# Needs valgrind (callgrind counts every instruction executed, however rarely) and curl. Run it after
# a dependency or toolchain update: symbol names carry a hash of the crate's build metadata, so
# such an update leaves entries that no longer match (the link ignores them; nothing breaks,
# the binary just loses the ordering for those functions).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/crates/gomodel/symbol-order.txt"
TARGET_DIR="${TARGET_DIR:-$ROOT/target}"
WORK=$(mktemp -d); [ -z "${KEEP:-}" ] || echo "profile and logs in $WORK"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

# The very release build (same profile, so the same symbol hashes), stripped as shipped; the
# linker's map names its functions whatever their current order.
MAP="$TARGET_DIR/release/gomodel.map"
# gomodel is built on its own, as `make build` does: built together with the other packages,
# Cargo would unify the features of shared dependencies and rename their symbols.
if [ "${1:-}" != --no-build ]; then
  GOMODEL_LINK_MAP="$MAP" cargo build --release -p gomodel --target-dir "$TARGET_DIR"
  cargo build --release -p bedrock-emulator -p gomodel-bench --target-dir "$TARGET_DIR"
fi
BIN="$TARGET_DIR/release"

EMU_PORT=18191 GW_PORT=18192
CHAT="anthropic.claude-3-5-sonnet-20240620-v1:0" EMBED="cohere.embed-english-v3"
EMULATOR_FAST=true "$BIN/gomodel-bedrock-emulator" --port $EMU_PORT >"$WORK/emu.log" 2>&1 &

cd "$WORK"
env PORT=$GW_PORT BEDROCK_BASE_URL=http://127.0.0.1:$EMU_PORT AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDEMULATOR AWS_SECRET_ACCESS_KEY=emulator-secret GOMODEL_MASTER_KEY=k \
  BEDROCK_MODELS="$CHAT,$EMBED" RUST_LOG=warn \
  valgrind --tool=callgrind --dump-instr=yes --dump-line=no --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$WORK/callgrind.out" "$BIN/gomodel" >"$WORK/gw.log" 2>&1 &
GW_PID=$!

GW=http://127.0.0.1:$GW_PORT
for _ in $(seq 600); do curl -fs "$GW/health" >/dev/null && break; sleep 0.1; done
call() { curl -s -o /dev/null -H 'authorization: Bearer k' -H 'content-type: application/json' "$@" || true; }
chat='{"model":"'$CHAT'","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello [[emu:words=20]]"}]'
for _ in 1 2 3; do
  call "$GW/health"; call "$GW/health/ready"; call "$GW/admin/usage"; call "$GW/v1/models"; call "$GW/v1/models/$CHAT"; call "$GW/metrics"
  call "$GW/v1/chat/completions" -d "$chat}"
  call "$GW/v1/chat/completions" -d "$chat,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
  call "$GW/v1/chat/completions" -d "$chat,\"max_tokens\":50,\"temperature\":0.2,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]}"
  call "$GW/v1/responses" -d '{"model":"'$CHAT'","input":"Hello"}'
  call "$GW/v1/responses" -d '{"model":"'$CHAT'","input":"Hello","stream":true}'
  call "$GW/v1/embeddings" -d '{"model":"'$EMBED'","input":["a","b","c"]}'
  # The error paths a live gateway meets: no key, unknown model, bad JSON.
  curl -s -o /dev/null "$GW/v1/models" || true
  call "$GW/v1/chat/completions" -d '{"model":"nope","messages":[{"role":"user","content":"x"}]}'
  call "$GW/v1/chat/completions" -d '{"model":'
done
# A short closed-loop load, so the pooled, concurrent paths run too.
"$BIN/gomodel-bench" load --target openai-chat --url "$GW" --model "$CHAT" -H 'authorization: Bearer k' \
  -c 10 --requests 300 --duration 60 --warmup-duration 0 --out "$WORK/load.json" >/dev/null
"$BIN/gomodel-bench" load --target openai-chat --stream --prompt 'Stream [[emu:words=20]]' --url "$GW" \
  --model "$CHAT" -H 'authorization: Bearer k' -c 10 --requests 100 --duration 60 \
  --warmup-duration 0 --out "$WORK/stream.json" >/dev/null
kill -TERM $GW_PID; wait $GW_PID || true
python3 - "$WORK/load.json" "$WORK/stream.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    print(f"profiled load {path.rsplit('/', 1)[1]}: {r['requests']} requests, {r['errors']} errors")
    assert r["errors"] == 0 and r["requests"] > 0, "the profiled load must succeed"
PY

python3 "$ROOT/bench/symbol_order.py" "$WORK/callgrind.out" "$MAP" "$BIN/gomodel" >"$OUT"
echo "wrote $(wc -l <"$OUT") symbols to $OUT"
