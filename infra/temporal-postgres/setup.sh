#!/usr/bin/env bash
# A production-like Temporal: the real server (go.temporal.io/server, pinned in ./go.mod)
# on PostgreSQL, with the schema applied by temporal-sql-tool from the schemas embedded
# in the module. Idempotent: each step is skipped when already done.
#   bash infra/temporal-postgres/setup.sh      # then: run-pipeline.sh, stop.sh
# Settings (env): see lib.sh. Writes $state/temporal.env with TEMPORAL_ADDRESS etc.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
started=$SECONDS
mkdir -p "$state/logs" "$state/config"

# --- 1. binaries -------------------------------------------------------------------------
eval "$(bash "$tpg_dir/build.sh")"
server_bin="$BPOFLOW_TEMPORAL_SERVER_BIN"
sql_tool="$BPOFLOW_TEMPORAL_SQL_TOOL_BIN"
[ -x "$temporal_cli" ] || die "Temporal CLI not found at $temporal_cli; run \`bash infra/tools.sh\` (or set BPOFLOW_TEMPORAL_BIN)"

pg_bin="$(find_pg_bin || true)"
if [ -z "$pg_bin" ]; then
  say "no PostgreSQL server binaries under /usr/lib/postgresql; installing Debian's postgresql package ..."
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and we are not root (no sudo): run \`apt-get install -y postgresql\` as root, or set BPOFLOW_PG_BIN"
    sudo_cmd=(sudo)
  fi
  if ! { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq postgresql; } >"$state/logs/apt.log" 2>&1; then
    tail -n 20 "$state/logs/apt.log" >&2 || true
    die "installing PostgreSQL with apt-get failed (log: $state/logs/apt.log); install it yourself (Debian: apt-get install -y postgresql) or set BPOFLOW_PG_BIN to a directory with initdb and pg_ctl"
  fi
  pg_bin="$(find_pg_bin || true)"
  [ -n "$pg_bin" ] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/pg_ctl was found; set BPOFLOW_PG_BIN"
fi
id "$pg_os_user" >/dev/null 2>&1 || die "running as root, PostgreSQL must run as the '$pg_os_user' OS user, which does not exist (Debian's postgresql package creates it)"
say "PostgreSQL: $("$pg_bin/postgres" --version) ($pg_bin), cluster owner $pg_os_user"

# --- 2. the PostgreSQL cluster -------------------------------------------------------------
if [ ! -f "$secrets" ]; then
  umask 077
  printf 'TEMPORAL_DB_PASSWORD=%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$secrets"
  umask 022
fi
# shellcheck source=/dev/null
source "$secrets"

if [ ! -f "$pg_data/PG_VERSION" ]; then
  say "initialising a PostgreSQL cluster in $pg_data"
  mkdir -p "$pg_root"
  [ "$(id -u)" = 0 ] && chown "$pg_os_user": "$pg_root"
  chmod 700 "$pg_root"
  as_pg test -w "$pg_root" || die "$pg_os_user cannot write $pg_root (is a parent directory closed to it?); set BPOFLOW_TPG_HOME to a directory it can reach"
  as_pg mkdir -p "$pg_sock"
  # Local (socket) connections: trust, but the socket dir is private to the cluster owner;
  # TCP connections (the Temporal server, the sql tool): password (scram-sha-256).
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    >"$state/logs/initdb.log" 2>&1 || { tail -n 20 "$state/logs/initdb.log" >&2; die "initdb failed; read $state/logs/initdb.log"; }
fi

if as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
  say "PostgreSQL already running on $host:$pg_port"
else
  (exec 3<>"/dev/tcp/$host/$pg_port") 2>/dev/null && die "port $host:$pg_port is already in use by another program; set BPOFLOW_TPG_PG_PORT"
  say "starting PostgreSQL on $host:$pg_port (log: $pg_log)"
  as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=$host -k $pg_sock" start >/dev/null ||
    { tail -n 20 "$pg_log" >&2; die "PostgreSQL did not start; read $pg_log"; }
fi

if [ "$(pg_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'temporal'")" != 1 ]; then
  pg_psql -c "CREATE ROLE temporal LOGIN PASSWORD '$TEMPORAL_DB_PASSWORD'"
fi
for db in temporal temporal_visibility; do
  if [ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    say "creating database $db"
    pg_psql -c "CREATE DATABASE $db OWNER temporal"
  fi
done

# --- 3. schemas (embedded in the server module: postgresql/v12/{temporal,visibility}) -------
sql() { # DB ARGS...: temporal-sql-tool against DB as the temporal role
  local db=$1; shift
  SQL_PASSWORD="$TEMPORAL_DB_PASSWORD" "$sql_tool" --plugin postgres12 --ep "$host" -p "$pg_port" -u temporal --db "$db" "$@"
}
for pair in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db="${pair%%:*}" schema="${pair#*:}"
  has_versioning="$(pg_psql -d "$db" -c "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version'")"
  if [ "$has_versioning" != 1 ]; then
    sql "$db" setup-schema -v 0.0 >>"$state/logs/schema.log" 2>&1 || { tail -n 20 "$state/logs/schema.log" >&2; die "setup-schema on $db failed"; }
  fi
  sql "$db" update-schema --schema-name "$schema" >>"$state/logs/schema.log" 2>&1 || { tail -n 20 "$state/logs/schema.log" >&2; die "update-schema on $db failed"; }
  say "schema $schema on $db: version $(pg_psql -d "$db" -c "SELECT curr_version FROM schema_version")"
done

# --- 4. server config ----------------------------------------------------------------------
# Ports: frontend gRPC F, history F+1, matching F+2, worker F+3, frontend HTTP F+10,
# membership (ringpop) F+100..F+103.
f=$frontend_port
# cluster_membership.rpc_port is a SMALLINT in the SQL schema: membership ports must be <= 32767.
[ $((f + 103)) -le 32767 ] || die "BPOFLOW_TPG_PORT=$f is too high: the membership ports (base+100..+103) must be <= 32767 (a SMALLINT column in the schema)"
umask 077
cat >"$state/config/bpoflow.yaml" <<EOF
# Written by infra/temporal-postgres/setup.sh; rewritten on each run.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "$host:$pg_port"
        connectProtocol: tcp
        user: temporal
        password: "$TEMPORAL_DB_PASSWORD"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        connectAddr: "$host:$pg_port"
        connectProtocol: tcp
        user: temporal
        password: "$TEMPORAL_DB_PASSWORD"
        maxConns: 5
        maxIdleConns: 5
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "$host"
services:
  frontend:
    rpc: { grpcPort: $f, membershipPort: $((f + 100)), bindOnIP: "$host", httpPort: $((f + 10)) }
  history:
    rpc: { grpcPort: $((f + 1)), membershipPort: $((f + 101)), bindOnIP: "$host" }
  matching:
    rpc: { grpcPort: $((f + 2)), membershipPort: $((f + 102)), bindOnIP: "$host" }
  worker:
    rpc: { grpcPort: $((f + 3)), membershipPort: $((f + 103)), bindOnIP: "$host" }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$address"
      httpAddress: "$host:$((f + 10))"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$state/config/dynamicconfig.yaml"
  pollInterval: 10s
EOF
cat >"$state/config/dynamicconfig.yaml" <<'EOF'
# Dynamic config of the Postgres-backed Temporal (server defaults otherwise).
limit.maxIDLength:
  - value: 255
EOF
umask 022

# --- 5. the Temporal server ----------------------------------------------------------------
if pid="$(server_pid)"; then
  say "temporal-server already running (pid $pid)"
else
  for p in "$f" $((f + 1)) $((f + 2)) $((f + 3)) $((f + 10)) $((f + 100)) $((f + 101)) $((f + 102)) $((f + 103)); do
    (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null && die "port $host:$p is already in use by another program; set BPOFLOW_TPG_PORT to another base"
  done
  say "starting temporal-server on $address (log: $server_log)"
  # --root/--config/--env: the server loads <root>/<config>/<env>.yaml (this version has no --config-file).
  setsid "$server_bin" --root "$state" --config config --env bpoflow --allow-no-auth start \
    >>"$server_log" 2>&1 </dev/null &
  echo $! >"$server_pidfile"
fi
deadline=$((SECONDS + 120))
until temporal_healthy; do
  server_pid >/dev/null || { tail -n 30 "$server_log" >&2; die "temporal-server exited during start-up; read $server_log"; }
  [ $SECONDS -lt $deadline ] || die "temporal-server did not report SERVING within 120s; read $server_log"
  sleep 1
done
say "temporal-server SERVING on $address"

# --- 6. namespace and search attributes (the server config cannot create them) -------------
tcli() { "$temporal_cli" "$@" --address "$address"; }
retry() { # SECONDS WHAT CMD...: retries CMD until it succeeds
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit)) out
  until out="$("$@" 2>&1)"; do
    [ $SECONDS -lt $end ] || { printf '%s\n' "$out" >&2; die "$what did not succeed within ${limit}s"; }
    sleep 1
  done
}
if ! tcli operator namespace describe -n "$namespace" >/dev/null 2>&1; then
  say "registering namespace $namespace"
  tcli operator namespace create -n "$namespace" --retention 72h >/dev/null
fi
retry 60 "namespace $namespace becoming visible" tcli operator namespace describe -n "$namespace"
existing="$(tcli operator search-attribute list -n "$namespace" 2>/dev/null || true)"
for attr in BpoflowPipeline BpoflowSpecHash; do
  if ! grep -qw "$attr" <<<"$existing"; then
    say "registering search attribute $attr (Keyword)"
    retry 60 "creating search attribute $attr" tcli operator search-attribute create -n "$namespace" --name "$attr" --type Keyword
  fi
done
# The frontend resolves search attributes through its namespace cache (refreshed every ~10s):
# wait until a query using them is accepted, so the first pipeline start does not race it.
retry 60 "search attributes becoming queryable" \
  tcli workflow list -n "$namespace" --limit 1 --query "BpoflowPipeline = 'setup-probe' AND BpoflowSpecHash = 'x'"

cat >"$state/temporal.env" <<EOF
# Written by infra/temporal-postgres/setup.sh: source it to talk to the Postgres-backed Temporal.
export TEMPORAL_ADDRESS=$address
export TEMPORAL_NAMESPACE=$namespace
EOF
say "ready in $((SECONDS - started))s: Temporal $("$server_bin" --version 2>/dev/null | awk '{print $NF}') on PostgreSQL $host:$pg_port, frontend $address, namespace $namespace"
say "env: source $state/temporal.env; stop with: bash infra/temporal-postgres/stop.sh"
