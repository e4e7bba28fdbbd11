#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, then test/run.ts starts a
# private stack on free ports, runs unit and integration tests, and stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
eval "$(bash infra/setup.sh)"
exec node dist/test/run.js "$@"
