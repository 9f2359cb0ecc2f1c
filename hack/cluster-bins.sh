#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok) from their Go modules into a cache
# directory outside the checkout, keyed by version, and reuses it.
# Prints the directory holding the binaries on its last line.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
STAGING_VERSION=${STAGING_VERSION:-v0.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}

cache=${FERRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry}
dir="$cache/cluster-bins/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

have_all() {
  for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

if have_all; then
  echo "$dir"
  exit 0
fi

mkdir -p "$dir"
log() { echo "cluster-bins: $*" >&2; }

# Kubernetes: k8s.io/kubernetes replaces its staging modules with local paths,
# which a module build cannot follow, so a throwaway module pins them to the
# published staging versions instead.
if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/kube-controller-manager" ] || \
   [ ! -x "$dir/kube-scheduler" ] || [ ! -x "$dir/kubectl" ]; then
  work="$dir/.k8s-build"
  rm -rf "$work" && mkdir -p "$work"
  log "building Kubernetes $K8S_VERSION control plane (first build takes about 15 minutes on 2 cores)"
  gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module ferry.local/clusterbins"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" |
      awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "$work" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$work" && go mod download k8s.io/kubernetes)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$dir/" \
     k8s.io/kubernetes/cmd/kube-apiserver \
     k8s.io/kubernetes/cmd/kube-controller-manager \
     k8s.io/kubernetes/cmd/kube-scheduler \
     k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$work"
fi

if [ ! -x "$dir/etcd" ]; then
  # etcd's server module replaces its sibling modules with local paths, so it
  # too is built from a throwaway module that pins them.
  log "building etcd $ETCD_VERSION"
  work="$dir/.etcd-build"
  rm -rf "$work" && mkdir -p "$work"
  cat > "$work/go.mod" <<MOD
module ferry.local/etcdbin

go 1.26

require (
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
MOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null && CGO_ENABLED=0 go build -trimpath -o "$dir/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work"
fi

if [ ! -x "$dir/kwok" ]; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  stage=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
  mkdir -p "$dir/kwok-stages"
  for f in node/fast/node-initialize node/heartbeat/node-heartbeat \
           pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "$stage/$f.yaml" "$dir/kwok-stages/"
  done
  chmod -R u+w "$dir/kwok-stages"
fi

have_all || { log "missing binaries in $dir"; exit 1; }
log "control plane binaries ready"
echo "$dir"
