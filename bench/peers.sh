#!/usr/bin/env bash
# Installs the peer gateways for the benchmark into a gitignored folder (default bench/.peers/):
# a Python venv with litellm[proxy] and an npm prefix with @portkey-ai/gateway. Idempotent; each
# install is independent, logs to <dir>/<peer>-install.log, and a failure is reported (the harness
# then lists that contender as missing) rather than aborting the run.
#
#   bench/peers.sh install [DIR]
set -uo pipefail

LITELLM_SPEC='litellm[proxy]==1.108.7'   # newest that installs from the registry here
PORTKEY_SPEC='@portkey-ai/gateway@1.15.2'

cmd="${1:-install}"
DIR="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.peers}"
[[ "$cmd" == install ]] || { echo "usage: $0 install [DIR]" >&2; exit 2; }
mkdir -p "$DIR"
rc=0

if [[ -x "$DIR/litellm-venv/bin/litellm" ]]; then
  echo "litellm: already installed"
else
  echo "litellm: installing $LITELLM_SPEC (a few minutes)"
  if { python3 -m venv "$DIR/litellm-venv" &&
       timeout 1800 "$DIR/litellm-venv/bin/pip" install -q "$LITELLM_SPEC"; } >"$DIR/litellm-install.log" 2>&1; then
    echo "litellm: ok"
  else
    echo "litellm: FAILED (see $DIR/litellm-install.log)"; rc=1
  fi
fi

PK_JS="$DIR/portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
if [[ -f "$PK_JS" ]]; then
  echo "portkey: already installed"
elif ! command -v npm >/dev/null; then
  echo "portkey: FAILED (npm not found; Node 20 is needed)" | tee "$DIR/portkey-install.log"; rc=1
else
  echo "portkey: installing $PORTKEY_SPEC"
  mkdir -p "$DIR/portkey"
  if timeout 900 npm install --prefix "$DIR/portkey" --no-audit --no-fund "$PORTKEY_SPEC" >"$DIR/portkey-install.log" 2>&1 &&
     [[ -f "$PK_JS" ]]; then
    echo "portkey: ok"
  else
    echo "portkey: FAILED (see $DIR/portkey-install.log)"; rc=1
  fi
fi
exit $rc
