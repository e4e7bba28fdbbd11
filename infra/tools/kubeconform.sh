#!/usr/bin/env bash
# Validates the Kubernetes manifests in infra/k8s with kubeconform against the
# Kubernetes API's own schemas, offline:
#   1. builds kubeconform from the pinned wrapper module (infra/tools/go.mod) once,
#      into ~/.cache/bpoflow/tools/kubeconform-<ver>/;
#   2. takes api/openapi-spec/swagger.json from the k8s.io/kubernetes Go module
#      (through the Go module proxy; kubeconform's usual schema source is GitHub)
#      and converts it to strict per-kind JSON schemas (k8s-schemas.mjs), once,
#      into ~/.cache/bpoflow/tools/k8s-schemas-<k8s ver>/;
#   3. runs kubeconform -strict on each deployable set (base, and base with each
#      temporal-cloud ConfigMap instead of bpoflow/config.yaml).
# test/unit/deploy/ runs the same check when the cache is there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
KUBECONFORM_VERSION=v0.8.0
K8S_VERSION=v1.35.4
tools="${BPOFLOW_TOOLS:-$HOME/.cache/bpoflow/tools}"
kc="$tools/kubeconform-$KUBECONFORM_VERSION/kubeconform"
schemas="$tools/k8s-schemas-$K8S_VERSION"
say() { printf '[kubeconform] %s\n' "$*" >&2; }

if [ ! -x "$kc" ]; then
  say "building kubeconform $KUBECONFORM_VERSION"
  mkdir -p "$(dirname "$kc")"
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$kc.tmp" github.com/yannh/kubeconform/cmd/kubeconform)
  mv "$kc.tmp" "$kc"
fi
if [ ! -f "$schemas/deployment-apps-v1.json" ]; then
  say "generating Kubernetes $K8S_VERSION schemas"
  zip=$(cd "$here" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Zip))')
  tmp=$(mktemp -d)
  unzip -q -o "$zip" "k8s.io/kubernetes@$K8S_VERSION/api/openapi-spec/swagger.json" -d "$tmp"
  node "$here/k8s-schemas.mjs" "$tmp/k8s.io/kubernetes@$K8S_VERSION/api/openapi-spec/swagger.json" "$schemas.tmp"
  rm -rf "$schemas" "$tmp"; mv "$schemas.tmp" "$schemas"
fi
if [ "${1:-}" = "--prepare" ]; then echo "$kc"; echo "$schemas"; exit 0; fi

k8s="$root/infra/k8s"
base=("$k8s"/bpoflow/*.yaml)
without_config=(); for f in "${base[@]}"; do [ "$(basename "$f")" = config.yaml ] || without_config+=("$f"); done
status=0
for set in base cloud-mtls cloud-api-key; do
  case $set in
    base) files=("${base[@]}") ;;
    cloud-mtls) files=("${without_config[@]}" "$k8s/temporal-cloud/config-mtls.yaml") ;;
    cloud-api-key) files=("${without_config[@]}" "$k8s/temporal-cloud/config-api-key.yaml") ;;
  esac
  say "$set:"
  "$kc" -strict -summary -kubernetes-version "${K8S_VERSION#v}" \
    -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" "${files[@]}" || status=1
done
exit $status
