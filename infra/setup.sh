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

# Native TensorFlow for the ml code (infra/native-tf.sh): built once into the tools
# cache and linked into node_modules (npm ci wipes it; this links it again in a
# moment). BPOFLOW_NATIVE=0 skips it (wasm), =gpu builds the CUDA variant. Where
# it can't be built, one line says why and the ml backend stays wasm.
native_tf() {
  local mode=${BPOFLOW_NATIVE:-1} p
  if [ "$mode" = 0 ]; then
    for p in tfjs-node tfjs-node-gpu; do
      if [ -f "node_modules/@tensorflow/$p/.bpoflow-native-tf" ]; then rm -rf "node_modules/@tensorflow/$p"; fi
    done
    say "native TensorFlow: skipped (BPOFLOW_NATIVE=0); the ml backend is wasm"
    return 0
  fi
  local args=(--link --brief)
  [ "$mode" = gpu ] && args+=(--gpu)
  # On failure its one stderr line says why; setup carries on.
  bash infra/native-tf.sh "${args[@]}" >/dev/null || true
}

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
native_tf

# The report's browser test drives Debian's chromium (installed when missing and root).
bash infra/ensure-chromium.sh >&2

say "compiling (tsc) ..."
t=$SECONDS
npm run --silent build >&2
say "build took $((SECONDS - t))s; setup took $((SECONDS - start))s"
echo "$exports"
