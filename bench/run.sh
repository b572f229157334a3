#!/usr/bin/env bash
# Benchmark harness: gomodel vs the direct baseline (and, with --peers, LiteLLM proxy and Portkey
# gateway), all against the in-repo Bedrock emulator in fast mode, on loopback only.
#
#   bench/run.sh                     gomodel + direct, soak 20,000, regenerates docs/benchmarks.md
#   bench/run.sh --peers             also installs (into bench/.peers/) and measures the peers
#   bench/run.sh --full              = --peers --soak 100000 (the published run)
#   bench/run.sh --smoke --results D CI smoke: short runs into D, no doc regeneration
#
# Every load run is bounded by a request count and a deadline; every wait loop by a deadline.
# Processes started here run in their own process group and are ended by that id on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PEERS=0
SMOKE=0
BUILD=1
SOAK=20000
DURATION=10        # seconds, upper bound of each measured phase
REQUESTS=500000    # upper bound of each measured phase (the deadline usually ends it first)
WARMUP=3           # seconds, upper bound of each warm-up
RESULTS="$ROOT/bench/results"
DOC="$ROOT/docs/benchmarks.md"
STREAM_WORDS=20
EMBED_INPUTS=16
COLD_RUNS=5

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --peers) PEERS=1 ;;
    --full) PEERS=1; SOAK=100000 ;;
    --smoke) SMOKE=1; DURATION=2; WARMUP=1; SOAK=2000; COLD_RUNS=2 ;;
    --soak) SOAK="$2"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --requests) REQUESTS="$2"; shift ;;
    --results) RESULTS="$2"; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

CHAT_MODEL="anthropic.claude-3-5-sonnet-20240620-v1:0"
EMBED_MODEL="cohere.embed-english-v3"
MASTER_KEY="bench-master-key"
AKID="AKIDEMULATOR"
SECRET="emulator-secret"
REGION="us-east-1"
GOMODEL_PORT=18080
LITELLM_PORT=14000
PORTKEY_PORT=8787
PEERS_DIR="$ROOT/bench/.peers"
LOGS="$RESULTS/logs"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
BENCH="$BIN/gomodel-bench"

# No credential chain, profile or instance metadata lookups may leave the machine.
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI \
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI 2>/dev/null || true

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

