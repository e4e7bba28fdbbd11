#!/usr/bin/env bash
# Runs a pipeline end to end on the Postgres-backed Temporal started by setup.sh:
#  1. builds the project (npx tsc; skip with BPOFLOW_SKIP_BUILD=1);
#  2. starts an S3 for the artifacts with `bpoflow up` in its own state dir
#     ($state/s3-stack; the dev server `up` also starts there is not used: every bpoflow
#     process below gets TEMPORAL_ADDRESS of the Postgres-backed server);
#  3. starts `bpoflow worker` against the Postgres-backed server, runs
#     `bpoflow run PIPELINE --wait`, and checks with `temporal workflow list` that the run
#     is recorded there as Completed;
#  4. stops the worker and that S3 stack (keep the S3 with BPOFLOW_TPG_KEEP_S3=1).
#   bash infra/temporal-postgres/run-pipeline.sh [PIPELINE]   (default pipelines/examples/quickstart.yaml)
# The last line of stdout is `RESULT run=<id> status=<status>`. Settings (env): see lib.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"
pipeline="${1:-pipelines/examples/quickstart.yaml}"
bpoflow=(node "$repo_root/bin/bpoflow.js")
[ -x "$temporal_cli" ] || die "Temporal CLI not found at $temporal_cli; run \`bash infra/tools.sh\`"
temporal_healthy || die "no Temporal server SERVING on $address; run \`bash infra/temporal-postgres/setup.sh\` first"

if [ "${BPOFLOW_SKIP_BUILD:-0}" != 1 ]; then
  say "building the project (npx tsc -p tsconfig.json)"
  npx tsc -p tsconfig.json
fi

s3_home="$state/s3-stack"
run_dir="$state/runs/$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$s3_home" "$run_dir"
worker_pid=""
started_s3=0
cleanup() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    say "stopping the worker (pid $worker_pid)"
    kill -TERM "$worker_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$worker_pid" 2>/dev/null || true
  fi
  if [ "$started_s3" = 1 ] && [ "${BPOFLOW_TPG_KEEP_S3:-0}" != 1 ]; then
    say "stopping the S3 stack in $s3_home"
    BPOFLOW_HOME="$s3_home" "${bpoflow[@]}" down >&2 || true
  fi
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
say "starting S3 (bpoflow up in $s3_home)"
BPOFLOW_HOME="$s3_home" "${bpoflow[@]}" up --temporal-port "$(free_port)" --ui-port "$(free_port)" --s3-port "$(free_port)" >"$run_dir/up.log" 2>&1 ||
  { cat "$run_dir/up.log" >&2; die "could not start S3 with bpoflow up"; }
started_s3=1
s3_json="$s3_home/s3.json"
s3() { node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(c[process.argv[2]])' "$s3_json" "$1"; }

export BPOFLOW_HOME="$s3_home"
export TEMPORAL_ADDRESS="$address" TEMPORAL_NAMESPACE="$namespace"
export BPOFLOW_UI_URL=""   # this server has no Web UI; don't link to the unused dev server's
BPOFLOW_S3_ENDPOINT="$(s3 endpoint)"; BPOFLOW_S3_ACCESS_KEY="$(s3 accessKey)"; BPOFLOW_S3_SECRET_KEY="$(s3 secretKey)"
BPOFLOW_S3_BUCKET="$(s3 bucket)"; BPOFLOW_S3_REGION="$(s3 region)"
export BPOFLOW_S3_ENDPOINT BPOFLOW_S3_ACCESS_KEY BPOFLOW_S3_SECRET_KEY BPOFLOW_S3_BUCKET BPOFLOW_S3_REGION
say "Temporal $TEMPORAL_ADDRESS/$TEMPORAL_NAMESPACE (PostgreSQL), S3 $BPOFLOW_S3_ENDPOINT (bucket $BPOFLOW_S3_BUCKET)"

worker_log="$run_dir/worker.log"
say "starting bpoflow worker (log: $worker_log)"
BPOFLOW_LOG_FORMAT=json "${bpoflow[@]}" worker >"$worker_log" 2>&1 </dev/null &
worker_pid=$!
deadline=$((SECONDS + 90))
until grep -q '"worker ready"' "$worker_log"; do
  kill -0 "$worker_pid" 2>/dev/null || { cat "$worker_log" >&2; die "the worker exited during start-up"; }
  [ $SECONDS -lt $deadline ] || { tail -n 30 "$worker_log" >&2; die "the worker was not ready within 90s"; }
  sleep 0.5
done

say "running: bpoflow run $pipeline --wait"
set +e
"${bpoflow[@]}" run "$pipeline" --wait 2>&1 | tee "$run_dir/run.log"
run_code=${PIPESTATUS[0]}
set -e
run_id="$(awk '$1 == "run" { print $2; exit }' "$run_dir/run.log")"
[ -n "$run_id" ] || die "bpoflow run printed no run id (exit $run_code); worker log: $worker_log"

# Visibility (temporal_visibility on PostgreSQL) is written asynchronously: poll briefly.
status=""
for _ in $(seq 1 30); do
  status="$("$temporal_cli" workflow describe --address "$address" -n "$namespace" -w "$run_id" -o json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).workflowExecutionInfo.status)}catch{console.log("")}})')"
  listed="$("$temporal_cli" workflow list --address "$address" -n "$namespace" --query "WorkflowId = '$run_id'" 2>&1 || true)"
  if grep -q "$run_id" <<<"$listed" && ! grep -q Running <<<"$listed"; then break; fi
  sleep 1
done
say "temporal workflow list --address $address (PostgreSQL visibility):"
"$temporal_cli" workflow list --address "$address" -n "$namespace" --limit 10 | tee "$run_dir/workflow-list.txt"
status="${status#WORKFLOW_EXECUTION_STATUS_}"
echo "RESULT run=$run_id status=${status:-unknown} bpoflow_exit=$run_code"
[ "$run_code" = 0 ] && [ "$status" = COMPLETED ] && grep -q "$run_id" "$run_dir/workflow-list.txt" ||
  die "the pipeline run did not complete on $address (bpoflow exit $run_code, status ${status:-unknown}); logs in $run_dir"
say "pipeline $run_id completed on the Postgres-backed Temporal (logs: $run_dir)"
