#!/usr/bin/env bash
# Sets up a clone: npm dependencies, the local stack's Go-built tools (cached
# outside the repo), and the compiled CLI. Safe to run again; fast when warm.
# Prints the tool paths as shell exports on stdout: eval "$(bash infra/setup.sh)".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*" >&2; }
start=$SECONDS

command -v node >/dev/null || { say "error: Node.js >= 20 is required (node not found)"; exit 3; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { say "error: Node.js >= 20 is required (found $(node --version))"; exit 3; }

stamp=node_modules/.bpoflow-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies (npm ci) ..."
  t=$SECONDS
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
  say "npm ci took $((SECONDS - t))s"
fi

exports=$(bash infra/tools.sh)
# The report's browser test drives Debian's chromium (installed when missing and root).
bash infra/ensure-chromium.sh >&2

say "compiling (tsc) ..."
t=$SECONDS
npm run --silent build >&2
say "build took $((SECONDS - t))s; setup took $((SECONDS - start))s"
echo "$exports"
