#!/usr/bin/env bash
# From a fresh clone: set up, start the local stack, start a worker, and run the
# quickstart pipeline end to end. The stack stays up afterwards (`bpoflow down` stops it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(bash infra/setup.sh)"
export BPOFLOW_HOME="${BPOFLOW_HOME:-$root/.bpoflow}"
bpoflow() { node "$root/bin/bpoflow.js" "$@"; }

bpoflow up
mkdir -p "$BPOFLOW_HOME/logs"
worker_log="$BPOFLOW_HOME/logs/worker.log"
node "$root/bin/bpoflow.js" worker --queues cpu,gpu >"$worker_log" 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  grep -q '"worker ready"\|worker ready' "$worker_log" 2>/dev/null && break
  kill -0 $worker 2>/dev/null || { echo "the worker exited; read $worker_log" >&2; exit 1; }
  sleep 0.5
done

bpoflow run pipelines/examples/quickstart.yaml --wait
echo
echo "The stack is still running: bpoflow status | bpoflow artifacts ls runs/ | bpoflow down"
