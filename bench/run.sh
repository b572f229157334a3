#!/usr/bin/env bash
# Benchmark harness: gomodel vs the direct baseline (and, with --peers, LiteLLM proxy and Portkey
# gateway), all against the in-repo Bedrock emulator in fast mode, on loopback only.
#
#   bench/run.sh                     gomodel + direct, soak 20,000, regenerates docs/benchmarks.md
#   bench/run.sh --peers             also installs (into bench/.peers/) and measures the peers
#   bench/run.sh --full              = --peers --soak 100000 --repeat 3 (the published run)
#   bench/run.sh --repeat N          run each direct/gomodel scenario N times (default 1), see below
#   bench/run.sh --smoke --results D CI smoke: short runs into D, no doc regeneration
#   other flags: --soak N, --duration S, --requests N, --results DIR, --no-build, --no-relays
#
# direct, the two zero-work relays (`gomodel-bench relay --mode tcp|http`: the floor of any proxy
# and of any gateway on hyper) and gomodel share one emulator and are measured interleaved per
# scenario (direct r1, relays r1, gomodel r1, direct r2, ...), so every ratio compares
# neighbouring runs. With N > 1 each run is kept as SCENARIO__CONTENDER.rK.json and
# SCENARIO__CONTENDER.json holds the median run by req/s (plus a "repeats" summary). Peers run
# once each, in their own block afterwards.
# Every load run is bounded by a request count and a deadline; every wait loop by a deadline.
# A failed run is logged and counted (non-zero exit at the end), never fatal.
# Processes started here run in their own process group and are ended by that id on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PEERS=0
SMOKE=0
RELAYS=1
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
REPEAT=""          # --repeat N; default 1, or 3 with --full
REPEAT_DEFAULT=1

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --peers) PEERS=1 ;;
    --full) PEERS=1; SOAK=100000; REPEAT_DEFAULT=3 ;;
    --repeat) REPEAT="${2:-}"; shift ;;
    --smoke) SMOKE=1; RELAYS=0; DURATION=2; WARMUP=1; SOAK=2000; COLD_RUNS=2 ;;
    --no-relays) RELAYS=0 ;;
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
REPEAT="${REPEAT:-$REPEAT_DEFAULT}"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "--repeat needs a positive integer, got '$REPEAT'" >&2; exit 2; }

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

# announced_port NAME PID LOGFILE PREFIX — waits (≤ 10 s) for the process's first stdout line,
# `PREFIX<port>...`, and sets ANNOUNCED_PORT; fails when the process exits or never says it.
announced_port() {
  local name="$1" pid="$2" logfile="$3" prefix="$4" i line=""
  for ((i = 0; i < 200; i++)); do
    line="$(head -n1 "$logfile" 2>/dev/null || true)"
    [[ "$line" == "$prefix"* ]] && break
    kill -0 "$pid" 2>/dev/null || { log "$name exited: $(tail -5 "$logfile")"; return 1; }
    sleep 0.05
  done
  [[ "$line" == "$prefix"* ]] || { log "$name did not announce its port"; return 1; }
  ANNOUNCED_PORT="${line#"$prefix"}"
  ANNOUNCED_PORT="${ANNOUNCED_PORT%%[^0-9]*}"
}

# start_emulator PORT LOGNAME — sets EMU_PID and EMU_PORT (read from its first stdout line).
start_emulator() {
  local port="$1" logfile="$LOGS/$2.log"
  EMULATOR_FAST=true start_bg "$logfile" "$BIN/gomodel-bedrock-emulator" --port "$port"
  EMU_PID=$BG_PID
  announced_port emulator "$EMU_PID" "$logfile" "listening on http://127.0.0.1:" || return 1
  EMU_PORT=$ANNOUNCED_PORT
  wait_http "http://127.0.0.1:$EMU_PORT/_emulator/health" 10
}

# start_relay MODE — a zero-work relay (tcp|http) in front of the emulator; sets RELAY_PID and
# RELAY_URL (the port is read from its first stdout line).
start_relay() {
  local mode="$1" logfile="$LOGS/relay-$1.log"
  start_bg "$logfile" "$BENCH" relay --mode "$mode" --upstream "127.0.0.1:$EMU_PORT"
  RELAY_PID=$BG_PID
  announced_port "relay $mode" "$RELAY_PID" "$logfile" "listening on 127.0.0.1:" || return 1
  RELAY_URL="http://127.0.0.1:$ANNOUNCED_PORT"
  wait_http "$RELAY_URL/_emulator/health" 10
}

status() { # status CONTENDER ok|missing DETAIL
  python3 - "$RESULTS/status__$1.json" "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, name, state, detail = sys.argv[1:5]
json.dump({"contender": name, "status": state, "detail": detail}, open(path, "w"), indent=2)
EOF
}

