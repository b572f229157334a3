#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the storage tests (issue 8): Debian's `postgresql` package
# (installed if absent), a fresh cluster in a temp dir on a free 127.0.0.1 port, owned by a
# non-root user (initdb and postgres refuse to run as root), trust auth on loopback only.
#
# Sourced by .ci/run; usable by hand too:
#   source .ci/postgres.sh && start_postgres && load_postgres_env   # exports TEST_DATABASE_URL
#   stop_postgres
#
# `start_postgres` may run in a subshell (.ci/run's `step`): it writes the variables to
# $PG_ENV_FILE and `load_postgres_env` exports them in the calling shell.

PG_ENV_FILE="${PG_ENV_FILE:-${TMPDIR:-/tmp}/gomodel-ci-postgres.env}"

pg_bin_dir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$dir" && -x "$dir/initdb" ]] && echo "$dir"
}

pg_as_owner() { # runs a command as the cluster owner (the `postgres` user when we are root)
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local bin
    bin="$(pg_bin_dir || true)"
    if [[ -z "$bin" ]]; then
        echo "PostgreSQL is not installed: installing Debian's postgresql package"
        local sudo=()
        [[ $(id -u) == 0 ]] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
        bin="$(pg_bin_dir)" || { echo "postgresql installed but no initdb found" >&2; return 1; }
    fi
    # The package may start its own default cluster; ours is separate and does not need it.
    local data port
    data="$(mktemp -d "${TMPDIR:-/tmp}/gomodel-pg.XXXXXX")"
    if [[ $(id -u) == 0 ]]; then chown postgres: "$data"; fi
    chmod 700 "$data"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    pg_as_owner "$bin/initdb" -D "$data/db" -U gomodel --auth=trust -E UTF8 --no-sync >"$data/initdb.log" ||
        { cat "$data/initdb.log" >&2; return 1; }
    # fsync off: a test database need not survive a power cut, and it is much faster.
    pg_as_owner "$bin/pg_ctl" -D "$data/db" -l "$data/postgres.log" -w -t 60 \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start ||
        { cat "$data/postgres.log" >&2; return 1; }
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U gomodel gomodel_test
    cat >"$PG_ENV_FILE" <<ENV
export TEST_DATABASE_URL="postgres://gomodel@127.0.0.1:$port/gomodel_test"
export GOMODEL_TEST_PGDATA="$data/db"
export GOMODEL_TEST_PG_BIN="$bin"
ENV
    echo "$("$bin/postgres" --version) listening on 127.0.0.1:$port (data in $data)"
}

load_postgres_env() {
    # shellcheck disable=SC1090
    [[ -f "$PG_ENV_FILE" ]] && source "$PG_ENV_FILE"
    echo "TEST_DATABASE_URL=${TEST_DATABASE_URL:-<unset>}"
}

stop_postgres() {
    [[ -f "$PG_ENV_FILE" ]] && source "$PG_ENV_FILE"
    if [[ -n "${GOMODEL_TEST_PGDATA:-}" && -d "$GOMODEL_TEST_PGDATA" ]]; then
        pg_as_owner "$GOMODEL_TEST_PG_BIN/pg_ctl" -D "$GOMODEL_TEST_PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$(dirname "$GOMODEL_TEST_PGDATA")"
    fi
    rm -f "$PG_ENV_FILE"
}
