# Shared settings of the Postgres-backed Temporal scripts (sourced, not run).
# Every setting is an environment variable with a default:
#   BPOFLOW_HOME               state root (default ./.bpoflow, like `bpoflow up`)
#   BPOFLOW_TPG_HOME           this stack's state dir (default $BPOFLOW_HOME/temporal-postgres)
#   BPOFLOW_TPG_PG_PORT        PostgreSQL port on 127.0.0.1 (default 5433)
#   BPOFLOW_TPG_PORT           Temporal frontend gRPC port on 127.0.0.1 (default 7433); the other
#                              services use the ports after it (see config_ports below)
#   BPOFLOW_PG_BIN             directory with initdb/pg_ctl/psql (default: newest /usr/lib/postgresql/*/bin)
#   BPOFLOW_TOOLS              tool cache (default ~/.cache/bpoflow/tools)
#   BPOFLOW_TEMPORAL_BIN       Temporal CLI (default $BPOFLOW_TOOLS/temporal-<TEMPORAL_CLI_VERSION>/temporal)
tpg_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$tpg_dir/../.." && pwd)"
# shellcheck source=/dev/null
source "$repo_root/infra/versions.env"

say() { printf '[temporal-postgres] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

bpoflow_home="$(mkdir -p "${BPOFLOW_HOME:-.bpoflow}" && cd "${BPOFLOW_HOME:-.bpoflow}" && pwd)"
state="${BPOFLOW_TPG_HOME:-$bpoflow_home/temporal-postgres}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"
pg_port="${BPOFLOW_TPG_PG_PORT:-5433}"
frontend_port="${BPOFLOW_TPG_PORT:-7433}"
host=127.0.0.1
address="$host:$frontend_port"
namespace=default
tools="${BPOFLOW_TOOLS:-$HOME/.cache/bpoflow/tools}"
temporal_cli="${BPOFLOW_TEMPORAL_BIN:-$tools/temporal-$TEMPORAL_CLI_VERSION/temporal}"

# PostgreSQL layout: everything the server writes lives in $pg_root, owned by the OS user
# that runs it (postgres when we are root: initdb refuses to run as root).
pg_root="$state/pg"
pg_data="$pg_root/data"
pg_sock="$pg_root/run"
pg_log="$pg_root/postgres.log"
server_pidfile="$state/temporal-server.pid"
server_log="$state/logs/temporal-server.log"
secrets="$state/secrets.env"

if [ "$(id -u)" = 0 ]; then pg_os_user=postgres; else pg_os_user="$(id -un)"; fi

# Runs a command as the OS user owning the cluster.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$pg_os_user" -- "$@"; else "$@"; fi
}

find_pg_bin() {
  if [ -n "${BPOFLOW_PG_BIN:-}" ]; then printf '%s\n' "$BPOFLOW_PG_BIN"; return; fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && printf '%s\n' "$d"
}

# Superuser psql over the private Unix socket (trust auth; the socket dir is mode 700).
#   pg_psql [-d DB] -c SQL
pg_psql() {
  local db=postgres
  if [ "${1:-}" = -d ]; then db=$2; shift 2; fi
  as_pg "$pg_bin/psql" -h "$pg_sock" -p "$pg_port" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qtAX "$@"
}

server_pid() {
  local pid
  [ -f "$server_pidfile" ] || return 1
  pid="$(cat "$server_pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

temporal_healthy() {
  "$temporal_cli" operator cluster health --address "$address" 2>/dev/null | grep -q SERVING
}