FAILED=0
LOAD_SUFFIX=""     # ".rK" while repeating: the run goes to SCENARIO__CONTENDER.rK.json
# load SCENARIO CONTENDER ARGS... — one bounded load run; a failure is recorded, not fatal.
load() {
  local scenario="$1" contender="$2"; shift 2
  local name="${scenario}__${contender}${LOAD_SUFFIX}"
  local out="$RESULTS/$name.json"
  log "  $scenario / $contender${LOAD_SUFFIX:+ (run ${LOAD_SUFFIX#.r} of $REPEAT)}"
  if ! "$BENCH" load --scenario "$scenario" --contender "$contender" \
      --duration "$DURATION" --requests "$REQUESTS" --warmup-duration "$WARMUP" \
      --out "$out" "$@" 2>"$LOGS/$name.err"; then
    log "  $scenario / $contender${LOAD_SUFFIX} FAILED: $(tail -3 "$LOGS/$name.err")"
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

# pick_median SCENARIO CONTENDER — SCENARIO__CONTENDER.json := the median run by req/s among the
# REPEAT runs that produced a result (the lower middle one for an even count), with a "repeats"
# summary of every run added; no file if every run failed.
pick_median() {
  python3 - "$RESULTS" "$1__$2" "$REPEAT" <<'EOF' >&2 || { log "  median $1 / $2 FAILED"; FAILED=$((FAILED + 1)); }
import json, os, sys
results, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs, good = [], []
for k in range(1, n + 1):
    path = os.path.join(results, f"{name}.r{k}.json")
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        runs.append({"run": k, "failed": True})
        continue
    lat, ttft = d.get("latency_ms") or {}, d.get("ttft_ms") or {}
    runs.append({"run": k, "file": os.path.basename(path), "rps": d.get("rps"), "ok": d.get("ok"),
                 "errors": d.get("errors"), "p50": lat.get("p50"), "p99": lat.get("p99"),
                 "ttft_p50": ttft.get("p50"),
                 "rss_max_kb": {label: p.get("rss_max_kb") for label, p in (d.get("procs") or {}).items()}})
    good.append((d.get("rps") or 0.0, k, d))
if not good:
    print(f"    {name}: no run produced a result")
    sys.exit(0)
good.sort(key=lambda t: (t[0], t[1]))
rps, k, d = good[(len(good) - 1) // 2]
d["repeats"] = {"planned": n, "median_run": k, "runs": runs}
out = os.path.join(results, f"{name}.json")
with open(out + ".tmp", "w") as f:
    json.dump(d, f, indent=2)
    f.write("\n")
os.replace(out + ".tmp", out)
print(f"    {name}: median run r{k} of {len(good)}/{n}, rps " + ", ".join(f"{t[0]:.0f}" for t in good))
EOF
}

THROUGHPUT=(chat_c1 chat_c10 chat_c100 stream_c10 stream_c100 embed_c10)
# one_scenario SCENARIO CONTENDER "CHAT ARGS" "STREAM ARGS" "EMBED ARGS" PID-ARGS...
# (each ARGS string is eval'd into an array so header values may contain spaces)
# shellcheck disable=SC2154  # chat, stream and embed are assigned by the evals
one_scenario() {
  local s="$1" c="$2"; eval "local chat=($3)"; eval "local stream=($4)"; eval "local embed=($5)"; shift 5
  case "$s" in
    chat_c*) load "$s" "$c" -c "${s#chat_c}" "${chat[@]}" "$@" ;;
    stream_c*) load "$s" "$c" -c "${s#stream_c}" "${stream[@]}" "$@" ;;
    embed_c*) load "$s" "$c" -c "${s#embed_c}" "${embed[@]}" "$@" ;;
    *) log "unknown scenario $s"; return 1 ;;
  esac
}

