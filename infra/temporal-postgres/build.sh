#!/usr/bin/env bash
# Builds temporal-server and temporal-sql-tool from the pinned wrapper module in this
# directory, once per version, into $BPOFLOW_TOOLS/temporal-server-<version>/
# (default ~/.cache/bpoflow/tools). Prints shell exports on stdout:
#   eval "$(bash infra/temporal-postgres/build.sh)"
# Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${BPOFLOW_TOOLS:-$HOME/.cache/bpoflow/tools}"
say() { printf '[temporal-postgres] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "error: the Go toolchain is not on PATH; install Go >= 1.25 and run again"
  exit 3
fi
version="$(awk '$1 == "go.temporal.io/server" { print $2 }' "$here/go.mod")"
[ -n "$version" ] || { say "error: no go.temporal.io/server requirement in $here/go.mod"; exit 3; }
out="$tools/temporal-server-$version"
logdir="$tools/logs"
mkdir -p "$logdir"

build_one() { # NAME PACKAGE
  local name=$1 pkg=$2 log="$logdir/$1-$version.log"
  if [ -x "$out/$name" ]; then
    say "$name $version: cached at $out/$name"
    return 0
  fi
  say "$name $version: building $pkg (log: $log) ..."
  local start=$SECONDS tmp="$out/.$name.tmp.$$"
  mkdir -p "$out"
  if ! (cd "$here" && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$tmp" "$pkg") >"$log" 2>&1; then
    rm -f "$tmp"
    say "error: building $name $version failed; read $log"
    tail -n 20 "$log" >&2 || true
    exit 4
  fi
  mv "$tmp" "$out/$name"
  say "$name $version: built in $((SECONDS - start))s -> $out/$name"
}

build_one temporal-server go.temporal.io/server/cmd/server
build_one temporal-sql-tool go.temporal.io/server/cmd/tools/sql

echo "export BPOFLOW_TEMPORAL_SERVER_BIN=$out/temporal-server"
echo "export BPOFLOW_TEMPORAL_SQL_TOOL_BIN=$out/temporal-sql-tool"
