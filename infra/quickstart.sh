#!/usr/bin/env bash
# From a fresh clone: set up, start the local stack, start a worker, and run the
# whole BPO flow (pipelines/examples/bpo.yaml) on the bundled HH-format data; ends
# with the result table and the run's HTML report. The stack stays up afterwards
# (`bpoflow down` stops it).
#   bash infra/quickstart.sh [--temporal-port N] [--ui-port N] [--s3-port N] [--set param=value]...
# or the ports through BPOFLOW_TEMPORAL_PORT, BPOFLOW_UI_PORT, BPOFLOW_S3_PORT (flags win).
# Without them `bpoflow up` uses the ports this stack had before, else 7233, 8233, 8333.
# --set overrides a param of bpo.yaml (e.g. --set seed=1, --set sftSteps=800).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

temporal_port="${BPOFLOW_TEMPORAL_PORT:-}" ui_port="${BPOFLOW_UI_PORT:-}" s3_port="${BPOFLOW_S3_PORT:-}"
run_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --temporal-port) temporal_port="${2:?--temporal-port needs a port}"; shift 2 ;;
    --ui-port) ui_port="${2:?--ui-port needs a port}"; shift 2 ;;
    --s3-port) s3_port="${2:?--s3-port needs a port}"; shift 2 ;;
    --set) run_args+=(--set "${2:?--set needs param=value}"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (expected --temporal-port, --ui-port, --s3-port, --set)" >&2; exit 2 ;;
  esac
done
up_args=()
[ -n "$temporal_port" ] && up_args+=(--temporal-port "$temporal_port")
[ -n "$ui_port" ] && up_args+=(--ui-port "$ui_port")
[ -n "$s3_port" ] && up_args+=(--s3-port "$s3_port")

eval "$(bash infra/setup.sh)"
export BPOFLOW_HOME="${BPOFLOW_HOME:-$root/.bpoflow}"
bpoflow() { node "$root/bin/bpoflow.js" "$@"; }

bpoflow up ${up_args[@]+"${up_args[@]}"}
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
bpoflow run pipelines/examples/bpo.yaml --wait ${run_args[@]+"${run_args[@]}"} | tee "$run_log"
run_id="$(sed -n 's/^run \([^ ]*\)$/\1/p' "$run_log" | head -1)"
[ -n "$run_id" ] || { echo "no run id in $run_log" >&2; exit 1; }
echo
bpoflow status "$run_id" --json | node "$root/infra/bpo-table.mjs"
report_dir="$BPOFLOW_HOME/reports/$run_id"
bpoflow report "$run_id" --out "$report_dir" >/dev/null
echo
echo "report: $report_dir/index.html   (bpoflow report $run_id --out DIR)"
echo "The stack is still running: bpoflow status | bpoflow artifacts ls runs/ | bpoflow down"
