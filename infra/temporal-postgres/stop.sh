#!/usr/bin/env bash
# Stops the Postgres-backed Temporal started by setup.sh: the server (SIGTERM, then SIGKILL
# after 30s), then PostgreSQL (pg_ctl stop -m fast). Data stays in the state dir; setup.sh
# starts it again. Settings (env): see lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if pid="$(server_pid)"; then
  say "stopping temporal-server (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "temporal-server still running after 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
else
  say "temporal-server is not running"
fi
rm -f "$server_pidfile"

pg_bin="$(find_pg_bin || true)"
if [ -n "$pg_bin" ] && [ -f "$pg_data/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
  say "stopping PostgreSQL ($pg_data)"
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 60 stop >/dev/null
else
  say "PostgreSQL is not running"
fi
say "stopped; data kept in $state"
