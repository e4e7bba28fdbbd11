#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, then test/run.ts starts a
# private stack on free ports, runs unit and integration tests, and stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(bash infra/setup.sh)"
# kubeconform and the Kubernetes schemas, built once and cached, so the deployment test validates instead of skipping.
bash infra/tools/kubeconform.sh --prepare >/dev/null
exec node dist/test/run.js "$@"
