#!/usr/bin/env bash
# Builds the local stack's binaries (Temporal CLI dev server, SeaweedFS) once per
# version into a cache outside the repo and prints their paths as shell exports:
#   eval "$(bash infra/tools.sh)"
# Progress goes to stderr so stdout stays eval-able.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"
tools="${BPOFLOW_TOOLS:-$HOME/.cache/bpoflow/tools}"
logdir="$tools/logs"
mkdir -p "$logdir"

say() { printf '[tools] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "error: the Go toolchain is not on PATH; install Go >= 1.26 (https://go.dev/doc/install) and run again"
  exit 3
fi

# build NAME VERSION BINARY -- COMMAND...: runs COMMAND (with $out set to the target dir) unless the binary is cached.
build() {
  local name=$1 version=$2 binary=$3; shift 4
  local out="$tools/$name-$version" log="$logdir/$name-$version.log"
  if [ -x "$out/$binary" ]; then
    say "$name $version: cached at $out/$binary"
    return 0
  fi
  say "$name $version: building (log: $log) ..."
  local start=$SECONDS tmp="$out.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! out="$tmp" "$@" >"$log" 2>&1; then
    rm -rf "$tmp"
    say "error: building $name $version failed; read $log"
    tail -n 20 "$log" >&2 || true
    exit 4
  fi
  rm -rf "$out"; mv "$tmp" "$out"
  say "$name $version: built in $((SECONDS - start))s -> $out/$binary"
}

build_temporal() { GOBIN="$out" go install "$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"; }
build_weed() {
  (cd "$here/seaweedfs" && go build -trimpath -ldflags "-s -w" -o "$out/weed" github.com/seaweedfs/seaweedfs/weed)
}

build temporal "$TEMPORAL_CLI_VERSION" temporal -- build_temporal
build weed "$SEAWEEDFS_VERSION" weed -- build_weed

echo "export BPOFLOW_TEMPORAL_BIN=$tools/temporal-$TEMPORAL_CLI_VERSION/temporal"
echo "export BPOFLOW_WEED_BIN=$tools/weed-$SEAWEEDFS_VERSION/weed"