STARTED=()
cleanup() {
  local rc=$? pid
  for pid in "${STARTED[@]:-}"; do
    if [[ -n "$pid" ]]; then stop_bg "$pid"; fi
  done
  exit "$rc" # keep the script's own status, not the last cleanup command's
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_bg LOGFILE CMD... — runs CMD in its own session/process group; sets BG_PID.
start_bg() {
  local logfile="$1"; shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  BG_PID=$!
  STARTED+=("$BG_PID")
}

# stop_bg PID — SIGTERM to the group, SIGKILL after 10 s; bounded.
stop_bg() {
  local pid="$1" i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${STARTED[@]:-}"; do [[ "$p" != "$pid" && -n "$p" ]] && keep+=("$p"); done
  STARTED=("${keep[@]:-}")
}

# wait_http URL SECONDS — until URL answers 2xx; fails after SECONDS.
wait_http() {
  local url="$1" secs="$2" i
  for ((i = 0; i < secs * 20; i++)); do
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.05
  done
  return 1
}

# start_emulator PORT LOGNAME — sets EMU_PID and EMU_PORT (read from its first stdout line).
start_emulator() {
  local port="$1" logfile="$LOGS/$2.log" i line=""
  EMULATOR_FAST=true start_bg "$logfile" "$BIN/gomodel-bedrock-emulator" --port "$port"
  EMU_PID=$BG_PID
  for ((i = 0; i < 200; i++)); do
    line="$(head -n1 "$logfile" 2>/dev/null || true)"
    [[ "$line" == listening\ on\ http://127.0.0.1:* ]] && break
    kill -0 "$EMU_PID" 2>/dev/null || { log "emulator exited: $(tail -5 "$logfile")"; return 1; }
    sleep 0.05
  done
  [[ "$line" == listening\ on\ http://127.0.0.1:* ]] || { log "emulator did not announce its port"; return 1; }
  EMU_PORT="${line##*:}"
  EMU_PORT="${EMU_PORT%%[^0-9]*}"
  wait_http "http://127.0.0.1:$EMU_PORT/_emulator/health" 10
}

status() { # status CONTENDER ok|missing DETAIL
  python3 - "$RESULTS/status__$1.json" "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, name, state, detail = sys.argv[1:5]
json.dump({"contender": name, "status": state, "detail": detail}, open(path, "w"), indent=2)
EOF
}

FAILED=0
# load SCENARIO CONTENDER ARGS... — one bounded load run; a failure is recorded, not fatal.
load() {
  local scenario="$1" contender="$2"; shift 2
  local out="$RESULTS/${scenario}__${contender}.json"
  log "  $scenario / $contender"
  if ! "$BENCH" load --scenario "$scenario" --contender "$contender" \
      --duration "$DURATION" --requests "$REQUESTS" --warmup-duration "$WARMUP" \
      --out "$out" "$@" 2>"$LOGS/${scenario}__${contender}.err"; then
    log "  $scenario / $contender FAILED: $(tail -3 "$LOGS/${scenario}__${contender}.err")"
    FAILED=$((FAILED + 1))
    return 0
  fi
  python3 - "$out" <<'EOF' >&2
import json, sys
r = json.load(open(sys.argv[1])); l = r.get("latency_ms") or {}
print(f"    ok={r['ok']} errors={r['errors']} rps={r['rps']:.0f} p50={l.get('p50', 0):.3f}ms p99={l.get('p99', 0):.3f}ms"
      + (f" first-error={r['error_samples'][0][:160]!r}" if r['error_samples'] else ""))
EOF
}

# scenarios CONTENDER "CHAT ARGS" "STREAM ARGS" "EMBED ARGS" PID-ARGS...
# (each ARGS string is eval'd into an array so header values may contain spaces)
scenarios() {
  local c="$1"; eval "local chat=($2)"; eval "local stream=($3)"; eval "local embed=($4)"; shift 4
  local pids=("$@")
  load chat_c1 "$c" -c 1 "${chat[@]}" "${pids[@]}"
  load chat_c10 "$c" -c 10 "${chat[@]}" "${pids[@]}"
  load chat_c100 "$c" -c 100 "${chat[@]}" "${pids[@]}"
  load stream_c10 "$c" -c 10 "${stream[@]}" "${pids[@]}"
  load stream_c100 "$c" -c 100 "${stream[@]}" "${pids[@]}"
  load embed_c10 "$c" -c 10 "${embed[@]}" "${pids[@]}"
}

idle_sample() { # idle_sample CONTENDER PID — after a quiet second
  sleep 1
  "$BENCH" proc --pid "$2" >"$RESULTS/idle__$1.json" || true
}

cold_start() { # cold_start CONTENDER RUNS MAX_WAIT HEALTH_URL TARGET-ARGS -- CMD...
  local c="$1" runs="$2" max="$3" health="$4"; shift 4
  log "  cold start / $c ($runs runs)"
  "$BENCH" cold-start --contender "$c" --runs "$runs" --max-wait "$max" --health-url "$health" \
    --completion --out "$RESULTS/coldstart__$c.json" "$@" 2>"$LOGS/coldstart__$c.err" \
    || { log "  cold start / $c FAILED: $(tail -3 "$LOGS/coldstart__$c.err")"; FAILED=$((FAILED + 1)); }
}

# ---------------------------------------------------------------------------------------------
mkdir -p "$RESULTS" "$LOGS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.json.tmp

if [[ $BUILD == 1 ]]; then
  log "building release binaries (gomodel, emulator, load generator)"
  cargo build --release -p gomodel -p bedrock-emulator -p gomodel-bench >&2
fi
for b in gomodel gomodel-bedrock-emulator gomodel-bench; do
  [[ -x "$BIN/$b" ]] || { log "missing $BIN/$b (build failed?)"; exit 1; }
done

log "starting the emulator (fast mode)"
start_emulator 0 emulator
UP_PID=$EMU_PID
UP="http://127.0.0.1:$EMU_PORT"
log "emulator on $UP (pid $UP_PID)"

STREAM_PROMPT="Stream a short answer [[emu:words=$STREAM_WORDS]]"
# Cohere needs input_type; gomodel and LiteLLM default it, Portkey does not: send it to all alike.
EMBED_EXTRA="--extra-body '{\"input_type\":\"search_document\"}'"

# --- direct baseline: the load generator speaks Bedrock to the emulator itself -----------------
log "contender: direct"
status direct ok "load generator → emulator (SigV4 per request, event-stream decoded)"
cold_start direct "$COLD_RUNS" 20 "http://127.0.0.1:18099/_emulator/health" \
  --target converse --url http://127.0.0.1:18099 --model "$CHAT_MODEL" \
  -- env EMULATOR_FAST=true "$BIN/gomodel-bedrock-emulator" --port 18099
idle_sample direct "$UP_PID"
DIRECT_CHAT="--target converse --url $UP --model '$CHAT_MODEL'"
DIRECT_STREAM="--target converse-stream --url $UP --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT'"
DIRECT_EMBED="--target invoke-embeddings --url $UP --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS"
scenarios direct "$DIRECT_CHAT" "$DIRECT_STREAM" "$DIRECT_EMBED" --pid "upstream=$UP_PID"

# --- gomodel ------------------------------------------------------------------------------------
log "contender: gomodel"
GOMODEL_ENV=(env PORT=$GOMODEL_PORT BEDROCK_BASE_URL="$UP" AWS_REGION=$REGION
  AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET GOMODEL_MASTER_KEY=$MASTER_KEY
  BEDROCK_MODELS="$CHAT_MODEL,$EMBED_MODEL" RUST_LOG=warn)
GM="http://127.0.0.1:$GOMODEL_PORT"
GM_AUTH="-H 'authorization: Bearer $MASTER_KEY'"
cold_start gomodel "$COLD_RUNS" 20 "$GM/health" \
  --target openai-chat --url "$GM" --model "$CHAT_MODEL" -H "authorization: Bearer $MASTER_KEY" \
  -- "${GOMODEL_ENV[@]}" "$BIN/gomodel"
start_bg "$LOGS/gomodel.log" "${GOMODEL_ENV[@]}" "$BIN/gomodel"
GM_PID=$BG_PID
if wait_http "$GM/health" 20; then
  status gomodel ok "release build of this tree"
  idle_sample gomodel "$GM_PID"
  scenarios gomodel \
    "--target openai-chat --url $GM --model '$CHAT_MODEL' $GM_AUTH" \
    "--target openai-chat --stream --url $GM --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT' $GM_AUTH" \
    "--target openai-embeddings --url $GM --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS $EMBED_EXTRA $GM_AUTH" \
    --pid "gateway=$GM_PID" --pid "upstream=$UP_PID"
  # The soak gets a fresh process, so its RSS series shows the soak's own memory, not what the
  # embeddings scenario before it left in the allocator's caches.
  stop_bg "$GM_PID"
  start_bg "$LOGS/gomodel-soak.log" "${GOMODEL_ENV[@]}" "$BIN/gomodel"
  GM_PID=$BG_PID
  wait_http "$GM/health" 20 || log "  gomodel did not come back for the soak: $(tail -3 "$LOGS/gomodel-soak.log")"
  SOAK_SECS=$(( SOAK / 200 + 30 )); (( SOAK_SECS > 1200 )) && SOAK_SECS=1200
  DURATION_SAVED=$DURATION; DURATION=$SOAK_SECS; REQUESTS_SAVED=$REQUESTS; REQUESTS=$SOAK
  load soak gomodel -c 50 --target openai-chat --url "$GM" --model "$CHAT_MODEL" \
    -H "authorization: Bearer $MASTER_KEY" --sample-interval-ms 200 \
    --pid "gateway=$GM_PID" --pid "upstream=$UP_PID"
  DURATION=$DURATION_SAVED; REQUESTS=$REQUESTS_SAVED
  "$BENCH" proc --pid "$GM_PID" >"$RESULTS/after__gomodel.json" || true
else
  status gomodel missing "did not become healthy: $(tail -3 "$LOGS/gomodel.log" | tr '\n' ' ')"
  FAILED=$((FAILED + 1))
fi
stop_bg "$GM_PID"

# --- peers --------------------------------------------------------------------------------------
if [[ $PEERS == 1 ]]; then
  bash "$ROOT/bench/peers.sh" install "$PEERS_DIR" >&2 || true

  # LiteLLM proxy, pointed at the same emulator.
  LITELLM_BIN="$PEERS_DIR/litellm-venv/bin/litellm"
  if [[ -x "$LITELLM_BIN" ]]; then
    CFG="$PEERS_DIR/litellm-config.yaml"
    cat >"$CFG" <<EOF
model_list:
  - model_name: $CHAT_MODEL
    litellm_params:
      model: bedrock/converse/$CHAT_MODEL
      aws_access_key_id: $AKID
      aws_secret_access_key: $SECRET
      aws_region_name: $REGION
      aws_bedrock_runtime_endpoint: $UP
  - model_name: $EMBED_MODEL
    litellm_params:
      model: bedrock/$EMBED_MODEL
      aws_access_key_id: $AKID
      aws_secret_access_key: $SECRET
      aws_region_name: $REGION
      aws_bedrock_runtime_endpoint: $UP
litellm_settings:
  telemetry: false
  drop_params: true
EOF
    LL_KEY="sk-$MASTER_KEY"
    LL_ENV=(env LITELLM_MASTER_KEY=$LL_KEY LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_TELEMETRY=False
      AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=$REGION)
    LL="http://127.0.0.1:$LITELLM_PORT"
    LL_AUTH="-H 'authorization: Bearer $LL_KEY'"
    LL_VERSION="$("$PEERS_DIR/litellm-venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || echo unknown)"
    for variant in litellm litellm-2w; do
      log "contender: $variant"
      extra=()
      [[ $variant == litellm-2w ]] && extra=(--num_workers 2 --timeout_worker_healthcheck 60)
      LL_CMD=("${LL_ENV[@]}" "$LITELLM_BIN" --config "$CFG" --host 127.0.0.1 --port $LITELLM_PORT "${extra[@]}")
      cold_start "$variant" 1 240 "$LL/health/liveliness" \
        --target openai-chat --url "$LL" --model "$CHAT_MODEL" -H "authorization: Bearer $LL_KEY" \
        -- "${LL_CMD[@]}"
      start_bg "$LOGS/$variant.log" "${LL_CMD[@]}"
      LL_PID=$BG_PID
      if wait_http "$LL/health/liveliness" 240; then
        status "$variant" ok "litellm[proxy]==$LL_VERSION ${extra[*]}"
        idle_sample "$variant" "$LL_PID"
        scenarios "$variant" \
          "--target openai-chat --url $LL --model '$CHAT_MODEL' $LL_AUTH" \
          "--target openai-chat --stream --url $LL --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT' $LL_AUTH" \
          "--target openai-embeddings --url $LL --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS $EMBED_EXTRA $LL_AUTH" \
          --pid "gateway=$LL_PID" --pid "upstream=$UP_PID"
      else
        status "$variant" missing "did not become healthy: $(tail -3 "$LOGS/$variant.log" | tr '\n' ' ')"
      fi
      stop_bg "$LL_PID"
    done
  else
    status litellm missing "install failed: $(tail -2 "$PEERS_DIR/litellm-install.log" 2>/dev/null | tr '\n' ' ')"
    status litellm-2w missing "install failed (see litellm)"
  fi

  # Portkey gateway: x-portkey-custom-host replaces the Bedrock base URL without a port, so its
  # upstream is a second emulator instance on port 80 (needs root; we are).
  PK_JS="$PEERS_DIR/portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
  if [[ -f "$PK_JS" ]]; then
    log "contender: portkey"
    if start_emulator 80 emulator-80; then
      PK_UP_PID=$EMU_PID
      PK="http://127.0.0.1:$PORTKEY_PORT"
      PK_VERSION="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$(dirname "$PK_JS")/../package.json" 2>/dev/null || echo unknown)"
      PK_H="-H 'x-portkey-provider: bedrock' -H 'x-portkey-aws-access-key-id: $AKID' -H 'x-portkey-aws-secret-access-key: $SECRET' -H 'x-portkey-aws-region: $REGION' -H 'x-portkey-custom-host: http://127.0.0.1'"
      eval "PK_HA=($PK_H)"
      PK_CMD=(node "$PK_JS" --port=$PORTKEY_PORT --headless)
      cold_start portkey 3 60 "$PK/" --target openai-chat --url "$PK" --model "$CHAT_MODEL" "${PK_HA[@]}" \
        -- "${PK_CMD[@]}"
      start_bg "$LOGS/portkey.log" "${PK_CMD[@]}"
      PK_PID=$BG_PID
      if wait_http "$PK/" 60; then
        status portkey ok "@portkey-ai/gateway@$PK_VERSION, node $(node --version)"
        idle_sample portkey "$PK_PID"
        scenarios portkey \
          "--target openai-chat --url $PK --model '$CHAT_MODEL' $PK_H" \
          "--target openai-chat --stream --url $PK --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT' $PK_H" \
          "--target openai-embeddings --url $PK --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS $EMBED_EXTRA $PK_H" \
          --pid "gateway=$PK_PID" --pid "upstream=$PK_UP_PID"
      else
        status portkey missing "did not become healthy: $(tail -3 "$LOGS/portkey.log" | tr '\n' ' ')"
      fi
      stop_bg "$PK_PID"
      stop_bg "$PK_UP_PID"
    else
      status portkey missing "could not start its port-80 emulator"
    fi
  else
    status portkey missing "install failed: $(tail -2 "$PEERS_DIR/portkey-install.log" 2>/dev/null | tr '\n' ' ')"
  fi
else
  for p in litellm litellm-2w portkey; do status "$p" "not-run" "run bench/run.sh --peers"; done
fi

stop_bg "$UP_PID"

python3 "$ROOT/bench/report.py" meta "$RESULTS" --soak "$SOAK" --duration "$DURATION" \
  --peers "$PEERS" --smoke "$SMOKE"
if [[ $SMOKE == 0 ]]; then
  python3 "$ROOT/bench/report.py" doc "$RESULTS" --doc "$DOC" --svg "$RESULTS/latency.svg"
  log "wrote $DOC and $RESULTS/latency.svg (raw JSON beside it)"
fi
log "done ($FAILED failed steps)"
[[ $FAILED == 0 ]]
