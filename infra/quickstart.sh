#!/usr/bin/env bash
# From a fresh clone: set up, start the local stack, start a worker, and run the
# whole BPO flow (pipelines/examples/bpo.yaml) on the bundled HH-format data; ends
# with the result table and the run's HTML report. The stack stays up afterwards
# (`bpoflow down` stops it). Extra arguments go to `bpoflow run` (e.g. --set seed=1).
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

run_log="$BPOFLOW_HOME/logs/quickstart-run.log"
bpoflow run pipelines/examples/bpo.yaml --wait "$@" | tee "$run_log"
run_id="$(sed -n 's/^run \([^ ]*\)$/\1/p' "$run_log" | head -1)"
[ -n "$run_id" ] || { echo "no run id in $run_log" >&2; exit 1; }
echo
bpoflow status "$run_id" --json | node "$root/infra/bpo-table.mjs"
report_dir="$BPOFLOW_HOME/reports/$run_id"
bpoflow report "$run_id" --out "$report_dir" >/dev/null
echo
echo "report: $report_dir/index.html   (bpoflow report $run_id --out DIR)"
echo "The stack is still running: bpoflow status | bpoflow artifacts ls runs/ | bpoflow down"