# scenarios CONTENDER "CHAT ARGS" "STREAM ARGS" "EMBED ARGS" PID-ARGS... — every scenario once
scenarios() {
  local s
  for s in "${THROUGHPUT[@]}"; do one_scenario "$s" "$@"; done
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
  # gomodel on its own, as `make build` does (see docs/symbol-order.md).
  cargo build --release -p gomodel >&2
  cargo build --release -p bedrock-emulator -p gomodel-bench >&2
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
log "contender: direct (cold start, idle)"
status direct ok "load generator → emulator (SigV4 per request, event-stream decoded)"
cold_start direct "$COLD_RUNS" 20 "http://127.0.0.1:18099/_emulator/health" \
  --target converse --url http://127.0.0.1:18099 --model "$CHAT_MODEL" \
  -- env EMULATOR_FAST=true "$BIN/gomodel-bedrock-emulator" --port 18099
idle_sample direct "$UP_PID"
DIRECT_ARGS=("--target converse --url $UP --model '$CHAT_MODEL'"
  "--target converse-stream --url $UP --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT'"
  "--target invoke-embeddings --url $UP --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS"
  --pid "upstream=$UP_PID")

# --- zero-work relays: the same Bedrock requests as direct, through one more process ----------
RELAY_CS=()
declare -A RELAY_ARGS=()
if [[ $RELAYS == 1 ]]; then
  for mode in tcp http; do
    log "contender: relay-$mode (zero-work $mode relay)"
    if start_relay "$mode"; then
      RELAY_CS+=("relay-$mode")
      status "relay-$mode" ok "load generator → gomodel-bench relay --mode $mode → emulator, same requests as direct"
      idle_sample "relay-$mode" "$RELAY_PID"
      RELAY_ARGS[$mode]="$RELAY_URL $RELAY_PID"
    else
      status "relay-$mode" missing "did not start: $(tail -3 "$LOGS/relay-$mode.log" | tr '\n' ' ')"
      FAILED=$((FAILED + 1))
    fi
  done
fi
# relay_scenario SCENARIO MODE — one run of SCENARIO through that relay (DIRECT_ARGS, other URL).
relay_scenario() {
  local s="$1" mode="$2" url pid
  read -r url pid <<<"${RELAY_ARGS[$mode]}"
  one_scenario "$s" "relay-$mode" "${DIRECT_ARGS[0]//$UP/$url}" "${DIRECT_ARGS[1]//$UP/$url}" \
    "${DIRECT_ARGS[2]//$UP/$url}" --pid "gateway=$pid" --pid "upstream=$UP_PID"
}

# --- gomodel: cold start (its runs use the gateway's port), then one process for the scenarios --
log "contender: gomodel (cold start, idle)"
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
GM_OK=0
if wait_http "$GM/health" 20; then
  GM_OK=1
  status gomodel ok "release build of this tree"
  idle_sample gomodel "$GM_PID"
else
  status gomodel missing "did not become healthy: $(tail -3 "$LOGS/gomodel.log" | tr '\n' ' ')"
  FAILED=$((FAILED + 1))
fi
GM_ARGS=("--target openai-chat --url $GM --model '$CHAT_MODEL' $GM_AUTH"
  "--target openai-chat --stream --url $GM --model '$CHAT_MODEL' --prompt '$STREAM_PROMPT' $GM_AUTH"
  "--target openai-embeddings --url $GM --model '$EMBED_MODEL' --embed-inputs $EMBED_INPUTS $EMBED_EXTRA $GM_AUTH"
  --pid "gateway=$GM_PID" --pid "upstream=$UP_PID")

# --- direct, relays and gomodel, interleaved per scenario and repeated ---------------------------
# An idle gateway or relay costs nothing while another contender runs, so all share this phase:
# for each scenario direct r1, relay-tcp r1, relay-http r1, gomodel r1, direct r2, ... and then
# the median run of each.
log "direct${RELAY_CS[*]:+, ${RELAY_CS[*]}} and gomodel, interleaved, $REPEAT run(s) per scenario"
for s in "${THROUGHPUT[@]}"; do
  for ((r = 1; r <= REPEAT; r++)); do
    if ((REPEAT > 1)); then LOAD_SUFFIX=".r$r"; fi
    one_scenario "$s" direct "${DIRECT_ARGS[@]}"
    for c in "${RELAY_CS[@]}"; do relay_scenario "$s" "${c#relay-}"; done
    if [[ $GM_OK == 1 ]]; then one_scenario "$s" gomodel "${GM_ARGS[@]}"; fi
  done
  LOAD_SUFFIX=""
  if ((REPEAT > 1)); then
    pick_median "$s" direct
    for c in "${RELAY_CS[@]}"; do pick_median "$s" "$c"; done
    if [[ $GM_OK == 1 ]]; then pick_median "$s" gomodel; fi
  fi
done

for c in "${RELAY_CS[@]}"; do
  read -r _ pid <<<"${RELAY_ARGS[${c#relay-}]}"
  stop_bg "$pid"
done

if [[ $GM_OK == 1 ]]; then
  # The soak gets a fresh process, so its RSS series shows the soak's own memory, not what the
  # scenarios before it left in the allocator's caches.
  log "soak / gomodel (fresh process)"
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
  --peers "$PEERS" --smoke "$SMOKE" --repeat "$REPEAT"
if [[ $SMOKE == 0 ]]; then
  python3 "$ROOT/bench/report.py" doc "$RESULTS" --doc "$DOC" --svg "$RESULTS/latency.svg"
  log "wrote $DOC and $RESULTS/latency.svg (raw JSON beside it)"
fi
log "done ($FAILED failed steps)"
[[ $FAILED == 0 ]]
